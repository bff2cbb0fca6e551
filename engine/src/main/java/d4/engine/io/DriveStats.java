package d4.engine.io;

/**
 * How busy a drive's submission queues are, for {@code d4 status} and the metrics endpoint. Read
 * without a lock while I/O goes on: each figure is one the drive had at some recent instant, and
 * the figures need not be from the same instant.
 *
 * @param rings the io_uring rings serving the volume (0: the drive has none, e.g. the FileChannel
 *     drive; then the other figures are 0 too)
 * @param sqEntries the submission queue entries of each ring (the ring's configured depth)
 * @param inFlight requests submitted to the kernel and not yet completed, now (reads, writes and
 *     fsyncs; at most {@code rings * sqEntries})
 * @param peakInFlight the most requests in flight at once since the drive was opened (the mount)
 */
public record DriveStats(int rings, int sqEntries, int inFlight, int peakInFlight) {
    /** What a drive without rings reports. */
    public static final DriveStats NO_RINGS = new DriveStats(0, 0, 0, 0);

    public DriveStats {
        if (rings < 0 || sqEntries < 0 || inFlight < 0 || peakInFlight < 0) {
            throw new IllegalArgumentException("negative drive statistics: rings " + rings + ", sq entries " + sqEntries
                    + ", in flight " + inFlight + ", peak " + peakInFlight);
        }
    }

    /** Whether the drive has io_uring rings (the queue figures mean something). */
    public boolean hasRings() {
        return rings > 0;
    }
}
