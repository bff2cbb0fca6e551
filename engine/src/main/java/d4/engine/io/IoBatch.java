package d4.engine.io;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Independent reads and writes handed to a drive at once with {@link Drive#submit(IoBatch)}: the
 * pieces of one read that spans many extents, the page runs of one checkpoint. The drive runs them
 * as many at a time as it can (the io_uring drive puts them in its ring together) and returns when
 * all have completed.
 *
 * <p>Built once with a fixed capacity and reused: {@link #clear()} empties it, and adding a request
 * stores into preallocated arrays, so a batch costs no allocation per request or per submission. Not
 * thread-safe: one thread fills it and submits it, and submits it to one drive at a time.
 *
 * <p>The requests of a batch have no order among themselves: two that overlap (a write and a read
 * of the same block, or two writes) may complete in any order, as they would from two threads.
 */
public final class IoBatch {
    private final long[] offsets;
    private final boolean[] writes;
    private final MemorySegment[] segments;
    private int size;

    /**
     * Requests of this batch the drive has in flight: the io_uring drive's ring thread counts them
     * down and wakes {@link #waiter} at zero. Lives here so that a submission allocates nothing.
     */
    final AtomicInteger pending = new AtomicInteger();

    /** The thread parked on {@link #pending}, or null while it spins (then nobody needs waking). */
    volatile Thread waiter;

    /** Set while a drive runs the batch: a second submit of it at the same time is a bug. */
    private final AtomicInteger inUse = new AtomicInteger();

    /** io_uring drive: the request slot of each request in the current wave. */
    final int[] slots;

    public IoBatch(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("an I/O batch needs a positive capacity, not " + capacity);
        }
        offsets = new long[capacity];
        writes = new boolean[capacity];
        segments = new MemorySegment[capacity];
        slots = new int[capacity];
    }

    /** Adds a read of {@code dst.byteSize()} bytes at {@code offsetBytes} into {@code dst}. */
    public void read(long offsetBytes, MemorySegment dst) {
        add(offsetBytes, dst, false);
    }

    /** Adds a write of all of {@code src} at {@code offsetBytes}. */
    public void write(long offsetBytes, MemorySegment src) {
        add(offsetBytes, src, true);
    }

    private void add(long offsetBytes, MemorySegment segment, boolean write) {
        if (size == offsets.length) {
            throw new IllegalStateException("d4 invariant violated: I/O batch full at its capacity of " + offsets.length
                    + " requests");
        }
        offsets[size] = offsetBytes;
        writes[size] = write;
        segments[size] = segment;
        size++;
    }

    /** Requests added since the last {@link #clear()}. */
    public int size() {
        return size;
    }

    public int capacity() {
        return offsets.length;
    }

    /** Empties the batch for reuse (and lets go of its buffers). */
    public void clear() {
        Arrays.fill(segments, 0, size, null);
        size = 0;
    }

    long offsetBytes(int i) {
        return offsets[i];
    }

    boolean isWrite(int i) {
        return writes[i];
    }

    MemorySegment segment(int i) {
        return segments[i];
    }

    /**
     * Checks every request as read and write check theirs, before the drive starts any: a batch
     * with one bad request runs none. A bad request is a bug of the caller (IllegalStateException).
     */
    void checkAll(Drive drive) {
        long sizeBytes = drive.sizeBytes();
        int alignment = drive.alignmentBytes();
        for (int i = 0; i < size; i++) {
            long offset = offsets[i];
            long length = segments[i].byteSize();
            if (offset < 0 || offset + length > sizeBytes || offset % alignment != 0 || length % alignment != 0
                    || length > Integer.MAX_VALUE) {
                throw new IllegalStateException("d4 invariant violated: request " + i + " of an I/O batch, "
                        + (writes[i] ? "a write" : "a read") + " of " + length + " bytes at " + offset
                        + ", is misaligned or outside " + drive + " of " + sizeBytes + " bytes");
            }
        }
    }

    /** Marks the batch as being run; refuses a batch that some drive is running already. */
    void begin() {
        if (!inUse.compareAndSet(0, 1)) {
            throw new IllegalStateException("d4 invariant violated: an I/O batch was submitted while it was still running");
        }
    }

    void end() {
        inUse.set(0);
    }
}
