package d4.engine;

import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/**
 * A snapshot of a pool's identity and usage.
 *
 * @param checksumFailures data blocks that failed their checksum on a read or a scrub since open
 */
public record PoolInfo(
        String name,
        UUID uuid,
        int blockSizeBytes,
        List<VolumeInfo> volumes,
        long capacityBytes,
        long freeBytes,
        long objectCount,
        String ioEngine,
        long checksumFailures) {

    /** One volume of the pool. Capacity counts the data area only (not superblocks or journal). */
    public record VolumeInfo(int index, Path path, UUID uuid, long sizeBytes, long capacityBytes, long freeBytes) {}
}
