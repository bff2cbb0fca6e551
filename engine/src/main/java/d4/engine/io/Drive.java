package d4.engine.io;

import d4.engine.D4Exception;
import java.lang.foreign.MemorySegment;

/**
 * The I/O seam of the engine: positioned reads and writes of whole, aligned blocks on one volume
 * (a block device or a file), and a durability barrier. Everything above the drive speaks in byte
 * offsets that are multiples of {@link #alignmentBytes()}; the drive never sees partial blocks.
 *
 * <p>Implementations: {@link ChannelDrive} (FileChannel) and {@link UringDrive} (io_uring). Errors are
 * thrown as {@link d4.engine.D4Exception.DriveFailure} (or NoSpace when the host file system behind
 * a file-backed volume is full). Implementations must be safe for concurrent use by many threads.
 */
public interface Drive extends AutoCloseable {

    /** The name reported as io_engine: "filechannel" or "io_uring". */
    String engine();

    /** Size of the volume in bytes. */
    long sizeBytes();

    /** Offsets and lengths passed to read and write are multiples of this. */
    int alignmentBytes();

    /** Reads exactly {@code dst.byteSize()} bytes at {@code offsetBytes}. */
    void read(long offsetBytes, MemorySegment dst);

    /** Writes all of {@code src} at {@code offsetBytes}. Durable only after {@link #flush()}. */
    void write(long offsetBytes, MemorySegment src);

    /**
     * Runs every request of {@code batch}, as many at once as the drive can, and returns once all
     * have completed, so that their buffers may be reused. Each request is checked as
     * {@link #read}/{@link #write} check theirs before any is started: one bad request (a bug) and
     * none runs. When some requests fail, the others still run to completion; then the failure of
     * the first failed request in batch order is thrown (DriveFailure, or NoSpace), and the data of
     * the others is as their success says. Writes are durable only after {@link #flush()}.
     *
     * <p>This default runs them one after another through read and write, which is all a drive
     * with synchronous calls can do (and keeps a wrapping drive's own read and write in the path).
     */
    default void submit(IoBatch batch) {
        batch.checkAll(this);
        batch.begin();
        try {
            RuntimeException first = null;
            for (int i = 0; i < batch.size(); i++) {
                try {
                    if (batch.isWrite(i)) {
                        write(batch.offsetBytes(i), batch.segment(i));
                    } else {
                        read(batch.offsetBytes(i), batch.segment(i));
                    }
                } catch (D4Exception.DriveFailure | D4Exception.NoSpace e) {
                    if (first == null) {
                        first = e;
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        } finally {
            batch.end();
        }
    }

    /**
     * Opens a window for the calling thread to keep up to {@code depth} (1 to 128) requests in
     * flight, refilling as each completes (see {@link IoWindow}). This default runs each request
     * synchronously through read and write when it is started.
     *
     * @throws IllegalArgumentException for a depth outside 1 to 128
     */
    default IoWindow openWindow(int depth) {
        return new SyncWindow(this, depth);
    }

    /** Makes every write that completed before this call durable. */
    void flush();

    /**
     * Queue depths for status and metrics: cheap (no lock, nothing on the I/O path to pay for it)
     * and racy. Drives without io_uring rings report {@link DriveStats#NO_RINGS}.
     */
    default DriveStats stats() {
        return DriveStats.NO_RINGS;
    }

    @Override
    void close();
}
