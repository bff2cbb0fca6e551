package d4.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A d4 mount made by the real CLI for one test. {@link #close()} always leaves nothing behind: it
 * unmounts (cleanly if it can, lazily otherwise) and kills every daemon this mount started, also
 * when the test failed half way, so that no mount or process outlives the test.
 */
final class Mount implements AutoCloseable {
    private static final Pattern DAEMON_PID = Pattern.compile("daemon pid (\\d+)");
    private static final Pattern JSON_PID = Pattern.compile("\"pid\":(\\d+)");

    final D4Cli cli;
    final Path dataDir;
    final Path mountPoint;
    private final List<String> extraMountArgs;
    private final List<Long> daemons = new ArrayList<>();

    Mount(Path base, String... extraMountArgs) throws IOException {
        this.cli = new D4Cli(Files.createDirectories(base.resolve("run")));
        this.dataDir = base.resolve("data");
        this.mountPoint = Files.createDirectories(base.resolve("mnt"));
        this.extraMountArgs = List.of(extraMountArgs);
    }

    /** Mounts (creating the default pool on first use) and returns once the mount answers. */
    Mount mount() throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("mount", "--data-dir", dataDir.toString()));
        args.addAll(extraMountArgs);
        args.add(mountPoint.toString());
        D4Cli.Result r = cli.run(args.toArray(String[]::new));
        Matcher m = DAEMON_PID.matcher(r.all());
        if (m.find()) {
            daemons.add(Long.parseLong(m.group(1)));
        }
        assertEquals(0, r.exitCode(), "d4 mount failed: " + r.all() + log());
        return this;
    }

    void umount() throws IOException, InterruptedException {
        D4Cli.Result r = cli.run("umount", mountPoint.toString());
        assertEquals(0, r.exitCode(), "d4 umount failed: " + r.all() + log());
    }

    long daemonPid() {
        return daemons.getLast();
    }

    String statusJson() throws IOException, InterruptedException {
        D4Cli.Result r = cli.run("status", "--json", mountPoint.toString());
        assertEquals(0, r.exitCode(), "d4 status failed: " + r.all());
        Matcher m = JSON_PID.matcher(r.stdout());
        if (m.find() && !daemons.contains(Long.parseLong(m.group(1)))) {
            daemons.add(Long.parseLong(m.group(1)));
        }
        return r.stdout();
    }

    /** kill -9 of the daemon: the mount stays behind, dead ("Transport endpoint is not connected"). */
    void killDaemon() throws InterruptedException {
        ProcessHandle h = ProcessHandle.of(daemonPid()).orElseThrow(() -> new AssertionError("daemon is not running"));
        h.destroyForcibly();
        h.onExit().orTimeout(30, TimeUnit.SECONDS).join();
    }

    boolean isMounted() throws IOException {
        String target = mountPoint.toAbsolutePath().normalize().toString();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4 && f[4].equals(target)) {
                return true;
            }
        }
        return false;
    }

    String log() {
        Path log = dataDir.resolve("log").resolve("default.log");
        try {
            return Files.exists(log) ? "\n--- daemon log ---\n" + Files.readString(log) : "";
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() throws IOException {
        try {
            closeOrThrow();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while cleaning up " + mountPoint, e);
        }
    }

    private void closeOrThrow() throws IOException, InterruptedException {
        try {
            if (isMounted()) {
                D4Cli.Result r = cli.run(60, "umount", mountPoint.toString());
                if (r.exitCode() != 0 && isMounted()) {
                    new ProcessBuilder("fusermount", "-u", "-z", mountPoint.toString()).inheritIO().start()
                            .waitFor(30, TimeUnit.SECONDS);
                }
            }
        } finally {
            for (long pid : daemons) {
                Optional<ProcessHandle> h = ProcessHandle.of(pid);
                if (h.isPresent() && h.get().isAlive()) {
                    h.get().destroyForcibly();
                    h.get().onExit().orTimeout(30, TimeUnit.SECONDS).exceptionally(t -> null).join();
                }
            }
        }
    }
}
