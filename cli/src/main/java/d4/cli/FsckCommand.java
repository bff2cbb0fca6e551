package d4.cli;

import d4.cli.config.Config;
import d4.cli.config.Options;
import d4.engine.Pool;
import d4.engine.PoolOptions;
import d4.engine.io.DriveFactory;
import d4.fs.Fsck;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "fsck",
        mixinStandardHelpOptions = true,
        description = {
            "Check an unmounted pool offline: superblocks, the metadata tree, free space, the journal, every",
            "extent and block reference, and the namespace (link counts, directory parents, entries that",
            "name nothing, orphans, inodes in no directory). Without --repair nothing is written.",
            "",
            "--repair fixes what the check proves: link counts, parents and entry types are recomputed,",
            "entries naming nothing are removed, orphans deleted, inodes in no directory linked into",
            "/lost+found as #INODE, and the free-space map is rebuilt from what the metadata references",
            "(leaked blocks freed). Damaged data is reported, never changed: restore those files.",
            "",
            "Exit status (as e2fsck): 0 clean, 1 errors corrected, 4 errors left, 8 could not check",
            "(for example: the pool is mounted; unmount it first)."
        })
final class FsckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--pool", paramLabel = "NAME", defaultValue = PoolLocator.DEFAULT_POOL,
            description = "Pool to check (default: ${DEFAULT-VALUE}).")
    String pool;

    @Option(names = "--repair", description = "Fix what the check proves (see above).")
    boolean repair;

    @Option(names = "--data", description = "Also read every data block and verify its checksum (slow: reads all data).")
    boolean data;

    /** One progress bar per phase of the check ("namespace": inodes, "data": files). */
    private static final class PhaseBars {
        private String phase;
        private ProgressBar bar;
        private long done;
        private long total;

        void update(String next, long doneNow, long totalNow) {
            if (!next.equals(phase)) {
                finish();
                phase = next;
                String unit = next.equals("data") ? " files" : " inodes";
                bar = ProgressBar.onStderr(next.equals("data") ? "verifying data" : "checking " + next, n -> n + unit);
            }
            done = doneNow;
            total = totalNow;
            bar.update(doneNow, totalNow);
        }

        void finish() {
            if (bar != null) {
                bar.finish(done, total);
                bar = null;
            }
        }
    }

    @Override
    public Integer call() {
        Config config = ConfigFlags.load(spec);
        Path dataDir = config.path(Options.DATA_DIR);
        List<Path> volumes = PoolLocator.volumes(dataDir, pool); // the registry's, else assembled from block devices
        PoolOptions options = new PoolOptions(DriveFactory.forEngine(config.string(Options.IO_ENGINE)), 5_000)
                .withMetadataCacheBytes(config.number(Options.METADATA_CACHE));
        // A repair rebuilds free space from the metadata at open: free-space records that contradict
        // the rest would otherwise stop the open it needs.
        options = repair ? options.withFreeSpaceRebuilt() : options.asReadOnly();
        System.out.println("d4 fsck: pool " + pool + " (" + volumes.size() + " volume" + (volumes.size() == 1 ? "" : "s")
                + ")" + (repair ? ", repairing" : ", check only"));
        PhaseBars bars = new PhaseBars();
        Fsck.Report report;
        try (Pool p = Pool.open(volumes, options)) {
            report = new Fsck(p, repair, data, bars::update).run();
        } catch (d4.engine.D4Exception e) {
            System.out.println("d4 fsck: cannot check pool " + pool + ": " + e.getMessage());
            return 8;
        }
        bars.finish();
        for (String r : report.repaired()) {
            System.out.println("repaired: " + r);
        }
        for (String problem : report.problems()) {
            System.out.println("problem:  " + problem);
        }
        System.out.println("d4 fsck: " + report.inodes() + " inodes, " + report.directories() + " directories"
                + (data ? ", " + d4.cli.config.ByteSize.format(report.dataBytesVerified()) + " of data verified" : "")
                + ": " + switch (report.exitCode()) {
                    case Fsck.CLEAN -> "clean";
                    case Fsck.CORRECTED -> report.repaired().size() + " errors corrected";
                    default -> report.problems().size() + " problems left"
                            + (repair ? "" : "; run d4 fsck --repair to fix what can be proved");
                });
        return report.exitCode();
    }
}
