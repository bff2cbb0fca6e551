package d4.engine;

import d4.engine.io.DriveFactory;

/**
 * How a pool is opened.
 *
 * @param commitIntervalMillis how often the background flusher makes committed transactions durable
 *     without an fsync (ext4's commit= option plays the same role)
 * @param readOnly open for checking only (fsck): nothing is written — no checkpoint, no flusher,
 *     no superblock repair — and {@link Pool#begin()} fails
 */
public record PoolOptions(DriveFactory driveFactory, long commitIntervalMillis, boolean readOnly) {
    public PoolOptions(DriveFactory driveFactory, long commitIntervalMillis) {
        this(driveFactory, commitIntervalMillis, false);
    }

    public static PoolOptions defaults() {
        return new PoolOptions(DriveFactory.IO_URING, 5_000, false);
    }

    public PoolOptions withDriveFactory(DriveFactory factory) {
        return new PoolOptions(factory, commitIntervalMillis, readOnly);
    }

    public PoolOptions asReadOnly() {
        return new PoolOptions(driveFactory, commitIntervalMillis, true);
    }
}
