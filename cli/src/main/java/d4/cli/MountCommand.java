package d4.cli;

import d4.cli.config.Config;
import d4.cli.config.Options;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "mount",
        mixinStandardHelpOptions = true,
        description = {
            "Mount a pool at MOUNTPOINT (an existing, empty directory).",
            "Without --pool, mounts the data dir's default pool, creating it on first use as one sparse",
            "file volume in DATA_DIR/volumes/. Starts a daemon and returns once the mount answers;",
            "its log goes to DATA_DIR/log/POOL.log. With --foreground it stays attached, logging to stderr,",
            "until unmounted (d4 umount MOUNTPOINT, or SIGTERM/Ctrl-C). With --user the daemon switches to",
            "that user once the mount is made. Every option can also be set in the configuration file or",
            "the environment: see d4 config show."
        })
final class MountCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--pool", paramLabel = "NAME", defaultValue = PoolLocator.DEFAULT_POOL,
            description = "Pool to mount (default: ${DEFAULT-VALUE}).")
    String pool;

    /** Set on the daemon that a daemonizing d4 mount starts: new session, output to the log file. */
    @Option(names = "--daemon-child", hidden = true)
    boolean daemonChild;

    @Parameters(paramLabel = "MOUNTPOINT")
    Path mountPoint;

    @Override
    public Integer call() throws Exception {
        Config config = ConfigFlags.load(spec);
        Path mp = mountPoint.toAbsolutePath().normalize();
        Optional<PrivilegeDrop.Identity> dropTo = identity(config);
        checkMountPoint(mp);
        if (config.bool(Options.FOREGROUND)) {
            if (daemonChild) {
                Posix.setsid();
            }
            return new Daemon(config, pool, mp, daemonChild ? logFile(config, pool) : null, dropTo).run();
        }
        // Fail here, not in the daemon's log, when the pool cannot be found or assembled.
        PoolLocator.checkFindable(config.path(Options.DATA_DIR), pool);
        return startDaemon(config, mp, dropTo.isPresent());
    }

    /**
     * Whom the daemon becomes once mounted (mount.user, mount.group), resolved now so that an unknown
     * user or group fails before anything is mounted.
     */
    static Optional<PrivilegeDrop.Identity> identity(Config config) {
        Config.Setting user = config.setting(Options.USER);
        Config.Setting group = config.setting(Options.GROUP);
        String userFrom = "mount.user (" + user.origin().from() + ")";
        String groupFrom = "mount.group (" + group.origin().from() + ")";
        if (config.string(Options.USER).isEmpty()) {
            if (!config.string(Options.GROUP).isEmpty()) {
                throw new CommandFailure(groupFrom + " is set but mount.user is not: set the user too (--user USER),"
                        + " or remove the group");
            }
            return Optional.empty();
        }
        int uid = Posix.getuid();
        if (uid != 0) {
            throw new CommandFailure(userFrom + " asks the daemon to switch to user " + config.string(Options.USER)
                    + ", but d4 mount runs as uid " + uid + ": only root can; run d4 mount as root, or remove mount.user");
        }
        return Optional.of(PrivilegeDrop.resolve(config.string(Options.USER), config.string(Options.GROUP), userFrom,
                groupFrom));
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

    /** log.file, else DATA_DIR/log/POOL.log. */
    static Path logFile(Config config, String pool) {
        return config.optionalPath(Options.LOG_FILE)
                .orElse(config.path(Options.DATA_DIR).resolve("log").resolve(pool + ".log"));
    }

    /** Starts this same command as a detached daemon and waits until its mount answers. */
    private int startDaemon(Config config, Path mp, boolean dropsPrivileges) throws IOException, InterruptedException {
        Path log = logFile(config, pool);
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
        if (dropsPrivileges) {
            // The JVM's performance data file (/tmp/hsperfdata_root/PID, for jps and jstat) could not
            // be removed at exit once the daemon runs as another user.
            cmd.add("-XX:-UsePerfData");
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.add("mount");
        // The daemon gets this exact configuration: no file, every option as a flag (flags win over
        // the environment), so what it runs with cannot differ from what was checked here.
        cmd.add(ConfigFlags.CONFIG);
        cmd.add("/dev/null");
        cmd.addAll(config.asSetArguments());
        cmd.add(ConfigFlags.SET);
        cmd.add(Options.FOREGROUND.name() + "=true");
        cmd.add("--pool");
        cmd.add(pool);
        cmd.add("--daemon-child");
        cmd.add(mp.toString());
        Process child = new ProcessBuilder(cmd)
                .redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true)
                .start();
        Path socket = ControlSocket.pathFor(config.path(Options.RUNTIME_DIR), mp);
        long timeoutSeconds = config.number(Options.START_TIMEOUT);
        long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!child.isAlive()) {
                if (MountTable.isD4(mp)) {
                    // It died after mounting (e.g. its privilege drop failed): remove the dead mount.
                    try {
                        UmountCommand.unmount(mp);
                    } catch (CommandFailure e) {
                        System.err.println("d4: " + e.getMessage());
                    }
                }
                System.err.print(tail(log, logStart));
                throw new CommandFailure("mounting " + mp + " failed (daemon exited with status " + child.exitValue()
                        + "; the reason is above, full log: " + log + ")");
            }
            // "pong" once the daemon serves, after its privilege drop if it has one ("starting" before)
            if (MountTable.isD4(mp) && "pong".equals(ControlSocket.request(socket, "ping"))) {
                System.err.println("d4: pool " + pool + " mounted at " + mp + " (daemon pid " + child.pid() + ", log " + log + ")");
                return 0;
            }
            Thread.sleep(50);
        }
        child.destroy();
        System.err.print(tail(log, logStart));
        throw new CommandFailure("the mount at " + mp + " did not answer within " + timeoutSeconds
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
