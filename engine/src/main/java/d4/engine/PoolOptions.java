package d4.engine;

import d4.engine.io.DriveFactory;

/**
 * How a pool is opened.
 *
 * @param commitIntervalMillis how often the background flusher makes committed transactions durable
 *     without an fsync (ext4's commit= option plays the same role)
 * @param readOnly open for checking only (fsck): nothing is written — no checkpoint, no flusher,
 *     no superblock repair — and {@link Pool#begin()} fails
 * @param metadataCacheBytes the bound of the metadata page cache (clean pages of the B+tree; pages
 *     changed since the last checkpoint are held besides, up to {@link Pool#DIRTY_PAGE_LIMIT})
 * @param rebuildFreeSpace (fsck --repair, writable opens only) build the free-space map from what the
 *     metadata references instead of trusting the stored one: reads the whole tree, so open takes
 *     time proportional to the pool's contents; {@link Pool#repairFreeSpace()} reports what changed
 */
public record PoolOptions(DriveFactory driveFactory, long commitIntervalMillis, boolean readOnly,
        long metadataCacheBytes, boolean rebuildFreeSpace) {
    /** The default bound of the metadata page cache: 64 MiB. */
    public static final long DEFAULT_METADATA_CACHE_BYTES = 64L << 20;

    public PoolOptions {
        if (metadataCacheBytes < 0) {
            throw new D4Exception.InvalidArgument("a metadata cache of " + metadataCacheBytes + " bytes");
        }
    }

    public PoolOptions(DriveFactory driveFactory, long commitIntervalMillis) {
        this(driveFactory, commitIntervalMillis, false, DEFAULT_METADATA_CACHE_BYTES, false);
    }

    public static PoolOptions defaults() {
        return new PoolOptions(DriveFactory.IO_URING, 5_000);
    }

    public PoolOptions withDriveFactory(DriveFactory factory) {
        return new PoolOptions(factory, commitIntervalMillis, readOnly, metadataCacheBytes, rebuildFreeSpace);
    }

    public PoolOptions asReadOnly() {
        return new PoolOptions(driveFactory, commitIntervalMillis, true, metadataCacheBytes, false);
    }

    public PoolOptions withMetadataCacheBytes(long bytes) {
        return new PoolOptions(driveFactory, commitIntervalMillis, readOnly, bytes, rebuildFreeSpace);
    }

    /** Opens writable with the free-space map rebuilt from the metadata (fsck --repair). */
    public PoolOptions withFreeSpaceRebuilt() {
        return new PoolOptions(driveFactory, commitIntervalMillis, false, metadataCacheBytes, true);
    }
}
