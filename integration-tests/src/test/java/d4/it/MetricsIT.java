package d4.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** d4 mount --metrics-listen: a Prometheus scrape sees the I/O done on the mount; d4 status shows the same numbers. */
@Timeout(300)
class MetricsIT {
    private static final Pattern SAMPLE = Pattern.compile("^(\\w+)\\{([^}]*)} (\\S+)$", Pattern.MULTILINE);

    @TempDir
    Path base;

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Samples by "name{labels}". */
    private static Map<String, String> parse(String exposition) {
        Map<String, String> out = new HashMap<>();
        Matcher m = SAMPLE.matcher(exposition);
        while (m.find()) {
            out.put(m.group(1) + "{" + m.group(2) + "}", m.group(3));
        }
        return out;
    }

    @Test
    void aScrapeSeesTheIoDoneOnTheMount() throws Exception {
        int port = freePort();
        String url = "http://127.0.0.1:" + port + "/metrics";
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        try (Mount m = new Mount(base, "--metrics-listen", "127.0.0.1:" + port).mount()) {
            for (int i = 0; i < 20; i++) {
                Files.writeString(m.mountPoint.resolve("f" + i), "metrics " + i);
            }
            for (int i = 0; i < 20; i++) {
                assertEquals("metrics " + i, Files.readString(m.mountPoint.resolve("f" + i)));
            }
            assertTrue(Files.notExists(m.mountPoint.resolve("absent")));

            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"), r.headers().toString());
            String body = r.body();
            assertTrue(body.contains("# HELP d4_fuse_requests_total ") && body.contains("# TYPE d4_fuse_requests_total counter"), body);
            assertTrue(body.contains("# TYPE d4_fuse_request_duration_seconds summary"), body);
            Map<String, String> s = parse(body);
            assertTrue(Long.parseLong(s.get("d4_fuse_requests_total{pool=\"default\",op=\"write\"}")) >= 20, body);
            assertTrue(Long.parseLong(s.get("d4_fuse_requests_total{pool=\"default\",op=\"create\"}")) >= 20, body);
            assertTrue(Long.parseLong(s.get("d4_fuse_requests_total{pool=\"default\",op=\"read\"}")) >= 20, body);
            assertTrue(Long.parseLong(s.get("d4_fuse_errors_total{pool=\"default\",op=\"getattr\"}")) >= 1, "ENOENT of 'absent': " + body);
            double p50 = Double.parseDouble(s.get("d4_fuse_request_duration_seconds{pool=\"default\",op=\"write\",quantile=\"0.5\"}"));
            double p99 = Double.parseDouble(s.get("d4_fuse_request_duration_seconds{pool=\"default\",op=\"write\",quantile=\"0.99\"}"));
            double max = Double.parseDouble(s.get("d4_fuse_request_duration_max_seconds{pool=\"default\",op=\"write\"}"));
            assertTrue(0 < p50 && p50 <= p99 && p99 <= max && max < 60, p50 + " " + p99 + " " + max);
            assertEquals("1", s.get("d4_pool_healthy{pool=\"default\"}"), body);
            assertTrue(Long.parseLong(s.get("d4_pool_objects{pool=\"default\"}")) >= 21, body);
            assertTrue(body.contains("d4_info{pool=\"default\",pool_uuid=\""), body);

            // Queue depths of the volume's io_uring ring (none with the FileChannel drive).
            boolean uring = !"filechannel".equals(System.getenv("D4_IO_ENGINE"));
            String volume = "{pool=\"default\",volume=\"0\",path=\"" + m.dataDir.resolve("volumes/default.d4vol") + "\"}";
            if (uring) {
                // The pinned ring thread's ring, and the rings of threads that did their data I/O on their own.
                int rings = Integer.parseInt(s.get("d4_volume_io_rings" + volume));
                assertTrue(1 <= rings && rings <= 33, body);
                assertEquals("256", s.get("d4_volume_io_sq_entries" + volume), body);
                long inFlight = Long.parseLong(s.get("d4_volume_io_in_flight" + volume));
                long peak = Long.parseLong(s.get("d4_volume_io_in_flight_peak" + volume));
                assertTrue(0 <= inFlight && inFlight <= 256 && 1 <= peak && peak <= 256, "the writes went through the ring: " + body);
            } else {
                assertTrue(!body.contains("d4_volume_io_"), "no ring, no queue depths: " + body);
            }

            assertEquals(404, http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/other")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode());

            String json = m.statusJson();
            assertTrue(json.contains("\"metrics\":\"" + url + "\""), json);
            assertTrue(json.contains("\"fuse_ops\":{") && json.contains("\"write\":{\"count\":"), json);
            assertTrue(uring ? Pattern.compile("\"io\":\\{\"rings\":[1-9]\\d*,\"sq_entries\":256,\"in_flight\":\\d+,\"peak_in_flight\":[1-9]\\d*}")
                    .matcher(json).find() : json.contains("\"io\":null"), json);
            D4Cli.Result text = m.cli.run("status", m.mountPoint.toString());
            assertEquals(0, text.exitCode(), text.all());
            assertEquals(uring, Pattern.compile("\n     io_uring: (1 ring of 256 entries|[1-9]\\d* rings \\(the pinned one of 256 entries, \\d+ of threads"
                    + " doing their own I/O\\)), \\d+ in flight, peak [1-9]\\d* since the mount\n")
                    .matcher(text.stdout()).find(), text.stdout());
            assertTrue(text.stdout().contains("metrics:     " + url), text.stdout());
            assertTrue(text.stdout().matches("(?s).*fuse operations since the mount:\\n  operation +requests +errors +p50 +p99 +max\\n.*"
                    + "\\n  write +\\d+ +0 .*"), text.stdout());

            m.umount();
            assertThrows(IOException.class, () -> http.send(HttpRequest.newBuilder(URI.create(url)).build(),
                    HttpResponse.BodyHandlers.discarding()), "the endpoint goes away with the mount");
        }
    }
}
