package d4.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real d4 command line in a child JVM (the same classes the tests were built with), so
 * the tests go through exactly what an admin runs: daemonizing, the control socket, umount.
 */
final class D4Cli {
    /** The result of one command. */
    record Result(int exitCode, String stdout, String stderr) {
        String all() {
            return stdout + stderr;
        }
    }

    private final Path runtimeDir;

    /** @param runtimeDir where daemons put their control sockets (a temp dir: tests do not share it) */
    D4Cli(Path runtimeDir) {
        this.runtimeDir = runtimeDir;
    }

    Path runtimeDir() {
        return runtimeDir;
    }

    static List<String> javaCommand() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String flags = System.getProperty("d4.jvmFlags", "--enable-native-access=ALL-UNNAMED");
        cmd.addAll(Arrays.asList(flags.trim().split("\\s+")));
        cmd.add("-Xmx512m");
        cmd.add("-cp");
        // Failsafe may start us from a manifest-only jar; it also passes the real class path here.
        cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        cmd.add("d4.cli.Main");
        return cmd;
    }

    Result run(String... args) throws IOException, InterruptedException {
        return run(120, args);
    }

    Result run(int timeoutSeconds, String... args) throws IOException, InterruptedException {
        List<String> cmd = javaCommand();
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.put("D4_RUNTIME_DIR", runtimeDir.toString());
        env.remove("D4_DATA_DIR");
        Path out = java.nio.file.Files.createTempFile("d4-cli-out", ".txt");
        Path err = java.nio.file.Files.createTempFile("d4-cli-err", ".txt");
        try {
            // Files, not pipes: a daemon started by "mount" inherits nothing of ours, but a pipe
            // reader could still block on a grandchild; files never do.
            Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("d4 " + String.join(" ", args) + " did not finish within " + timeoutSeconds
                        + " s; stderr so far: " + java.nio.file.Files.readString(err));
            }
            return new Result(p.exitValue(), java.nio.file.Files.readString(out, StandardCharsets.UTF_8),
                    java.nio.file.Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            java.nio.file.Files.deleteIfExists(out);
            java.nio.file.Files.deleteIfExists(err);
        }
    }
}
