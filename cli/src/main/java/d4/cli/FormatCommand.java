package d4.cli;

import d4.cli.config.ByteSize;
import d4.cli.config.Config;
import d4.cli.config.Options;
import d4.cli.config.Origin;
import d4.engine.VolumeSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "format",
        mixinStandardHelpOptions = true,
        description = {
            "Create a pool on new volumes and record it in the data dir's registry.",
            "A volume PATH is a file, created sparse with SIZE (e.g. 64G, 512M). Without --volume the",
            "pool gets one file volume in DATA_DIR/volumes/ of pool.default_volume_size (64 GiB; at most",
            "90% of the free space there).",
            "d4 format never overwrites: an existing non-empty file is refused."
        })
final class FormatCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--pool", paramLabel = "NAME", defaultValue = PoolLocator.DEFAULT_POOL,
            description = "Pool name (default: ${DEFAULT-VALUE}).")
    String pool;

    @Option(names = "--volume", paramLabel = "PATH[:SIZE]", description = "A volume; repeat for several.")
    List<String> volumes = new ArrayList<>();

    @Override
    public Integer call() {
        Config config = ConfigFlags.load(spec);
        Path dir = config.path(Options.DATA_DIR);
        List<VolumeSpec> specs = new ArrayList<>();
        if (volumes.isEmpty()) {
            specs.add(new VolumeSpec(PoolLocator.defaultVolumePath(dir, pool),
                    PoolLocator.defaultVolumeSize(dir, config.number(Options.DEFAULT_VOLUME_SIZE))));
        }
        for (String v : volumes) {
            specs.add(parseVolume(v));
        }
        UUID uuid = PoolLocator.format(dir, pool, specs);
        System.out.println("d4: created pool " + pool + " (" + uuid + ")");
        for (int i = 0; i < specs.size(); i++) {
            System.out.println("  volume " + i + ": " + specs.get(i).path() + " (" + ByteSize.format(specs.get(i).sizeBytes()) + ")");
        }
        System.out.println("  registry: " + dir.resolve("registry.db"));
        boolean dirByFlag = config.setting(Options.DATA_DIR).origin() instanceof Origin.Flag;
        System.out.println("Mount it with: d4 mount" + (dirByFlag ? " --data-dir " + dir : "")
                + (pool.equals(PoolLocator.DEFAULT_POOL) ? "" : " --pool " + pool) + " MOUNTPOINT");
        return 0;
    }

    static VolumeSpec parseVolume(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            throw new CommandFailure("volume '" + text + "' needs a size for its file: write PATH:SIZE, e.g. "
                    + text + ":64G");
        }
        Path path = Path.of(text.substring(0, colon)).toAbsolutePath().normalize();
        return new VolumeSpec(path, ByteSize.parse(text.substring(colon + 1)));
    }
}
