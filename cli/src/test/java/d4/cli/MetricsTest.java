package d4.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.cli.config.Config;
import d4.cli.config.Host;
import d4.cli.config.Options;
import d4.cli.config.Type;
import d4.engine.PoolInfo;
import d4.engine.io.DriveStats;
import d4.fs.CacheStats;
import d4.fuse.OpStats;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class MetricsTest {
    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)\\{((?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\",?)*)} (-?[0-9.]+)");

    static MountStatus sample() {
        OpStats ops = new OpStats();
        ops.record(OpStats.Op.GETATTR, 12_000, false);
        ops.record(OpStats.Op.GETATTR, 3_000_000, true);
        ops.record(OpStats.Op.WRITE, 45_000, false);
        PoolInfo pool = new PoolInfo("tank", UUID.fromString("00000000-0000-0000-0000-000000000001"), 4096,
                List.of(new PoolInfo.VolumeInfo(0, Path.of("/dev/we\"ird\\path"), UUID.randomUUID(), 1L << 30, 1L << 29, 1L << 28)),
                1L << 29, 1L << 28, 42, "io_uring", 3, 1, 0, new PoolInfo.Metadata(3, 17, 5L << 20, 64L << 20, 1234));
        return new MountStatus(1234, Path.of("/srv/tank"), Path.of("/var/lib/d4"), Path.of("/var/lib/d4/log/tank.log"), pool,
                "ok", new CacheStats(10, 5, 7, 20, 2, 9), ops.snapshot(), "http://127.0.0.1:9464/metrics");
    }

    /** Checks the exposition format line by line and returns the sample lines. */
    static List<String> checkExposition(String text) {
        assertTrue(text.endsWith("\n"));
        Set<String> declared = new HashSet<>();
        Map<String, String> types = new java.util.HashMap<>();
        List<String> samples = new ArrayList<>();
        String lastHelp = null;
        for (String line : text.split("\n")) {
            if (line.startsWith("# HELP ")) {
                lastHelp = line.split(" ")[2];
            } else if (line.startsWith("# TYPE ")) {
                String[] f = line.split(" ");
                assertEquals(lastHelp, f[2], "TYPE follows the HELP of the same metric: " + line);
                assertTrue(Set.of("counter", "gauge", "summary").contains(f[3]), line);
                assertTrue(declared.add(f[2]), "declared once: " + f[2]);
                types.put(f[2], f[3]);
            } else {
                Matcher m = SAMPLE.matcher(line);
                assertTrue(m.matches(), "a valid sample line: " + line);
                String name = m.group(1);
                String family = name.replaceAll("_(sum|count)$", "");
                assertTrue(declared.contains(name) || "summary".equals(types.get(family)), "declared before use: " + line);
                assertTrue(m.group(2).startsWith("pool=\"tank\""), line);
                if (types.getOrDefault(family, "").equals("counter")) {
                    assertTrue(name.endsWith("_total"), "counters end in _total: " + name);
                }
                samples.add(line);
            }
        }
        return samples;
    }

    @Test
    void everyMetricHasHelpAndTypeBeforeItsSamplesAndEverySampleParses() {
        checkExposition(Metrics.exposition(withRings(), "0.1.0"));
        String text = Metrics.exposition(sample(), "0.1.0");
        List<String> samples = checkExposition(text);
        assertTrue(samples.contains("d4_fuse_requests_total{pool=\"tank\",op=\"getattr\"} 2"), text);
        assertTrue(samples.contains("d4_metadata_page_reads_total{pool=\"tank\"} 1234"), text);
        assertTrue(samples.contains("d4_metadata_tree_height{pool=\"tank\"} 3"), text);
        String status = sample().toText();
        assertTrue(status.contains("metadata:    B+tree of height 3, page cache 5.0 MiB of 64.0 MiB, 1234 pages read since the"
                + " mount, 17 changed since the checkpoint\n"), status);
        assertTrue(sample().toJson().contains("\"metadata\":{\"tree_height\":3,\"dirty_pages\":17,\"cached_bytes\":5242880,"
                + "\"cache_limit_bytes\":67108864,\"page_reads\":1234}"), sample().toJson());
        assertTrue(samples.contains("d4_fuse_errors_total{pool=\"tank\",op=\"getattr\"} 1"), text);
        assertTrue(samples.contains("d4_fuse_request_duration_max_seconds{pool=\"tank\",op=\"getattr\"} 0.003"), text);
        assertTrue(samples.contains("d4_fuse_request_duration_seconds_count{pool=\"tank\",op=\"write\"} 1"), text);
        assertTrue(samples.contains("d4_fuse_request_duration_seconds_sum{pool=\"tank\",op=\"getattr\"} 0.003012"), text);
        assertTrue(samples.stream().anyMatch(l -> l.startsWith("d4_fuse_request_duration_seconds{pool=\"tank\",op=\"write\",quantile=\"0.99\"} 0.0000")),
                text);
        assertTrue(samples.contains("d4_volume_size_bytes{pool=\"tank\",volume=\"0\",path=\"/dev/we\\\"ird\\\\path\"} 1073741824"),
                "label values escaped: " + text);
        assertTrue(samples.contains("d4_pool_checksum_failures_total{pool=\"tank\"} 3"), text);
        assertTrue(samples.contains("d4_cache_hits_total{pool=\"tank\",cache=\"dentry\"} 20"), text);
        assertTrue(samples.contains("d4_pool_healthy{pool=\"tank\"} 1"), text);
        assertTrue(text.contains("d4_info{pool=\"tank\",pool_uuid=\"00000000-0000-0000-0000-000000000001\",mountpoint=\"/srv/tank\","
                + "io_engine=\"io_uring\",version=\"0.1.0\"} 1"), text);
    }

    /** A two-volume pool: volume 0 on an io_uring drive with its queue depths, volume 1 with none reported. */
    static MountStatus withRings() {
        MountStatus s = sample();
        PoolInfo p = s.pool();
        PoolInfo pool = new PoolInfo(p.name(), p.uuid(), p.blockSizeBytes(), List.of(
                new PoolInfo.VolumeInfo(0, Path.of("/srv/d4/tank0.img"), UUID.randomUUID(), 1L << 30, 1L << 29, 1L << 28,
                        new DriveStats(1, 256, 3, 64)),
                new PoolInfo.VolumeInfo(1, Path.of("/srv/d4/tank1.img"), UUID.randomUUID(), 1L << 30, 1L << 29, 1L << 28)),
                p.capacityBytes(), p.freeBytes(), p.objectCount(), p.ioEngine(), p.checksumFailures(), p.copies(),
                p.repairedBlocks(), p.metadata());
        return new MountStatus(s.pid(), s.mountPoint(), s.dataDir(), s.logFile(), pool, s.health(), s.caches(), s.ops(),
                s.metricsUrl());
    }

    @Test
    void ringQueueDepthsPerVolumeInStatusAndMetrics() {
        MountStatus s = withRings();
        String text = s.toText();
        assertTrue(text.contains("  0  /srv/d4/tank0.img  1.0 GiB, free 256.0 MiB\n"
                + "     io_uring: 1 ring of 256 entries, 3 in flight, peak 64 since the mount\n"
                + "  1  /srv/d4/tank1.img  1.0 GiB, free 256.0 MiB\n"), text);
        assertEquals(1, text.split("io_uring: ", -1).length - 1, "only the volume that reports rings: " + text);
        String json = s.toJson();
        assertTrue(json.contains("\"free_bytes\":268435456,\"io\":{\"rings\":1,\"sq_entries\":256,\"in_flight\":3,"
                + "\"peak_in_flight\":64}}"), json);
        assertTrue(json.contains("\"path\":\"/srv/d4/tank1.img\"") && json.endsWith("}") && json.contains("\"io\":null}]"), json);
        String m = Metrics.exposition(s, "x");
        assertTrue(m.contains("# TYPE d4_volume_io_in_flight gauge\n"
                + "d4_volume_io_in_flight{pool=\"tank\",volume=\"0\",path=\"/srv/d4/tank0.img\"} 3\n#"), m);
        assertTrue(m.contains("d4_volume_io_in_flight_peak{pool=\"tank\",volume=\"0\",path=\"/srv/d4/tank0.img\"} 64\n"), m);
        assertTrue(m.contains("d4_volume_io_sq_entries{pool=\"tank\",volume=\"0\",path=\"/srv/d4/tank0.img\"} 256\n"), m);
        assertTrue(m.contains("d4_volume_io_rings{pool=\"tank\",volume=\"0\",path=\"/srv/d4/tank0.img\"} 1\n"), m);
        assertTrue(!m.contains("volume=\"1\",path=\"/srv/d4/tank1.img\"} 3"), m);
        assertEquals(4, m.lines().filter(l -> l.startsWith("d4_volume_io_")).count(), "one sample per gauge, volume 0 only: " + m);

        // Not reported (a pool that does not fill them in, or the FileChannel drive): nothing shown.
        MountStatus none = sample();
        assertTrue(!none.toText().contains("io_uring:"), none.toText());
        assertTrue(none.toJson().contains("\"io\":null"), none.toJson());
        assertTrue(!Metrics.exposition(none, "x").contains("d4_volume_io_"));
        PoolInfo.VolumeInfo channel = new PoolInfo.VolumeInfo(0, Path.of("/v"), UUID.randomUUID(), 1, 1, 1, DriveStats.NO_RINGS);
        assertTrue(channel.rings().isEmpty(), "a drive without rings shows no queue depths");
    }

    @Test
    void secondsAreExactWithoutExponent() {
        assertEquals("0.000012", Metrics.seconds(12_000));
        assertEquals("1.5", Metrics.seconds(1_500_000_000));
        assertEquals("0", Metrics.seconds(0));
        assertEquals("0.000000001", Metrics.seconds(1));
    }

    @Test
    void statusShowsTheOperations() {
        MountStatus s = sample();
        assertTrue(s.toJson().contains("\"fuse_ops\":{\"getattr\":{\"count\":2,\"errors\":1,"), s.toJson());
        assertTrue(s.toJson().contains("\"metrics\":\"http://127.0.0.1:9464/metrics\""), s.toJson());
        String text = s.toText();
        assertTrue(text.contains("fuse operations since the mount:"), text);
        assertTrue(text.matches("(?s).*\\n  getattr +2 +1 +12\\.\\dµs +3\\.00ms +3\\.00ms\\n.*"), text);
        assertEquals("850ns", MountStatus.duration(850));
        assertEquals("1.20s", MountStatus.duration(1_200_000_000));
    }

    @Test
    void listenAddresses() {
        Type.Listen t = new Type.Listen();
        assertEquals("", t.parse(""));
        assertEquals("127.0.0.1:9464", t.parse(" 127.0.0.1:9464 "));
        assertEquals("[::1]:80", t.parse("[::1]:80"));
        assertEquals("::1", Type.Listen.host("[::1]:80"));
        assertEquals(80, Type.Listen.port("[::1]:80"));
        for (String bad : List.of("9464", ":9464", "host:", "host:0", "host:65536", "::1:80", "a b:1", "host:x")) {
            assertThrows(Type.Rejected.class, () -> t.parse(bad), bad);
        }
    }

    @Test
    void theEndpointServesOnlyMetrics() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Config config = Config.load(new Config.Inputs(Optional.of(Path.of("/dev/null")),
                List.of(new Config.FlagValue(Options.METRICS_LISTEN, "--metrics-listen", "127.0.0.1:" + port)),
                new Host(false, 1000, "/home/u", Map.of(), Path.of("/nonexistent"))));
        try (MetricsServer server = MetricsServer.startIfConfigured(config, () -> Metrics.exposition(sample(), "x"))) {
            assertEquals("http://127.0.0.1:" + port + "/metrics", server.url());
            HttpClient client = HttpClient.newHttpClient();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(server.url())).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertEquals(Metrics.CONTENT_TYPE, r.headers().firstValue("Content-Type").orElse(""));
            assertTrue(r.body().contains("# TYPE d4_fuse_requests_total counter"), r.body());
            assertEquals(404, client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/x")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
            assertEquals(405, client.send(HttpRequest.newBuilder(URI.create(server.url()))
                    .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            CommandFailure busy = assertThrows(CommandFailure.class,
                    () -> MetricsServer.startIfConfigured(config, () -> ""));
            assertTrue(busy.getMessage().startsWith("cannot serve metrics on 127.0.0.1:" + port
                    + " as metrics.listen (from flag --metrics-listen) asks: "),
                    busy.getMessage());
        }
        Config off = Config.load(new Config.Inputs(Optional.of(Path.of("/dev/null")), List.of(),
                new Host(false, 1000, "/home/u", Map.of(), Path.of("/nonexistent"))));
        assertEquals(null, MetricsServer.startIfConfigured(off, () -> ""), "no endpoint unless asked");
    }
}
