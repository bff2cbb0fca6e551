package d4.cli;

import d4.cli.config.ByteSize;
import d4.cli.config.Config;
import d4.cli.config.Options;
import d4.engine.Pool;
import d4.engine.PoolOptions;
import d4.fs.FileSystem;
import d4.engine.io.DriveFactory;
import d4.fuse.FuseAdapter;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A mounted pool being served: the pool, the namespace, the FUSE adapter and the control socket.
 * Runs in the foreground until the mount goes away (d4 umount, fusermount -u, SIGTERM).
 */
final class Daemon {
    private static final System.Logger LOG = System.getLogger("d4.daemon");

    private final Config config;
    private final Path dataDir;
    private final String poolName;
    private final Path mountPoint;
    private final Path logFile;
    private final Optional<PrivilegeDrop.Identity> dropTo;
    private final CountDownLatch stopped = new CountDownLatch(1);
    /** Set once the mount serves as it should (after the privilege drop, if any): ping answers "pong" from then on. */
    private volatile boolean ready;
    private volatile ScrubJob scrub;
    /** Where the metrics endpoint serves, or "" (none, or not started yet). */
    private volatile String metricsUrl = "";

    /**
     * @param logFile where the daemon's output goes (for status), or null in the foreground
     * @param dropTo whom to become once the mount is made
     */
    Daemon(Config config, String poolName, Path mountPoint, Path logFile, Optional<PrivilegeDrop.Identity> dropTo) {
        this.config = config;
        this.dataDir = config.path(Options.DATA_DIR);
        this.poolName = poolName;
        this.mountPoint = mountPoint;
        this.logFile = logFile;
        this.dropTo = dropTo;
    }

    int run() throws IOException {
        // Load now what is otherwise first needed late (status, shutdown): a d4 upgrade that replaces
        // the jar under a running daemon must not break its status and unmount paths.
        for (Class<?> c : new Class<?>[] {MountStatus.class, CommandFailure.class, ByteSize.class, PrivilegeDrop.class,
                Metrics.class}) {
            try {
                Class.forName(c.getName(), true, c.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
        }
        PoolOptions poolOptions = new PoolOptions(DriveFactory.forEngine(config.string(Options.IO_ENGINE)),
                config.number(Options.COMMIT_INTERVAL) * 1000).withMetadataCacheBytes(config.number(Options.METADATA_CACHE));
        Pool pool = PoolLocator.open(dataDir, poolName, config.number(Options.DEFAULT_VOLUME_SIZE), poolOptions);
        try {
            FileSystem fs = new FileSystem(pool);
            FuseAdapter adapter = new FuseAdapter(fs);
            scrub = new ScrubJob(fs);
            Path socket = ControlSocket.pathFor(config.path(Options.RUNTIME_DIR), mountPoint);
            try (ControlSocket _ = ControlSocket.listen(socket, request -> answer(request, pool, fs, adapter));
                    MetricsServer metrics = MetricsServer.startIfConfigured(config,
                            () -> Metrics.exposition(status(pool, fs, adapter), Installation.versionNumber()))) {
                metricsUrl = metrics == null ? "" : metrics.url();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> onSignal(pool), "d4-shutdown"));
                List<String> options = new ArrayList<>(FuseAdapter.defaultOptions(poolName));
                options.addAll(config.list(Options.FUSE_OPTIONS));
                LOG.log(Level.INFO, "serving pool {0} ({1}) at {2}, pid {3}, io engine {4}", poolName, pool.uuid(),
                        mountPoint, String.valueOf(ProcessHandle.current().pid()), pool.info().ioEngine());
                // Returns once unmounted; onMounted runs when the kernel has the mount, before any request.
                adapter.serve(mountPoint, options, (int) config.number(Options.FUSE_THREADS), this::onMounted);
                LOG.log(Level.INFO, "{0} was unmounted; closing pool {1}", mountPoint, poolName);
            }
            try {
                scrub.stop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            pool.close(); // checkpoint: the next mount replays nothing
            LOG.log(Level.INFO, "pool {0} closed cleanly", poolName);
            return 0;
        } finally {
            try {
                pool.close();
            } finally {
                stopped.countDown();
            }
        }
    }

    /**
     * Runs once the kernel has the mount, before the first request is served (d4.fuse's onMounted
     * hook, on the thread that made the mount): /dev/fuse is open and the mount made (fuse_setup, as
     * root), and so are the volumes, the log and the control socket. With mount.user this is where
     * the daemon drops its privileges; until then the control socket answers ping with "starting",
     * so d4 mount does not report success before it. If the drop fails the daemon must not go on
     * serving as root: it removes its mount while it still can and stops at once (the pool is
     * recovered by the next mount, as after a crash; no request has been served).
     */
    private void onMounted() {
        dropTo.ifPresent(this::drop);
        ready = true;
    }

    private void drop(PrivilegeDrop.Identity id) {
        try {
            PrivilegeDrop.apply(id);
            PrivilegeDrop.Threads threads = PrivilegeDrop.check(id);
            if (!threads.wrong().isEmpty()) {
                throw new IllegalStateException("threads kept other credentials: " + String.join("; ", threads.wrong()));
            }
            LOG.log(Level.INFO, "now running as {0}: supplementary groups, gid and uid set on all threads",
                    id.describe());
            if (!threads.ioWorkers().isEmpty()) {
                LOG.log(Level.INFO, "{0} io_uring kernel worker(s) created before the switch keep their credentials"
                        + " but run only this process''s I/O requests, with the credentials of their submitter (now {1}): {2}",
                        threads.ioWorkers().size(), id.describe(), String.join("; ", threads.ioWorkers()));
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.ERROR, "could not switch to " + id.describe() + ": " + e.getMessage()
                    + "; unmounting and stopping rather than serving as root", e);
            if (Posix.getuid() == 0) {
                lazyUnmount();
            }
            Runtime.getRuntime().halt(1);
        }
    }

    /** fusermount -u -z: true when it succeeded. */
    private boolean lazyUnmount() {
        try {
            Process p = new ProcessBuilder("fusermount", "-u", "-z", mountPoint.toString()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            LOG.log(Level.ERROR, "could not unmount " + mountPoint + ": " + e.getMessage());
            return false;
        }
    }

    /** SIGTERM/SIGINT: unmount (lazily, so a busy mount cannot block shutdown) and wait for the clean close. */
    private void onSignal(Pool pool) {
        if (stopped.getCount() == 0) {
            return;
        }
        LOG.log(Level.INFO, "signal received: unmounting {0}", mountPoint);
        try {
            if (!lazyUnmount()) {
                // After a privilege drop the mount (made by root) cannot be unmounted by this process.
                LOG.log(Level.WARNING, "could not unmount " + mountPoint + " (this daemon runs as uid " + Posix.getuid()
                        + "); closing the pool now. The mount stays behind, dead, until d4 umount " + mountPoint
                        + " (as root) removes it: stop a d4 daemon with d4 umount rather than a signal");
                pool.close();
                return;
            }
            if (!stopped.await(30, TimeUnit.SECONDS)) {
                LOG.log(Level.WARNING, "the mount did not stop within 30 s; closing the pool anyway");
                pool.close();
            }
        } catch (InterruptedException | RuntimeException e) {
            LOG.log(Level.ERROR, "clean shutdown failed: " + e.getMessage(), e);
            try {
                pool.close();
            } catch (RuntimeException again) {
                LOG.log(Level.ERROR, "closing the pool failed: " + again.getMessage(), again);
            }
        }
    }

    private String answer(String request, Pool pool, FileSystem fs, FuseAdapter adapter) {
        return switch (request) {
            case "ping" -> ready ? "pong" : "starting";
            case "sync" -> {
                fs.fsync();
                yield "ok";
            }
            case "status json" -> status(pool, fs, adapter).toJson();
            case "status text" -> status(pool, fs, adapter).toText();
            case "scrub status" -> scrub.status();
            default -> request.startsWith("scrub start ") ? scrub.start(Long.parseLong(request.substring(12).trim()))
                    : "error unknown request '" + request + "'";
        };
    }

    private MountStatus status(Pool pool, FileSystem fs, FuseAdapter adapter) {
        String health = pool.failure().map(f -> "read-only after error: " + f.getMessage()).orElse("ok");
        return new MountStatus(ProcessHandle.current().pid(), mountPoint, dataDir, logFile, pool.info(), health,
                fs.cacheStats(), adapter.stats().snapshot(), metricsUrl);
    }
}
