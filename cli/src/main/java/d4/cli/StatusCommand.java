package d4.cli;

import d4.cli.config.Options;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "status",
        mixinStandardHelpOptions = true,
        description = {"Show the daemon serving MOUNTPOINT: pool, volumes, usage, FUSE operation latencies.",
            "Also: pid, io engine, checksum failures, cache hit rates, requests, errors and latency (p50, p99,",
            "max) per FUSE operation since the mount, the metrics endpoint (metrics.listen) and the log file."})
final class StatusCommand implements Callable<Integer> {
    @Option(names = "--json", description = "Print one JSON object (keys: pid, pool, volumes, io_engine, ...).")
    boolean json;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "MOUNTPOINT")
    Path mountPoint;

    @Override
    public Integer call() {
        Path mp = mountPoint.toAbsolutePath().normalize();
        Path socket = ControlSocket.pathFor(ConfigFlags.load(spec).path(Options.RUNTIME_DIR), mp);
        String reply = ControlSocket.request(socket, json ? "status json" : "status text");
        if (reply == null) {
            throw new CommandFailure(MountTable.isD4(mp)
                    ? mp + " is a d4 mount but no daemon answers at " + socket + ": if it was mounted with another"
                            + " runtime dir, give that one (--runtime-dir DIR or D4_RUNTIME_DIR); if its daemon was"
                            + " killed, run d4 umount " + mp + ", then mount again"
                    : "no d4 daemon serves " + mp + " (not mounted, or mounted with another runtime dir/user)");
        }
        System.out.print(reply.endsWith("\n") ? reply : reply + "\n");
        return 0;
    }
}
