package d4.cli;

import d4.engine.Pool;
import d4.engine.PoolOptions;
import d4.fs.FileSystem;
import d4.fuse.FuseAdapter;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A mounted pool being served: the pool, the namespace, the FUSE adapter and the control socket.
 * Runs in the foreground until the mount goes away (d4 umount, fusermount -u, SIGTERM).
 */
final class Daemon {
    private static final System.Logger LOG = System.getLogger("d4.daemon");

    private final Environment env;
    private final Path dataDir;
    private final String poolName;
    private final Path mountPoint;
    private final List<String> extraOptions;
    private final Path logFile;
    private final String ioEngine;
    private final CountDownLatch stopped = new CountDownLatch(1);

    Daemon(Environment env, Path dataDir, String poolName, Path mountPoint, List<String> extraOptions, Path logFile,
            String ioEngine) {
        this.ioEngine = ioEngine;
        this.env = env;
        this.dataDir = dataDir;
        this.poolName = poolName;
        this.mountPoint = mountPoint;
        this.extraOptions = extraOptions;
        this.logFile = logFile;
    }

    int run() throws IOException {
        // Load now what is otherwise first needed late (status, shutdown): a d4 upgrade that replaces
        // the jar under a running daemon must not break its status and unmount paths.
        for (Class<?> c : new Class<?>[] {MountStatus.class, CommandFailure.class, ByteSize.class}) {
            try {
                Class.forName(c.getName(), true, c.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
        }
        Pool pool = PoolLocator.open(dataDir, poolName,
                PoolOptions.defaults().withDriveFactory(d4.engine.io.DriveFactory.forEngine(ioEngine)));
        try {
            FileSystem fs = new FileSystem(pool);
            FuseAdapter adapter = new FuseAdapter(fs);
            Path socket = ControlSocket.pathFor(env.runtimeDir(), mountPoint);
            try (ControlSocket _ = ControlSocket.listen(socket, request -> answer(request, pool, fs))) {
                Runtime.getRuntime().addShutdownHook(new Thread(() -> onSignal(pool), "d4-shutdown"));
                List<String> options = new ArrayList<>(FuseAdapter.defaultOptions(poolName));
                options.addAll(extraOptions);
                LOG.log(Level.INFO, "serving pool {0} ({1}) at {2}, pid {3}, io engine {4}", poolName, pool.uuid(),
                        mountPoint, String.valueOf(ProcessHandle.current().pid()), pool.info().ioEngine());
                adapter.serve(mountPoint, options, FuseAdapter.DEFAULT_THREADS); // returns once unmounted
                LOG.log(Level.INFO, "{0} was unmounted; closing pool {1}", mountPoint, poolName);
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

    /** SIGTERM/SIGINT: unmount (lazily, so a busy mount cannot block shutdown) and wait for the clean close. */
    private void onSignal(Pool pool) {
        if (stopped.getCount() == 0) {
            return;
        }
        LOG.log(Level.INFO, "signal received: unmounting {0}", mountPoint);
        try {
            new ProcessBuilder("fusermount", "-u", "-z", mountPoint.toString()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(10, TimeUnit.SECONDS);
            if (!stopped.await(30, TimeUnit.SECONDS)) {
                LOG.log(Level.WARNING, "the mount did not stop within 30 s; closing the pool anyway");
                pool.close();
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            LOG.log(Level.ERROR, "clean shutdown failed: " + e.getMessage(), e);
            try {
                pool.close();
            } catch (RuntimeException again) {
                LOG.log(Level.ERROR, "closing the pool failed: " + again.getMessage(), again);
            }
        }
    }

    private String answer(String request, Pool pool, FileSystem fs) {
        return switch (request) {
            case "ping" -> "pong";
            case "sync" -> {
                fs.fsync();
                yield "ok";
            }
            case "status json" -> status(pool).toJson();
            case "status text" -> status(pool).toText();
            default -> "error unknown request '" + request + "'";
        };
    }

    private MountStatus status(Pool pool) {
        String health = pool.failure().map(f -> "read-only after error: " + f.getMessage()).orElse("ok");
        return new MountStatus(ProcessHandle.current().pid(), mountPoint, dataDir, logFile, pool.info(), health);
    }
}
