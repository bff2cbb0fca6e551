package d4.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import d4.cli.config.Config;
import d4.cli.config.Options;
import d4.cli.config.Type;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The optional Prometheus endpoint (option metrics.listen): GET /metrics answers the exposition of
 * {@link Metrics}, computed on each request; nothing else is served, and nothing is ever sent
 * unasked. One thread ("d4-metrics") answers requests one at a time.
 */
final class MetricsServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("d4.daemon");

    private final HttpServer server;
    private final ExecutorService executor;
    private final String url;

    private MetricsServer(HttpServer server, ExecutorService executor, String url) {
        this.server = server;
        this.executor = executor;
        this.url = url;
    }

    /** Starts the endpoint metrics.listen asks for, or returns null when it is empty (no endpoint). */
    static MetricsServer startIfConfigured(Config config, Supplier<String> exposition) {
        String listen = config.string(Options.METRICS_LISTEN);
        if (listen.isEmpty()) {
            return null;
        }
        String from = "metrics.listen (" + config.setting(Options.METRICS_LISTEN).origin().from() + ")";
        InetSocketAddress address;
        try {
            address = new InetSocketAddress(InetAddress.getByName(Type.Listen.host(listen)), Type.Listen.port(listen));
        } catch (IOException e) {
            throw new CommandFailure("cannot resolve the host of " + listen + ", given by " + from + ": " + e.getMessage());
        }
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("d4-metrics").daemon(true)
                .unstarted(r));
        HttpServer server;
        try {
            server = HttpServer.create(address, 16);
        } catch (IOException e) {
            executor.shutdownNow();
            throw new CommandFailure("cannot serve metrics on " + listen + " as " + from + " asks: " + e.getMessage()
                    + ": choose a free port, or leave metrics.listen empty");
        }
        server.createContext("/", exchange -> handle(exchange, exposition));
        server.setExecutor(executor);
        server.start();
        String url = "http://" + listen + "/metrics";
        LOG.log(System.Logger.Level.INFO, "serving metrics for Prometheus at {0}", url);
        return new MetricsServer(server, executor, url);
    }

    String url() {
        return url;
    }

    private static void handle(HttpExchange exchange, Supplier<String> exposition) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getPath();
            if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                send(exchange, 405, "text/plain; charset=utf-8", "only GET and HEAD\n");
                return;
            }
            if (path.equals("/metrics")) {
                String body;
                try {
                    body = exposition.get();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "metrics request failed: " + e, e);
                    send(exchange, 500, "text/plain; charset=utf-8", "d4: cannot collect the metrics: " + e.getMessage() + "\n");
                    return;
                }
                send(exchange, 200, Metrics.CONTENT_TYPE, body);
            } else if (path.equals("/")) {
                send(exchange, 200, "text/plain; charset=utf-8", "d4 metrics for Prometheus: /metrics\n");
            } else {
                send(exchange, 404, "text/plain; charset=utf-8", "not found: the metrics are at /metrics\n");
            }
        }
    }

    private static void send(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
