package d4.engine.io;

import d4.engine.D4Exception;
import java.lang.foreign.MemorySegment;

/**
 * The io_uring drive's window: requests go into a ring of the owner's own ({@link LocalRing}), and
 * {@link #take} waits in the kernel for the next completion, submitting what was started since in
 * the same call (io_uring_submit_and_wait). Completions come from the kernel several at a time; the
 * takes that follow serve them from the ring's queue without a system call.
 */
final class UringWindow implements IoWindow {
    /** The deepest window: a thread's ring holds that many requests. */
    static final int MAX_DEPTH = UringDrive.THREAD_RING_ENTRIES;

    private final UringDrive drive;
    private final LocalRing ring;
    private final int depth;
    private final Thread owner = Thread.currentThread();
    /** The failures of requests run synchronously (bounced buffers), by slot: preallocated. */
    private final D4Exception[] bounced;
    private int inFlight;
    private D4Exception last;
    private boolean closed;

    UringWindow(UringDrive drive, LocalRing ring, int depth) {
        checkDepth(depth);
        this.drive = drive;
        this.ring = ring;
        this.depth = depth;
        this.bounced = new D4Exception[ring.capacity];
    }

    static void checkDepth(int depth) {
        if (depth < 1 || depth > MAX_DEPTH) {
            throw new IllegalArgumentException("an I/O window holds 1 to " + MAX_DEPTH + " requests, not " + depth);
        }
    }

    static void checkOwner(Thread owner, boolean closed) {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("d4 invariant violated: an I/O window of " + owner
                    + " was used by " + Thread.currentThread());
        }
        if (closed) {
            throw new IllegalStateException("d4 invariant violated: an I/O window was used after its close");
        }
    }

    static IllegalStateException full(int depth) {
        return new IllegalStateException("d4 invariant violated: an I/O window of depth " + depth
                + " is full: take() a completion before starting another request");
    }

    @Override
    public int depth() {
        return depth;
    }

    @Override
    public int inFlight() {
        return inFlight;
    }

    @Override
    public void read(long offsetBytes, MemorySegment dst, long tag) {
        start(UringDrive.OP_READ, offsetBytes, dst, tag);
    }

    @Override
    public void write(long offsetBytes, MemorySegment src, long tag) {
        start(UringDrive.OP_WRITE, offsetBytes, src, tag);
    }

    private void start(int op, long offsetBytes, MemorySegment segment, long tag) {
        checkOwner(owner, closed);
        if (inFlight == depth) {
            throw full(depth);
        }
        long length = segment.byteSize();
        drive.checkRange(offsetBytes, length);
        if (drive.isClosing()) {
            throw drive.closedFailure();
        }
        if (length == 0 || !drive.usable(segment)) {
            // No I/O, or a buffer the kernel cannot take directly (heap, misaligned): run it now
            // through the drive's own bounce path; never on d4's hot paths.
            D4Exception failure = null;
            if (length > 0) {
                try {
                    if (op == UringDrive.OP_WRITE) {
                        drive.write(offsetBytes, segment);
                    } else {
                        drive.read(offsetBytes, segment);
                    }
                } catch (D4Exception.DriveFailure | D4Exception.NoSpace e) {
                    failure = e;
                }
            }
            int s = ring.slot(op, offsetBytes, (int) length, tag);
            bounced[s] = failure;
            ring.finish(s, 0);
            inFlight++;
            return;
        }
        if (!ring.acquire()) {
            throw drive.closedFailure(); // the drive's close took the ring
        }
        try {
            ring.start(op, offsetBytes, segment.address(), (int) length, tag);
        } finally {
            ring.release();
        }
        inFlight++;
    }

    @Override
    public long take() {
        checkOwner(owner, closed);
        if (inFlight == 0) {
            throw new IllegalStateException("d4 invariant violated: take() on an I/O window with nothing in flight");
        }
        if (ring.completed() == 0 || shouldSubmit()) {
            if (!ring.acquire()) {
                // Closed by the drive's close only when nothing of it was in the kernel; what
                // completed before is still queued, so this cannot be.
                throw new IllegalStateException("d4 invariant violated: an I/O window's ring was closed with "
                        + inFlight + " requests in flight");
            }
            try {
                if (ring.completed() == 0) {
                    do { // a completion may be a short transfer, resubmitted for the rest
                        ring.await(1);
                    } while (ring.completed() == 0);
                } else {
                    ring.submit();
                }
            } finally {
                ring.release();
            }
        }
        int s = ring.poll();
        long tag = ring.tag(s);
        int result = ring.result(s);
        last = result < 0 ? drive.failure(ring.op(s), ring.offset(s), ring.length(s), -result) : bounced[s];
        bounced[s] = null;
        ring.freeSlot(s);
        inFlight--;
        return tag;
    }

    /**
     * Completions are queued still, but requests started since wait unsubmitted: hand them over once
     * a quarter of the window waits, so the device's queue does not run dry while the caller works
     * through the completions (and not one system call per request).
     */
    private boolean shouldSubmit() {
        return ring.unsubmitted() > 0 && ring.unsubmitted() >= Math.max(1, depth / 4);
    }

    @Override
    public D4Exception failure() {
        return last;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        checkOwner(owner, false);
        closed = true;
        if (ring.acquire()) {
            try {
                while (ring.inKernel() > 0) {
                    ring.await(ring.inKernel());
                }
            } finally {
                ring.release();
            }
        }
        int s;
        while ((s = ring.poll()) >= 0) {
            bounced[s] = null;
            ring.freeSlot(s);
        }
        inFlight = 0;
        drive.windowClosed(ring);
    }
}
