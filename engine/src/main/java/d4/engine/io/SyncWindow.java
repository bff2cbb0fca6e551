package d4.engine.io;

import d4.engine.D4Exception;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The window of a drive with synchronous calls only: each request runs through the drive's own
 * read or write when it is started, and its outcome waits in a preallocated queue for
 * {@link #take}. One request in the device at a time, the same contract.
 */
final class SyncWindow implements IoWindow {
    private final Drive drive;
    private final Thread owner = Thread.currentThread();
    private final long[] tags;
    private final D4Exception[] failures;
    private int head;
    private int count;
    private D4Exception last;
    private boolean closed;

    SyncWindow(Drive drive, int depth) {
        UringWindow.checkDepth(depth);
        this.drive = drive;
        this.tags = new long[depth];
        this.failures = new D4Exception[depth];
    }

    @Override
    public int depth() {
        return tags.length;
    }

    @Override
    public int inFlight() {
        return count;
    }

    @Override
    public void read(long offsetBytes, MemorySegment dst, long tag) {
        run(false, offsetBytes, dst, tag);
    }

    @Override
    public void write(long offsetBytes, MemorySegment src, long tag) {
        run(true, offsetBytes, src, tag);
    }

    private void run(boolean write, long offsetBytes, MemorySegment segment, long tag) {
        UringWindow.checkOwner(owner, closed);
        if (count == tags.length) {
            throw UringWindow.full(tags.length);
        }
        D4Exception failure = null;
        try {
            if (write) {
                drive.write(offsetBytes, segment);
            } else {
                drive.read(offsetBytes, segment);
            }
        } catch (D4Exception.DriveFailure | D4Exception.NoSpace e) {
            failure = e; // the request's own outcome, reported by take as the io_uring window does
        }
        int at = (head + count) % tags.length;
        tags[at] = tag;
        failures[at] = failure;
        count++;
    }

    @Override
    public long take() {
        UringWindow.checkOwner(owner, false);
        if (count == 0) {
            throw new IllegalStateException("d4 invariant violated: take() on an I/O window with nothing in flight");
        }
        long tag = tags[head];
        last = failures[head];
        failures[head] = null;
        head = (head + 1) % tags.length;
        count--;
        return tag;
    }

    @Override
    public D4Exception failure() {
        return last;
    }

    @Override
    public void close() {
        closed = true;
        count = 0;
        Arrays.fill(failures, null);
    }
}
