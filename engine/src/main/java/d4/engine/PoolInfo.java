package d4.engine;

import d4.engine.io.Drive;
import d4.engine.io.DriveStats;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * A snapshot of a pool's identity and usage.
 *
 * @param checksumFailures data blocks that failed their checksum on a read or a scrub since open
 * @param copies copies of every data block the pool keeps (1, or 2 on different volumes); capacity
 *     and free space count what files can hold, so they are the volumes' divided by this
 * @param repairedBlocks damaged copies rewritten from a good copy since open (pools with 2 copies)
 * @param metadata the metadata tree in memory and its reads
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
        long checksumFailures,
        int copies,
        long repairedBlocks,
        Metadata metadata) {

    /**
     * The metadata B+tree: its height, the pages changed since the last checkpoint (held in memory),
     * the bytes of clean pages cached and the cache's bound, and the pages read from the volumes
     * (cache misses) since open.
     */
    public record Metadata(int treeHeight, int dirtyPages, long cachedBytes, long cacheLimitBytes, long pageReads) {}

    /**
     * One volume of the pool. Capacity counts the data area only (not superblocks or journal).
     *
     * @param io the queue depths of the volume's drive ({@link Drive#stats()}), or null when the
     *     pool did not report them
     */
    public record VolumeInfo(int index, Path path, UUID uuid, long sizeBytes, long capacityBytes, long freeBytes,
            DriveStats io) {

        /** A volume whose drive statistics are not reported ({@link #io()} is null). */
        public VolumeInfo(int index, Path path, UUID uuid, long sizeBytes, long capacityBytes, long freeBytes) {
            this(index, path, uuid, sizeBytes, capacityBytes, freeBytes, null);
        }

        /** The drive's queue depths, when reported and the drive has io_uring rings. */
        public Optional<DriveStats> rings() {
            return io != null && io.hasRings() ? Optional.of(io) : Optional.empty();
        }
    }
}
