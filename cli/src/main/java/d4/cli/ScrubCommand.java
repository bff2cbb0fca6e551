package d4.cli;

import d4.cli.config.ByteSize;
import d4.cli.config.Options;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "scrub",
        mixinStandardHelpOptions = true,
        description = {
            "Verify, while mounted, every data block of every file under MOUNTPOINT against its checksum,",
            "then the pool's published metadata. Applications keep running: the scrub reads in 1 MiB",
            "steps and can be slowed down with --rate.",
            "",
            "Prints each damaged file with the damaged byte range. Reads of a damaged range fail with EIO;",
            "restore those files from a backup (or rewrite the range). Exit status: 0 clean, 1 damage",
            "found, 2 usage error, and 1 with a message when the scrub could not run."
        })
final class ScrubCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--rate", paramLabel = "BYTES", defaultValue = "0",
            description = "Read at most this many bytes per second, e.g. 200M (default 0: as fast as the drives go).")
    String rate;

    @Parameters(paramLabel = "MOUNTPOINT")
    Path mountPoint;

    @Override
    public Integer call() throws InterruptedException {
        long bytesPerSecond = rate.equals("0") ? 0 : ByteSize.parse(rate);
        Path mp = mountPoint.toAbsolutePath().normalize();
        Path socket = ControlSocket.pathFor(ConfigFlags.load(spec).path(Options.RUNTIME_DIR), mp);
        String started = ControlSocket.request(socket, "scrub start " + bytesPerSecond);
        if (started == null) {
            throw new CommandFailure("no d4 daemon serves " + mp + " (not mounted, or mounted with another runtime dir)");
        }
        if (started.startsWith("busy")) {
            throw new CommandFailure("a scrub of " + mp + " is already running; wait for it (d4 scrub prints its result)");
        }
        if (!started.startsWith("started")) {
            throw new CommandFailure("the daemon did not start the scrub: " + started.trim());
        }
        ProgressBar bar = ProgressBar.onStderr("scrub " + mp, ByteSize::format);
        while (true) {
            Thread.sleep(200);
            String reply = ControlSocket.request(socket, "scrub status");
            if (reply == null) {
                throw new CommandFailure("the daemon of " + mp + " stopped answering during the scrub");
            }
            String[] lines = reply.split("\n");
            String[] head = lines[0].split(" ");
            switch (head[0]) {
                case "running" -> bar.update(Long.parseLong(head[2]), Long.parseLong(head[3]));
                case "failed" -> throw new CommandFailure("scrub of " + mp + " failed: " + lines[0].substring(7)
                        + " (see the daemon's log: d4 status " + mp + ")");
                case "done" -> {
                    long files = Long.parseLong(head[1]);
                    long bytes = Long.parseLong(head[2]);
                    long repaired = Long.parseLong(head[3]);
                    bar.finish(bytes, bytes);
                    int damaged = 0;
                    for (int i = 1; i < lines.length; i++) {
                        String[] f = lines[i].split("\t");
                        if (f[0].equals("damage")) {
                            damaged++;
                            System.out.println("damaged: " + f[1] + " bytes " + f[2] + "-" + (Long.parseLong(f[3]) - 1)
                                    + " (" + f[4] + ")");
                        } else if (f[0].equals("metadata")) {
                            damaged++;
                            System.out.println("damaged metadata: " + f[1]);
                        }
                    }
                    if (repaired > 0) {
                        System.out.println("repaired: " + repaired + " damaged block copies rewritten from their good copy");
                    }
                    System.out.println("d4 scrub: " + files + " files, " + ByteSize.format(bytes) + " verified: "
                            + (damaged == 0 ? "no damage" : damaged + " damaged ranges; reads there fail with EIO:"
                                    + " restore those files from a backup"));
                    return damaged == 0 ? 0 : 1;
                }
                default -> throw new CommandFailure("unexpected reply from the daemon: " + lines[0]);
            }
        }
    }
}
