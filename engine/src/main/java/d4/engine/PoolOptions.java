package d4.engine;

import d4.engine.io.DriveFactory;

/**
 * How a pool is opened.
 *
 * @param commitIntervalMillis how often the background flusher makes committed transactions durable
 *     without an fsync (ext4's commit= option plays the same role)
 */
public record PoolOptions(DriveFactory driveFactory, long commitIntervalMillis) {
    public static PoolOptions defaults() {
        return new PoolOptions(DriveFactory.IO_URING, 5_000);
    }

    public PoolOptions withDriveFactory(DriveFactory factory) {
        return new PoolOptions(factory, commitIntervalMillis);
    }
}
