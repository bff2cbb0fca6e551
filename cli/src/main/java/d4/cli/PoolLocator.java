package d4.cli;

import d4.cli.config.ByteSize;
import d4.engine.Pool;
import d4.engine.PoolOptions;
import d4.engine.D4Exception;
import d4.engine.VolumeSpec;
import d4.engine.volume.BlockDevices;
import d4.engine.volume.Discovery;
import d4.engine.volume.VolumeRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Finds a pool's volumes: through the data dir's registry (a block device that changed its name is
 * found again by its superblock), else by scanning the block devices for the pool's volumes
 * (assembly, as mdadm --assemble --scan). Creates the default pool on first use.
 */
final class PoolLocator {
    private static final System.Logger LOG = System.getLogger("d4.cli");
    static final String DEFAULT_POOL = "default";

    private PoolLocator() {}

    static Path defaultVolumePath(Path dataDir, String pool) {
        return dataDir.resolve("volumes").resolve(pool + ".d4vol");
    }

    /**
     * The size of a volume created without one: {@code configured} (pool.default_volume_size), or 90%
     * of what the file system holding the data dir has free if that is less (the file is sparse, but
     * the capacity d4 reports should be one the host can back).
     */
    static long defaultVolumeSize(Path dataDir, long configured) {
        try {
            Path existing = dataDir;
            while (existing != null && !Files.exists(existing)) {
                existing = existing.getParent();
            }
            long usable = Files.getFileStore(existing == null ? Path.of("/") : existing).getUsableSpace();
            long size = Math.min(configured, usable / 10 * 9) >> 20 << 20;
            if (size < (64L << 20)) {
                throw new CommandFailure("the file system holding " + dataDir + " has only " + ByteSize.format(usable)
                        + " free; d4 needs at least 64 MiB for a volume: free space or choose --data-dir elsewhere");
            }
            return size;
        } catch (IOException e) {
            throw new CommandFailure("cannot read the free space of " + dataDir + ": " + e.getMessage());
        }
    }

    /** Creates a pool, records it in the registry and returns its UUID. */
    static UUID format(Path dataDir, String name, List<VolumeSpec> volumes) {
        return format(dataDir, name, volumes, 1);
    }

    /** As above, keeping {@code copies} (1 or 2) of every data block. */
    static UUID format(Path dataDir, String name, List<VolumeSpec> volumes, int copies) {
        try (VolumeRegistry registry = VolumeRegistry.open(dataDir)) {
            if (registry.find(name).isPresent()) {
                throw new CommandFailure("pool '" + name + "' already exists in " + registry.file()
                        + ": mount it, or format another --pool name");
            }
            for (VolumeRegistry.PoolRecord other : registry.list()) {
                for (VolumeSpec v : volumes) {
                    int index = other.indexOf(v.path());
                    if (index >= 0) {
                        throw new CommandFailure(v.path() + " is volume " + index + " of pool " + other.name() + " in "
                                + registry.file() + ": choose another path (or another --data-dir)");
                    }
                }
            }
            UUID uuid = Pool.format(name, volumes, copies);
            registry.register(name, uuid, volumes.stream().map(VolumeSpec::path).toList());
            return uuid;
        }
    }

    /** Opens a pool; the default pool is created on first use with a volume of defaultVolumeSize(dataDir, defaultVolumeMax). */
    static Pool open(Path dataDir, String name, long defaultVolumeMax, PoolOptions options) {
        if (name.equals(DEFAULT_POOL)) {
            try (VolumeRegistry registry = VolumeRegistry.open(dataDir)) {
                if (registry.find(name).isEmpty()) {
                    Path volume = defaultVolumePath(dataDir, name);
                    long size = defaultVolumeSize(dataDir, defaultVolumeMax);
                    LOG.log(System.Logger.Level.INFO, "creating the default pool: {0} ({1}, sparse)", volume,
                            ByteSize.format(size));
                    UUID uuid = Pool.format(name, List.of(new VolumeSpec(volume, size)));
                    registry.register(name, uuid, List.of(volume));
                }
            }
        }
        return Pool.open(volumes(dataDir, name), options);
    }

    /** Throws what {@link #open} would when it cannot find the pool (the default pool is created, so always findable). */
    static void checkFindable(Path dataDir, String name) {
        if (!name.equals(DEFAULT_POOL)) {
            volumes(dataDir, name);
        }
    }

    /**
     * The volumes of pool {@code name} in index order: the registry's, else those the block devices
     * hold (a pool there may also be named by its UUID). Fails, saying what to do, when neither knows
     * the pool or a volume is missing.
     */
    static List<Path> volumes(Path dataDir, String name) {
        Optional<VolumeRegistry.PoolRecord> rec;
        Path registryFile;
        try (VolumeRegistry registry = VolumeRegistry.open(dataDir)) {
            rec = registry.find(name);
            registryFile = registry.file();
        }
        return rec.isPresent() ? registered(rec.get()) : assemble(name, registryFile);
    }

    /**
     * A registered pool's volumes. A block device path that no longer holds its volume (device
     * names change between boots: /dev/sdb may now be /dev/sdc) is replaced by the device that does,
     * and so is a volume whose record was removed (d4 volume forget), if a device holds it.
     */
    private static List<Path> registered(VolumeRegistry.PoolRecord rec) {
        List<Path> out = new ArrayList<>();
        Discovery.Scan scan = null;
        int highest = rec.indexes().isEmpty() ? -1 : rec.indexes().getLast();
        for (int i = 0; i <= highest; i++) {
            Optional<Path> recorded = rec.volume(i);
            if (recorded.isEmpty()) {
                if (scan == null) {
                    scan = Discovery.scan();
                }
                Optional<Discovery.Member> m = scan.member(rec.uuid(), i);
                if (m.isEmpty()) {
                    throw new CommandFailure("volume " + i + " of pool " + rec.name() + " is not in the registry (its"
                            + " record was removed with d4 volume forget) and no block device holds it: the pool cannot be"
                            + " mounted without it (d4 volume list --pool " + rec.name() + " shows what is there)");
                }
                LOG.log(System.Logger.Level.INFO, "volume {0} of pool {1} is not registered; found on {2}", i, rec.name(),
                        m.get().device());
                out.add(m.get().device());
                continue;
            }
            Path p = recorded.get();
            boolean device = BlockDevices.isBlockDevice(p);
            if (!device && (Files.exists(p) || !p.startsWith("/dev/"))) {
                out.add(p); // a file (Pool.open says so if it is missing or wrong)
                continue;
            }
            if (device && holds(p, rec.uuid(), i)) {
                out.add(p);
                continue;
            }
            if (scan == null) {
                scan = Discovery.scan();
            }
            Optional<Discovery.Member> m = scan.member(rec.uuid(), i);
            if (m.isEmpty()) {
                throw new CommandFailure("volume " + i + " of pool " + rec.name() + " (registered as " + p + ") is not on "
                        + p + (device ? " any more" : ", which does not exist,") + " and no block device holds it"
                        + " (d4 discover lists what the devices hold): attach the device and mount again");
            }
            LOG.log(System.Logger.Level.INFO, "volume {0} of pool {1} is on {2} now (registered as {3})", i, rec.name(),
                    m.get().device(), p);
            out.add(m.get().device());
        }
        return out;
    }

    private static boolean holds(Path device, UUID pool, int index) {
        try {
            return Discovery.readSuperblock(device)
                    .filter(r -> r.superblock().poolUuid().equals(pool) && r.superblock().volumeIndex() == index)
                    .isPresent();
        } catch (D4Exception e) {
            return false;
        }
    }

    /** A pool not in the registry: from the block devices that hold its volumes. */
    private static List<Path> assemble(String name, Path registryFile) {
        Discovery.Scan scan = Discovery.scan();
        List<Discovery.FoundPool> found = scan.named(name);
        if (found.isEmpty()) {
            String unread = scan.problems().isEmpty() ? ""
                    : "; " + scan.problems().size() + " could not be read (" + scan.problems().getFirst()
                            + (scan.problems().size() > 1 ? ", ..." : "") + ")";
            throw new CommandFailure("no pool named '" + name + "' in " + registryFile + ", and none on the "
                    + scan.devicesScanned() + " block devices scanned" + unread + ". Create it with d4 format --pool " + name
                    + " --volume PATH[:SIZE], or check --data-dir; d4 discover lists the pools on block devices");
        }
        if (found.size() > 1) {
            throw new CommandFailure(found.size() + " pools named '" + name + "' are on block devices: "
                    + String.join("; ", found.stream().map(p -> p.uuid() + " (" + p.describeMembers() + ")").toList())
                    + ". Mount one by its UUID: --pool UUID");
        }
        Discovery.FoundPool p = found.getFirst();
        if (!p.conflicts().isEmpty()) {
            throw new CommandFailure("pool " + p.name() + " (" + p.uuid() + ") cannot be assembled: "
                    + String.join("; ", p.conflicts()));
        }
        if (!p.missing().isEmpty()) {
            throw new CommandFailure("pool " + p.name() + " (" + p.uuid() + ") is missing volume"
                    + (p.missing().size() == 1 ? " " : "s ") + String.join(", ", p.missing().stream().map(String::valueOf).toList())
                    + " of its " + p.volumeCount() + " (found: " + p.describeMembers() + "): attach the device"
                    + (p.missing().size() == 1 ? "" : "s") + " holding " + (p.missing().size() == 1 ? "it" : "them")
                    + " and mount again (d4 discover shows what is found). Volume files are not found by scanning:"
                    + " if the pool has some, use the data dir whose registry lists them (--data-dir)");
        }
        LOG.log(System.Logger.Level.INFO, "assembled pool {0} ({1}) from block devices: {2}", p.name(), p.uuid(),
                p.describeMembers());
        return p.devices();
    }
}
