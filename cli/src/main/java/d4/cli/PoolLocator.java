package d4.cli;

import d4.cli.config.ByteSize;
import d4.engine.Pool;
import d4.engine.PoolOptions;
import d4.engine.VolumeSpec;
import d4.engine.volume.VolumeRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/** Finds a pool's volumes through the data dir's registry, creating the default pool on first use. */
final class PoolLocator {
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
        try (VolumeRegistry registry = VolumeRegistry.open(dataDir)) {
            if (registry.find(name).isPresent()) {
                throw new CommandFailure("pool '" + name + "' already exists in " + registry.file()
                        + ": mount it, or format another --pool name");
            }
            UUID uuid = Pool.format(name, volumes);
            registry.register(name, uuid, volumes.stream().map(VolumeSpec::path).toList());
            return uuid;
        }
    }

    /** Opens a pool; the default pool is created on first use with a volume of defaultVolumeSize(dataDir, defaultVolumeMax). */
    static Pool open(Path dataDir, String name, long defaultVolumeMax, PoolOptions options) {
        List<Path> volumes;
        try (VolumeRegistry registry = VolumeRegistry.open(dataDir)) {
            var rec = registry.find(name);
            if (rec.isEmpty()) {
                if (!name.equals(DEFAULT_POOL)) {
                    throw new CommandFailure("no pool named '" + name + "' in " + registry.file()
                            + ": create it with d4 format --pool " + name + " --volume PATH:SIZE (or check --data-dir)");
                }
                Path volume = defaultVolumePath(dataDir, name);
                long size = defaultVolumeSize(dataDir, defaultVolumeMax);
                System.getLogger("d4.cli").log(System.Logger.Level.INFO, "creating the default pool: {0} ({1}, sparse)",
                        volume, ByteSize.format(size));
                UUID uuid = Pool.format(name, List.of(new VolumeSpec(volume, size)));
                registry.register(name, uuid, List.of(volume));
                volumes = List.of(volume);
            } else {
                volumes = rec.get().volumes();
            }
        }
        return Pool.open(volumes, options);
    }
}
