package d4.cli;

import d4.cli.config.ByteSize;
import d4.cli.config.Config;
import d4.cli.config.Options;
import d4.cli.config.Origin;
import d4.engine.Limits;
import d4.engine.VolumeSpec;
import d4.engine.volume.BlockDevices;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
            "A volume PATH is a file, created sparse with SIZE (e.g. 64G, 512M), or a block device",
            "(/dev/sdb, /dev/disk/by-id/...: its whole size, or the first SIZE of it). Without --volume the",
            "pool gets one file volume in DATA_DIR/volumes/ of pool.default_volume_size (64 GiB; at most",
            "90%% of the free space there).",
            "d4 format never overwrites a file: an existing non-empty file is refused. A block device that",
            "is mounted, in use (device-mapper, md, swap, a running d4) is always refused; one that holds a",
            "file system, a partition table or a d4 volume is refused unless --force. Pools on block devices",
            "are found again by their superblocks (d4 discover), also without the registry."
        })
final class FormatCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--pool", paramLabel = "NAME", defaultValue = PoolLocator.DEFAULT_POOL,
            description = "Pool name (default: ${DEFAULT-VALUE}).")
    String pool;

    @Option(names = "--volume", paramLabel = "PATH[:SIZE]", description = "A volume; repeat for several.")
    List<String> volumes = new ArrayList<>();

    @Option(names = "--copies", paramLabel = "N", defaultValue = "1",
            description = "Copies of every data block: 1, or 2 on two different volumes (needs two --volume; a"
                    + " damaged copy is then read from the other and rewritten). Default: ${DEFAULT-VALUE}.")
    int copies;

    @Option(names = "--force", description = "Overwrite a block device that holds a file system, a partition table or"
            + " a d4 volume (never one that is mounted or in use).")
    boolean force;

    @Override
    public Integer call() {
        Config config = ConfigFlags.load(spec);
        Path dir = config.path(Options.DATA_DIR);
        List<VolumeSpec> specs = new ArrayList<>();
        if (volumes.isEmpty()) {
            specs.add(new VolumeSpec(PoolLocator.defaultVolumePath(dir, pool),
                    PoolLocator.defaultVolumeSize(dir, config.number(Options.DEFAULT_VOLUME_SIZE))));
        }
        List<String> notes = new ArrayList<>();
        for (String v : volumes) {
            VolumeSpec spec = parseVolume(v);
            if (specs.stream().anyMatch(s -> s.path().equals(spec.path()))) {
                throw new CommandFailure("volume " + spec.path() + " is given twice");
            }
            if (BlockDevices.isBlockDevice(spec.path())) {
                notes.add(checkDevice(spec, force));
            } else {
                notes.add("");
            }
            specs.add(spec);
        }
        if (copies != 1 && copies != 2) {
            throw new CommandFailure("--copies must be 1 or 2, not " + copies);
        }
        if (copies == 2 && specs.size() < 2) {
            throw new CommandFailure("--copies 2 keeps each block on two different volumes: give two --volume options");
        }
        // Volume files are sparse: formatting them writes a few blocks, whatever their size. A block
        // device has its superblock, metadata and journal area zeroed (up to 128 MiB) and flushed,
        // which takes seconds on a slow device: shown as bytes written, from /proc/self/io.
        long writtenBefore = writtenBytes();
        ProgressBar bar = ProgressBar.onStderr("d4 format: writing pool " + pool,
                n -> writtenBefore < 0 ? "in progress" : ByteSize.format(n) + " written");
        UUID uuid = ProgressBar.whileRunning(bar, () -> writtenBytes() - writtenBefore, 1000,
                () -> PoolLocator.format(dir, pool, specs, copies));
        System.out.println("d4: created pool " + pool + " (" + uuid + ")" + (copies == 2 ? ", 2 copies of every block" : ""));
        for (int i = 0; i < specs.size(); i++) {
            String note = i < notes.size() && !notes.get(i).isEmpty() ? ", " + notes.get(i) : "";
            System.out.println("  volume " + i + ": " + specs.get(i).path() + " (" + ByteSize.format(specs.get(i).sizeBytes())
                    + note + ")");
        }
        System.out.println("  registry: " + dir.resolve("registry.db"));
        boolean dirByFlag = config.setting(Options.DATA_DIR).origin() instanceof Origin.Flag;
        System.out.println("Mount it with: d4 mount" + (dirByFlag ? " --data-dir " + dir : "")
                + (pool.equals(PoolLocator.DEFAULT_POOL) ? "" : " --pool " + pool) + " MOUNTPOINT");
        return 0;
    }

    /** Bytes this process has written so far (wchar of /proc/self/io), or -1 when unknown. */
    static long writtenBytes() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/io"))) {
                if (line.startsWith("wchar:")) {
                    return Long.parseLong(line.substring(6).trim());
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // no procfs: the bar shows the time only
        }
        return -1;
    }

    /**
     * Refuses a block device that is in use, or (without --force) holds a signature; returns what
     * the volume line says about it.
     */
    static String checkDevice(VolumeSpec spec, boolean force) {
        Path path = spec.path();
        BlockDevices.Device d = BlockDevices.checkFits(path, spec.sizeBytes());
        List<String> usage = BlockDevices.usage(d);
        if (!usage.isEmpty()) {
            throw new CommandFailure("refusing to format " + path + ": " + String.join("; ", usage)
                    + ". Unmount it or stop what uses it first (lsblk " + path + " shows what is on it)");
        }
        Optional<String> signature = BlockDevices.signature(path);
        if (signature.isPresent()) {
            if (!force) {
                throw new CommandFailure(path + " is not empty (found: " + signature.get() + "): d4 format would destroy"
                        + " it. If that is"
                        + " what you want, add --force (or wipe it: wipefs -a " + path + ")");
            }
            System.err.println("d4: --force: overwriting " + signature.get() + " on " + path);
        }
        return "block device " + d.kernelName() + ", logical block " + d.logicalBlockBytes() + " B";
    }

    /**
     * A --volume argument: PATH:SIZE for a file; a block device alone (its whole size, rounded down
     * to d4's block) or DEVICE:SIZE (the first SIZE of it). A device path may itself hold colons
     * (/dev/disk/by-path/pci-0000:00:1f.2-ata-1), so the whole text is tried as a device first.
     */
    static VolumeSpec parseVolume(String text) {
        Path whole = Path.of(text).toAbsolutePath().normalize();
        if (BlockDevices.isBlockDevice(whole)) {
            long size = BlockDevices.describe(whole).sizeBytes() / Limits.BLOCK_BYTES * Limits.BLOCK_BYTES;
            if (size > Limits.MAX_VOLUME_BYTES) {
                throw new CommandFailure(whole + " holds " + ByteSize.format(size) + "; this release supports volumes of up to "
                        + ByteSize.format(Limits.MAX_VOLUME_BYTES) + ": give a size to use the start of it ("
                        + text + ":" + (Limits.MAX_VOLUME_BYTES >> 40) + "T), or use a partition");
            }
            return new VolumeSpec(whole, size);
        }
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            throw new CommandFailure("volume '" + text + "' needs a size for its file: write PATH:SIZE, e.g. "
                    + text + ":64G");
        }
        Path path = Path.of(text.substring(0, colon)).toAbsolutePath().normalize();
        return new VolumeSpec(path, ByteSize.parse(text.substring(colon + 1)));
    }
}
