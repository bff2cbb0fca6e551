package d4.cli;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "mount",
        mixinStandardHelpOptions = true,
        description = {
            "Mount a pool at MOUNTPOINT (an existing, empty directory).",
            "Without --pool, mounts the data dir's default pool, creating it on first use as one sparse",
            "file volume in DATA_DIR/volumes/. Starts a daemon and returns once the mount answers;",
            "its log goes to DATA_DIR/log/POOL.log. With --foreground it stays attached, logging to stderr,",
            "until unmounted (d4 umount MOUNTPOINT, or SIGTERM/Ctrl-C)."
        })
final class MountCommand implements Callable<Integer> {
    @Option(names = "--data-dir", paramLabel = "DIR", description = "Where the registry lives (see d4 --help).")
    Path dataDir;

    @Option(names = "--pool", paramLabel = "NAME", defaultValue = PoolLocator.DEFAULT_POOL,
            description = "Pool to mount (default: ${DEFAULT-VALUE}).")
    String pool;

    @Option(names = "-o", paramLabel = "OPT[,OPT...]", split = ",",
            description = "FUSE mount options to add, e.g. allow_other (needs user_allow_other in /etc/fuse.conf for non-root).")
    List<String> fuseOptions = new ArrayList<>();

    @Option(names = {"-f", "--foreground"}, description = "Stay in the foreground and log to stderr.")
    boolean foreground;

    @Option(names = "--io-engine", paramLabel = "ENGINE",
            description = "io_uring (default; falls back to filechannel where io_uring cannot be set up) or filechannel."
                    + " Also D4_IO_ENGINE.")
    String ioEngine;

    @Option(names = "--daemon-child", hidden = true)
    boolean daemonChild;

    @Option(names = "--start-timeout", paramLabel = "SECONDS", defaultValue = "120",
            description = "How long to wait for the mount to answer (default: ${DEFAULT-VALUE}).")
    int startTimeoutSeconds;

    @Parameters(paramLabel = "MOUNTPOINT")
    Path mountPoint;

    @Override
    public Integer call() throws Exception {
        Environment env = Environment.current();
        Path dir = env.dataDir(dataDir);
        Path mp = mountPoint.toAbsolutePath().normalize();
        String engine = engine(env);
        checkMountPoint(mp);
        if (foreground) {
            if (daemonChild) {
                Posix.setsid();
            }
            return new Daemon(env, dir, pool, mp, fuseOptions, daemonChild ? logFile(dir, pool) : null, engine).run();
        }
        return startDaemon(env, dir, mp, engine);
    }

    /** --io-engine, else D4_IO_ENGINE, else io_uring; an unknown name fails here, before anything starts. */
    String engine(Environment env) {
        String e = ioEngine != null ? ioEngine : env.env().getOrDefault("D4_IO_ENGINE", "io_uring");
        String origin = ioEngine != null ? "--io-engine" : env.env().containsKey("D4_IO_ENGINE") ? "D4_IO_ENGINE" : "default";
        if (!e.equals("io_uring") && !e.equals("filechannel")) {
            throw new CommandFailure("invalid io engine '" + e + "' (from " + origin + "): use io_uring or filechannel");
        }
        return e;
    }

    static final String DAEMON_HEAP = "1g";

    static void checkMountPoint(Path mp) {
        if (!Files.isDirectory(mp)) {
            throw new CommandFailure("mount point " + mp + " is not a directory: create it first (mkdir -p " + mp + ")");
        }
        if (MountTable.isD4(mp)) {
            throw new CommandFailure(mp + " is already a d4 mount: see d4 status " + mp);
        }
    }

    static Path logFile(Path dataDir, String pool) {
        return dataDir.resolve("log").resolve(pool + ".log");
    }

    /** Starts this same command as a detached daemon and waits until its mount answers. */
    private int startDaemon(Environment env, Path dir, Path mp, String engine) throws IOException, InterruptedException {
        Path log = logFile(dir, pool);
        Files.createDirectories(log.getParent());
        long logStart = Files.exists(log) ? Files.size(log) : 0;
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> jvmArgs = ManagementFactory.getRuntimeMXBean().getInputArguments();
        cmd.addAll(jvmArgs);
        if (jvmArgs.stream().noneMatch(a -> a.startsWith("-Xmx"))) {
            // A long-running daemon: bound its heap (the default, a quarter of RAM, lets garbage pile
            // up to gigabytes of resident memory). D4_JAVA_OPTS=-Xmx... overrides.
            cmd.add("-Xmx" + DAEMON_HEAP);
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.add("mount");
        cmd.add("--data-dir");
        cmd.add(dir.toString());
        cmd.add("--pool");
        cmd.add(pool);
        if (!fuseOptions.isEmpty()) {
            cmd.add("-o");
            cmd.add(String.join(",", fuseOptions));
        }
        cmd.add("--io-engine");
        cmd.add(engine);
        cmd.add("--foreground");
        cmd.add("--daemon-child");
        cmd.add(mp.toString());
        Process child = new ProcessBuilder(cmd)
                .redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true)
                .start();
        Path socket = ControlSocket.pathFor(env.runtimeDir(), mp);
        long deadline = System.nanoTime() + startTimeoutSeconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!child.isAlive()) {
                System.err.print(tail(log, logStart));
                throw new CommandFailure("mounting " + mp + " failed (daemon exited with status " + child.exitValue()
                        + "; the reason is above, full log: " + log + ")");
            }
            if (MountTable.isD4(mp) && ControlSocket.request(socket, "ping") != null) {
                System.err.println("d4: pool " + pool + " mounted at " + mp + " (daemon pid " + child.pid() + ", log " + log + ")");
                return 0;
            }
            Thread.sleep(50);
        }
        child.destroy();
        System.err.print(tail(log, logStart));
        throw new CommandFailure("the mount at " + mp + " did not answer within " + startTimeoutSeconds
                + " s; the daemon was stopped (log: " + log + ")");
    }

    private static String tail(Path log, long from) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long len = f.length();
            long start = Math.max(from, len - 16_384);
            byte[] b = new byte[(int) (len - start)];
            f.seek(start);
            f.readFully(b);
            return new String(b, StandardCharsets.UTF_8);
        }
    }
}
