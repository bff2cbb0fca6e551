package d4.engine.io;

import d4.engine.D4Exception;
import d4.engine.io.uring.Libc;
import d4.engine.io.uring.Ring;
import d4.engine.io.uring.UringException;
import d4.engine.io.uring.io_uring_cqe;
import d4.engine.io.uring.liburing_h;
import d4.engine.io.uring.liburing_inline;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An io_uring ring of a {@link UringDrive} owned by one caller thread, for {@link Drive#submit} and
 * {@link IoWindow}: the owner prepares SQEs and waits in the kernel itself (io_uring_submit_and_wait),
 * so its completions wake it directly. Through the drive's ring thread a batch costs a hand-over
 * and a cross-CPU wake-up by that thread; this is what fio does.
 *
 * <p>Set up with IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN where the kernel has them (completions
 * are then posted only when the owner waits for them, in one go), with the volume's fd registered
 * (so an SQE never names an fd number that the drive's close could hand to another file).
 *
 * <p>Requests live in preallocated slots (user_data = slot), completed slots in a preallocated
 * queue: nothing is allocated per request. Short transfers and EINTR/EAGAIN are resubmitted for the
 * rest, as the ring thread does; a read that hits the end of a shorter file reads zeros there.
 *
 * <p>Who may touch it: only the owner uses the ring, between {@link #acquire} and {@link #release}.
 * Another thread (the drive's close, or the owner of a new ring reclaiming one whose owner died)
 * may close it only after winning {@link #tryCloseIdle}, which a ring in use never lets it win. The
 * fields the owner writes are published to such a closer by the release store of {@link #state}.
 */
final class LocalRing {
    static final int IDLE = 0;
    static final int BUSY = 1;
    static final int CLOSED = 2;

    final Thread owner;
    /** A ring made for one window only (its thread's ring was lent already): closed with the window. */
    final boolean dedicated;
    /** Requests it holds at most: slots, SQ entries (the CQ has twice as many, so it never overflows). */
    final int capacity;

    private final Ring ring;
    private final AtomicInteger state = new AtomicInteger(IDLE);

    private final int[] ops;
    private final long[] offsets;
    private final long[] addresses;
    private final int[] lengths;
    private final int[] transferred;
    private final int[] results;
    private final long[] tags;
    private final int[] free;
    private int freeCount;
    private final int[] done;
    private int doneHead;
    private int doneCount;
    /** Requests in the kernel or prepared for it, not yet completed. */
    private int inKernel;
    /** SQEs prepared since the last submit. */
    private int unsubmitted;
    /** Lent to an open window (owner only): the thread's batches then go through the ring thread. */
    boolean lent;

    /** For {@link UringDrive#stats()}: written by the owner with opaque stores, read racily. */
    private int depthNow;

    private int depthPeak;
    private static final VarHandle DEPTH_NOW;
    private static final VarHandle DEPTH_PEAK;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            DEPTH_NOW = l.findVarHandle(LocalRing.class, "depthNow", int.class);
            DEPTH_PEAK = l.findVarHandle(LocalRing.class, "depthPeak", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private LocalRing(Thread owner, boolean dedicated, Ring ring) {
        this.owner = owner;
        this.dedicated = dedicated;
        this.ring = ring;
        this.capacity = ring.sqEntries();
        ops = new int[capacity];
        offsets = new long[capacity];
        addresses = new long[capacity];
        lengths = new int[capacity];
        transferred = new int[capacity];
        results = new int[capacity];
        tags = new long[capacity];
        free = new int[capacity];
        done = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            free[i] = capacity - 1 - i;
        }
        freeCount = capacity;
    }

    /**
     * Sets up a ring for the calling thread (which becomes its owner and only submitter) with
     * {@code fd} registered. The flags fall back step by step on kernels that lack them (EINVAL).
     *
     * @throws UringException when no ring can be set up or the fd cannot be registered: the caller
     *     then uses the drive's ring thread
     */
    static LocalRing open(int entries, int fd, boolean dedicated) throws UringException {
        int single = liburing_h.IORING_SETUP_SINGLE_ISSUER();
        int all = liburing_h.IORING_SETUP_SUBMIT_ALL();
        int[] flags = {single | liburing_h.IORING_SETUP_DEFER_TASKRUN() | all, single | all, all, 0};
        Ring ring = null;
        for (int i = 0; ring == null; i++) {
            try {
                ring = Ring.openShared(entries, flags[i]);
            } catch (UringException e) {
                if (e.errno() != Libc.EINVAL || i == flags.length - 1) {
                    throw e;
                }
            }
        }
        try {
            ring.registerFiles(new int[] {fd});
        } catch (UringException | RuntimeException e) {
            ring.close();
            throw e;
        }
        return new LocalRing(Thread.currentThread(), dedicated, ring);
    }

    // ------------------------------------------------------------------ ownership

    /** Owner: takes the ring for a call; false once it was closed (by the drive's close). */
    boolean acquire() {
        return state.compareAndSet(IDLE, BUSY);
    }

    /** Owner: ends the call (a release store: what it wrote is visible to a closer that wins next). */
    void release() {
        state.set(IDLE);
    }

    boolean isClosed() {
        return state.get() == CLOSED;
    }

    /**
     * Any thread: closes the ring if its owner is not using it and nothing of it is in the kernel,
     * or, with {@code force}, whatever the kernel holds (for an owner that died: the kernel finishes
     * or cancels its requests; no caller waits for them any more). True when closed now or before.
     */
    boolean tryCloseIdle(boolean force) {
        if (!state.compareAndSet(IDLE, CLOSED)) {
            return state.get() == CLOSED;
        }
        if (inKernel > 0 && !force) {
            state.set(IDLE);
            return false;
        }
        ring.close();
        return true;
    }

    /**
     * Owner, holding the ring: waits for everything it has in the kernel (their completions stay
     * queued for {@link #poll}), then closes the ring.
     */
    void drainAndClose() {
        try {
            while (inKernel > 0) {
                await(inKernel);
            }
        } finally {
            state.set(CLOSED);
            ring.close();
        }
    }

    // ------------------------------------------------------------------ requests (owner only)

    int freeSlots() {
        return freeCount;
    }

    int inKernel() {
        return inKernel;
    }

    /** Slots taken and not yet freed: in the kernel, or completed and not yet polled and freed. */
    int inUse() {
        return capacity - freeCount;
    }

    /** Takes a free slot for a request that completes at once (no I/O): see {@link #finish}. */
    int slot(int op, long offset, int length, long tag) {
        int s = free[--freeCount];
        ops[s] = op;
        offsets[s] = offset;
        lengths[s] = length;
        tags[s] = tag;
        transferred[s] = 0;
        results[s] = 0;
        return s;
    }

    /** Takes a free slot (there must be one) and prepares its SQE; it goes to the kernel at the next submit or await. */
    void start(int op, long offset, long address, int length, long tag) {
        int s = slot(op, offset, length, tag);
        addresses[s] = address;
        inKernel++;
        prepare(s);
        publishDepth();
    }

    private void prepare(int s) {
        MemorySegment sqe = ring.getSqe();
        if (sqe == null) { // slots == SQ entries, and every submit empties the SQ
            throw new IllegalStateException("d4 invariant violated: no free SQE on a thread's ring with a free slot");
        }
        int t = transferred[s];
        if (ops[s] == UringDrive.OP_READ) {
            liburing_inline.io_uring_prep_read(sqe, 0, addresses[s] + t, lengths[s] - t, offsets[s] + t);
        } else {
            liburing_inline.io_uring_prep_write(sqe, 0, addresses[s] + t, lengths[s] - t, offsets[s] + t);
        }
        liburing_inline.io_uring_sqe_set_flags(sqe, liburing_h.IOSQE_FIXED_FILE());
        liburing_inline.io_uring_sqe_set_data64(sqe, s);
        unsubmitted++;
    }

    /** Queues the slot {@code s} as completed with {@code result} (0, or -errno). */
    void finish(int s, int result) {
        results[s] = result;
        done[(doneHead + doneCount) % capacity] = s;
        doneCount++;
    }

    /** Hands the prepared SQEs to the kernel without waiting. */
    void submit() {
        if (unsubmitted == 0) {
            return;
        }
        for (int attempt = 0; ; attempt++) {
            try {
                ring.submit();
                unsubmitted = 0;
                return;
            } catch (UringException e) {
                retryOrThrow(e, attempt);
            }
        }
    }

    /**
     * Submits what is prepared and waits in the kernel until at least {@code waitNr} requests
     * (at most those in the kernel) completed, then reaps every completion there is.
     */
    void await(int waitNr) {
        int n = Math.min(waitNr, inKernel);
        for (int attempt = 0; ; attempt++) {
            try {
                ring.submitAndWait(n);
                unsubmitted = 0;
                break;
            } catch (UringException e) {
                retryOrThrow(e, attempt);
                reap();
            }
        }
        reap();
    }

    /** EAGAIN/EBUSY (kernel memory, completions to reap first) are retried a while; the rest is a drive failure. */
    private void retryOrThrow(UringException e, int attempt) {
        if ((e.errno() != Libc.EAGAIN && e.errno() != Libc.EBUSY) || attempt >= 100) {
            throw new D4Exception.DriveFailure("io_uring submit on a caller's ring failed: " + e.getMessage(), e);
        }
        Thread.onSpinWait();
    }

    private void reap() {
        int n = ring.cqReady();
        for (int i = 0; i < n; i++) {
            MemorySegment cqe = ring.cqeAt(i);
            progress((int) io_uring_cqe.user_data(cqe), io_uring_cqe.res(cqe));
        }
        ring.cqAdvance(n);
        publishDepth();
    }

    private void progress(int s, int res) {
        if (res == -Libc.EINTR || res == -Libc.EAGAIN) {
            prepare(s);
            return;
        }
        if (res < 0) {
            inKernel--;
            finish(s, res);
            return;
        }
        transferred[s] += res;
        if (transferred[s] >= lengths[s]) {
            inKernel--;
            finish(s, 0);
        } else if (res == 0) {
            inKernel--;
            if (ops[s] == UringDrive.OP_READ) {
                // Past the end of a file shorter than its superblock says: zeros, as the ring thread does.
                MemorySegment.ofAddress(addresses[s] + transferred[s]).reinterpret(lengths[s] - transferred[s])
                        .fill((byte) 0);
                finish(s, 0);
            } else {
                finish(s, -UringDrive.EIO); // a write that makes no progress will not make any
            }
        } else {
            prepare(s); // a short transfer: the rest
        }
    }

    /** The next completed slot, or -1; read it with the accessors, then {@link #freeSlot}. */
    int poll() {
        if (doneCount == 0) {
            return -1;
        }
        int s = done[doneHead];
        doneHead = (doneHead + 1) % capacity;
        doneCount--;
        return s;
    }

    int unsubmitted() {
        return unsubmitted;
    }

    int completed() {
        return doneCount;
    }

    void freeSlot(int s) {
        free[freeCount++] = s;
    }

    long tag(int s) {
        return tags[s];
    }

    int result(int s) {
        return results[s];
    }

    int op(int s) {
        return ops[s];
    }

    long offset(int s) {
        return offsets[s];
    }

    int length(int s) {
        return lengths[s];
    }

    private void publishDepth() {
        DEPTH_NOW.setOpaque(this, inKernel);
        if (inKernel > depthPeak) {
            DEPTH_PEAK.setOpaque(this, inKernel);
        }
    }

    int depthNow() {
        return (int) DEPTH_NOW.getOpaque(this);
    }

    int depthPeak() {
        return (int) DEPTH_PEAK.getOpaque(this);
    }
}
