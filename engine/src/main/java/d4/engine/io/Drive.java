package d4.engine.io;

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
