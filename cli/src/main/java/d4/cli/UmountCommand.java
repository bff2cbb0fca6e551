package d4.cli;

import d4.cli.config.Config;
import d4.cli.config.Options;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "umount",
        aliases = "unmount",
        mixinStandardHelpOptions = true,
        description = {
            "Make everything durable, unmount MOUNTPOINT and wait for its daemon to exit.",
            "Fails (and changes nothing) while files are open there: see fuser -vm MOUNTPOINT."
        })
final class UmountCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "MOUNTPOINT")
    Path mountPoint;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120",
            description = "How long to wait for the daemon to exit (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    private static final Pattern PID = Pattern.compile("\"pid\":(\\d+)");

    @Override
    public Integer call() throws Exception {
        Path mp = mountPoint.toAbsolutePath().normalize();
        Config config = ConfigFlags.load(spec);
        Path socket = ControlSocket.pathFor(config.path(Options.RUNTIME_DIR), mp);
        String status = ControlSocket.request(socket, "status json");
        if (status == null) {
            if (MountTable.isD4(mp)) {
                unmount(mp);
                Files.deleteIfExists(socket); // left by a daemon that was killed or had dropped privileges
                // A daemon alive under another runtime dir closes its pool cleanly when its mount goes;
                // a killed one lost what it had not made durable.
                System.err.println("d4: no daemon answered at " + socket + "; unmounted " + mp + ". If its daemon runs"
                        + " with another runtime dir (--runtime-dir, D4_RUNTIME_DIR), it closes the pool cleanly now; if"
                        + " it was killed, changes not fsynced before it stopped are lost: mount again to recover the rest.");
                return 0;
            }
            throw new CommandFailure(mp + " is not a d4 mount (no daemon answered at " + socket + ")");
        }
        Matcher m = PID.matcher(status);
        Optional<ProcessHandle> daemon = m.find() ? ProcessHandle.of(Long.parseLong(m.group(1))) : Optional.empty();
        String synced = ControlSocket.request(socket, "sync");
        if (synced == null || !synced.startsWith("ok")) {
            throw new CommandFailure("the daemon could not make " + mp + " durable (" + synced + "): see its log ("
                    + "d4 status " + mp + "); nothing was unmounted");
        }
        unmount(mp);
        if (daemon.isPresent()) {
            boolean exited = daemon.get().onExit().completeOnTimeout(null, timeoutSeconds, TimeUnit.SECONDS).get() != null
                    || !daemon.get().isAlive();
            if (!exited) {
                throw new CommandFailure("unmounted " + mp + ", but daemon " + daemon.get().pid() + " is still running after "
                        + timeoutSeconds + " s: see its log");
            }
        }
        // A daemon that dropped privileges could not remove its socket from root's runtime dir.
        if (ControlSocket.request(socket, "ping") == null) {
            Files.deleteIfExists(socket);
        }
        System.err.println("d4: unmounted " + mp);
        return 0;
    }

    /** fusermount -u (not lazy: a busy mount stays mounted and we say why). */
    static void unmount(Path mp) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        String tool = findTool();
        cmd.add(tool);
        if (!tool.endsWith("umount")) {
            cmd.add("-u");
        }
        cmd.add(mp.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new CommandFailure(String.join(" ", cmd) + " did not finish within 60 s");
        }
        if (p.exitValue() != 0) {
            String hint = out.contains("busy")
                    ? ": files or working directories are open there; close them (see fuser -vm " + mp + ") and try again"
                    : "";
            throw new CommandFailure("cannot unmount " + mp + " (" + out + ")" + hint);
        }
    }

    private static String findTool() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            for (String name : new String[] {"fusermount", "fusermount3"}) {
                if (Files.isExecutable(Path.of(dir, name))) {
                    return Path.of(dir, name).toString();
                }
            }
        }
        return "umount";
    }
}
