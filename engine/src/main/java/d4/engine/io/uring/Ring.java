package d4.engine.io.uring;

import static d4.engine.io.uring.liburing_h.C_INT;
import static d4.engine.io.uring.liburing_h.C_LONG;
import static d4.engine.io.uring.liburing_h.C_POINTER;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * One io_uring instance (liburing's {@code struct io_uring}), with the ring-index helpers of
 * liburing.h written in Java: {@link #getSqe} (io_uring_get_sqe), {@link #cqReady}
 * (io_uring_cq_ready), {@link #peekCqe} / {@link #waitCqe} (io_uring_peek_cqe / io_uring_wait_cqe),
 * {@link #cqeAt} (io_uring_for_each_cqe), {@link #cqeSeen} / {@link #cqAdvance}. Submission and
 * blocking waits go through liburing's exported functions. SQEs are filled with
 * {@link liburing_inline}.
 *
 * <p><b>Thread confinement.</b> A Ring belongs to the thread that opened it: all its memory lives
 * in a confined arena, so any use from another thread throws {@link WrongThreadException}, and any
 * use after {@link #close} throws {@link IllegalStateException}. This matches
 * IORING_SETUP_SINGLE_ISSUER (the kernel then also refuses submissions from other tasks). A ring
 * from {@link #openShared} drops the check so that another thread can close it.
 *
 * <p><b>Allocation.</b> SQE and CQE segments are sliced once at open; getSqe, the prep helpers,
 * submit, peek/wait and advance allocate nothing.
 *
 * <p><b>Memory ordering</b>, as liburing 2.3 does it: the CQ tail is read with acquire before the
 * CQEs it covers, the CQ head is published with release after they are consumed, the SQ head is
 * read with acquire (liburing uses a relaxed read unless SQPOLL; acquire costs nothing extra on
 * x86). The SQ tail is published by io_uring_submit from {@code sq.sqe_tail}, which getSqe
 * advances in the struct itself.
 *
 * <p><b>DEFER_TASKRUN.</b> With IORING_SETUP_DEFER_TASKRUN, completions that need task work are
 * posted only when this thread enters the kernel to wait: use {@link #waitCqe} or
 * {@link #submitAndWait}; {@link #peekCqe} alone may keep returning null.
 *
 * <p>SQE128/CQE32 rings are not supported (64-byte SQEs and 16-byte CQEs are assumed).
 */
public final class Ring implements AutoCloseable {
    /** 32-bit kernel-shared ring index; coordinates (MemorySegment, long offset). */
    private static final VarHandle U32 = ValueLayout.JAVA_INT.varHandle();
    private static final int SQE_BYTES = 64;
    private static final int CQE_BYTES = 16;

    private final Arena arena;
    private final MemorySegment ring;
    private final MemorySegment sq;
    private final MemorySegment cqePtr;
    private final MemorySegment sqKhead;
    private final MemorySegment cqKhead;
    private final MemorySegment cqKtail;
    private final MemorySegment[] sqes;
    private final MemorySegment[] cqes;
    private final long cqesAddress;
    private final int sqEntries;
    private final int sqMask;
    private final int cqEntries;
    private final int cqMask;
    private final int features;
    private boolean closed;

    private Ring(Arena arena, MemorySegment ring) {
        this.arena = arena;
        this.ring = ring;
        this.sq = io_uring.sq(ring);
        MemorySegment cq = io_uring.cq(ring);
        this.sqEntries = io_uring_sq.ring_entries(sq);
        this.sqMask = io_uring_sq.ring_mask(sq);
        this.cqEntries = io_uring_cq.ring_entries(cq);
        this.cqMask = io_uring_cq.ring_mask(cq);
        this.features = io_uring.features(ring);
        this.sqKhead = kernelInts(io_uring_sq.khead(sq), 1);
        this.cqKhead = kernelInts(io_uring_cq.khead(cq), 1);
        this.cqKtail = kernelInts(io_uring_cq.ktail(cq), 1);
        MemorySegment sqeArray = io_uring_sq.sqes(sq).reinterpret((long) sqEntries * SQE_BYTES, arena, null);
        this.sqes = new MemorySegment[sqEntries];
        for (int i = 0; i < sqEntries; i++) {
            sqes[i] = sqeArray.asSlice((long) i * SQE_BYTES, SQE_BYTES);
        }
        MemorySegment cqeArray = io_uring_cq.cqes(cq).reinterpret((long) cqEntries * CQE_BYTES, arena, null);
        this.cqesAddress = cqeArray.address();
        this.cqes = new MemorySegment[cqEntries];
        for (int i = 0; i < cqEntries; i++) {
            cqes[i] = cqeArray.asSlice((long) i * CQE_BYTES, CQE_BYTES);
        }
        this.cqePtr = arena.allocate(C_POINTER);
    }

    private MemorySegment kernelInts(MemorySegment pointer, int count) {
        return pointer.reinterpret((long) count * Integer.BYTES, arena, null);
    }

    /**
     * Sets up a ring with io_uring_queue_init_params and checks liburing's struct against the
     * offsets the kernel reported before touching the shared memory (see {@link #selfCheck()}).
     *
     * @param entries SQ size (the kernel rounds up to a power of two; the CQ gets twice as many)
     * @param setupFlags IORING_SETUP_* bits, e.g. SINGLE_ISSUER | DEFER_TASKRUN
     * @throws UringException with the errno (ENOSYS, EPERM, ENOMEM, EINVAL...) when setup fails,
     *     errno 0 when liburing.so.2 is missing or liburing's struct does not match these bindings
     */
    public static Ring open(int entries, int setupFlags) throws UringException {
        return open(entries, setupFlags, false);
    }

    /**
     * As {@link #open}, but the ring's memory lives in a shared arena, so that another thread may
     * {@link #close} it once the owner is done with it: a drive closes the per-thread rings of its
     * callers that way (and those of callers that died). Nothing else changes: the ring must still be
     * used by one thread at a time, and with IORING_SETUP_SINGLE_ISSUER only by the thread that
     * opened it; the caller guarantees that (WrongThreadException no longer does). Closing a shared
     * arena costs a handshake with every thread, which is why this is not the default.
     */
    public static Ring openShared(int entries, int setupFlags) throws UringException {
        return open(entries, setupFlags, true);
    }

    private static Ring open(int entries, int setupFlags, boolean shared) throws UringException {
        if (entries <= 0) {
            throw new IllegalArgumentException("entries must be positive: " + entries);
        }
        if ((setupFlags & (liburing_h.IORING_SETUP_SQE128() | liburing_h.IORING_SETUP_CQE32())) != 0) {
            throw new IllegalArgumentException("SQE128/CQE32 rings are not supported");
        }
        if (!liburing_h.isAvailable()) {
            throw new UringException(liburing_h.LIBRARY + " is not available", 0, liburing_h.loadFailure());
        }
        Arena arena = shared ? Arena.ofShared() : Arena.ofConfined();
        MemorySegment ring = io_uring.allocate(arena);
        boolean initialised = false;
        try {
            MemorySegment params = io_uring_params.allocate(arena);
            io_uring_params.flags(params, setupFlags);
            int r = liburing_h.io_uring_queue_init_params(entries, ring, params);
            if (r < 0) {
                throw UringException.errno("io_uring_queue_init_params(" + entries + ", flags=0x"
                        + Integer.toHexString(setupFlags) + ")", -r);
            }
            initialised = true;
            String mismatch = checkStruct(ring, params, setupFlags);
            if (mismatch == null) {
                mismatch = checkShared(ring, arena);
            }
            if (mismatch != null) {
                throw new UringException("liburing's struct io_uring does not match these bindings: " + mismatch,
                        0, null);
            }
            return new Ring(arena, ring);
        } catch (UringException | RuntimeException e) {
            if (initialised) {
                liburing_h.io_uring_queue_exit(ring);
            }
            arena.close();
            throw e;
        }
    }

    /**
     * Pointer arithmetic only, nothing dereferenced: every k* pointer liburing stored must be the
     * ring mapping's base plus the offset the kernel reported in io_uring_params. If our struct
     * offsets were wrong, these reads would be garbage and the check fails instead of crashing.
     */
    private static String checkStruct(MemorySegment ring, MemorySegment params, int setupFlags) {
        MemorySegment sq = io_uring.sq(ring);
        MemorySegment cq = io_uring.cq(ring);
        MemorySegment so = io_uring_params.sq_off(params);
        MemorySegment co = io_uring_params.cq_off(params);
        int sqEntries = io_uring_params.sq_entries(params);
        int cqEntries = io_uring_params.cq_entries(params);
        StringBuilder why = new StringBuilder();
        expect(why, "params.sq_entries is a power of two", Integer.bitCount(sqEntries) == 1);
        expect(why, "params.cq_entries is a power of two >= sq_entries",
                Integer.bitCount(cqEntries) == 1 && cqEntries >= sqEntries);
        expect(why, "sq.ring_entries == params.sq_entries", io_uring_sq.ring_entries(sq) == sqEntries);
        expect(why, "sq.ring_mask == sq_entries - 1", io_uring_sq.ring_mask(sq) == sqEntries - 1);
        expect(why, "cq.ring_entries == params.cq_entries", io_uring_cq.ring_entries(cq) == cqEntries);
        expect(why, "cq.ring_mask == cq_entries - 1", io_uring_cq.ring_mask(cq) == cqEntries - 1);
        expect(why, "ring.flags == setup flags", io_uring.flags(ring) == setupFlags);
        expect(why, "ring.features == params.features", io_uring.features(ring) == io_uring_params.features(params));
        expect(why, "ring.ring_fd >= 0", io_uring.ring_fd(ring) >= 0);
        expect(why, "ring.enter_ring_fd == ring.ring_fd", io_uring.enter_ring_fd(ring) == io_uring.ring_fd(ring));
        expect(why, "ring.int_flags == 0", io_uring.int_flags(ring) == 0);
        expect(why, "sq.sqe_head == sq.sqe_tail == 0", io_uring_sq.sqe_head(sq) == 0 && io_uring_sq.sqe_tail(sq) == 0);

        long sqBase = io_uring_sq.ring_ptr(sq).address();
        long cqBase = io_uring_cq.ring_ptr(cq).address();
        expect(why, "sq.ring_ptr != NULL", sqBase != 0);
        expect(why, "cq.ring_ptr != NULL", cqBase != 0);
        if ((io_uring.features(ring) & liburing_h.IORING_FEAT_SINGLE_MMAP()) != 0) {
            expect(why, "cq.ring_ptr == sq.ring_ptr (IORING_FEAT_SINGLE_MMAP)", cqBase == sqBase);
        }
        expect(why, "sq.khead", io_uring_sq.khead(sq).address() == sqBase + u32(io_sqring_offsets.head(so)));
        expect(why, "sq.ktail", io_uring_sq.ktail(sq).address() == sqBase + u32(io_sqring_offsets.tail(so)));
        expect(why, "sq.kring_mask",
                io_uring_sq.kring_mask(sq).address() == sqBase + u32(io_sqring_offsets.ring_mask(so)));
        expect(why, "sq.kring_entries",
                io_uring_sq.kring_entries(sq).address() == sqBase + u32(io_sqring_offsets.ring_entries(so)));
        expect(why, "sq.kflags", io_uring_sq.kflags(sq).address() == sqBase + u32(io_sqring_offsets.flags(so)));
        expect(why, "sq.kdropped", io_uring_sq.kdropped(sq).address() == sqBase + u32(io_sqring_offsets.dropped(so)));
        expect(why, "sq.array", io_uring_sq.array(sq).address() == sqBase + u32(io_sqring_offsets.array(so)));
        expect(why, "sq.ring_sz covers the index array",
                io_uring_sq.ring_sz(sq) >= u32(io_sqring_offsets.array(so)) + (long) sqEntries * Integer.BYTES);
        long sqesAddress = io_uring_sq.sqes(sq).address();
        expect(why, "sq.sqes is page aligned", sqesAddress != 0 && (sqesAddress & 4095) == 0);
        expect(why, "cq.khead", io_uring_cq.khead(cq).address() == cqBase + u32(io_cqring_offsets.head(co)));
        expect(why, "cq.ktail", io_uring_cq.ktail(cq).address() == cqBase + u32(io_cqring_offsets.tail(co)));
        expect(why, "cq.kring_mask",
                io_uring_cq.kring_mask(cq).address() == cqBase + u32(io_cqring_offsets.ring_mask(co)));
        expect(why, "cq.kring_entries",
                io_uring_cq.kring_entries(cq).address() == cqBase + u32(io_cqring_offsets.ring_entries(co)));
        expect(why, "cq.koverflow",
                io_uring_cq.koverflow(cq).address() == cqBase + u32(io_cqring_offsets.overflow(co)));
        expect(why, "cq.cqes", io_uring_cq.cqes(cq).address() == cqBase + u32(io_cqring_offsets.cqes(co)));
        long cqFlags = io_uring_cq.kflags(cq).address();
        expect(why, "cq.kflags", io_cqring_offsets.flags(co) == 0 ? cqFlags == 0
                : cqFlags == cqBase + u32(io_cqring_offsets.flags(co)));
        expect(why, "cq.ring_sz covers the CQE array",
                io_uring_cq.ring_sz(cq) >= u32(io_cqring_offsets.cqes(co)) + (long) cqEntries * CQE_BYTES);
        return why.isEmpty() ? null : why.toString();
    }

    /** Dereferences the checked pointers: the kernel's own copies of sizes and indices. */
    private static String checkShared(MemorySegment ring, Arena arena) {
        MemorySegment sq = io_uring.sq(ring);
        MemorySegment cq = io_uring.cq(ring);
        int sqEntries = io_uring_sq.ring_entries(sq);
        StringBuilder why = new StringBuilder();
        expect(why, "*sq.kring_entries == sq.ring_entries", kernelInt(io_uring_sq.kring_entries(sq)) == sqEntries);
        expect(why, "*sq.kring_mask == sq.ring_mask",
                kernelInt(io_uring_sq.kring_mask(sq)) == io_uring_sq.ring_mask(sq));
        expect(why, "*cq.kring_entries == cq.ring_entries",
                kernelInt(io_uring_cq.kring_entries(cq)) == io_uring_cq.ring_entries(cq));
        expect(why, "*cq.kring_mask == cq.ring_mask",
                kernelInt(io_uring_cq.kring_mask(cq)) == io_uring_cq.ring_mask(cq));
        expect(why, "*sq.khead == *sq.ktail == 0",
                kernelInt(io_uring_sq.khead(sq)) == 0 && kernelInt(io_uring_sq.ktail(sq)) == 0);
        expect(why, "*cq.khead == *cq.ktail == 0",
                kernelInt(io_uring_cq.khead(cq)) == 0 && kernelInt(io_uring_cq.ktail(cq)) == 0);
        MemorySegment array = io_uring_sq.array(sq).reinterpret((long) sqEntries * Integer.BYTES, arena, null);
        boolean identity = true;
        for (int i = 0; i < sqEntries && identity; i++) {
            identity = array.getAtIndex(C_INT, i) == i;
        }
        expect(why, "sq.array[i] == i (filled by io_uring_queue_init)", identity);
        return why.isEmpty() ? null : why.toString();
    }

    private static int kernelInt(MemorySegment pointer) {
        return (int) U32.getAcquire(pointer.reinterpret(Integer.BYTES), 0L);
    }

    private static long u32(int value) {
        return Integer.toUnsignedLong(value);
    }

    private static void expect(StringBuilder why, String what, boolean ok) {
        if (!ok) {
            why.append(why.isEmpty() ? "" : "; ").append(what);
        }
    }

    // ---------------------------------------------------------------- submission

    /**
     * io_uring_get_sqe: the next free SQE, or {@code null} when all {@link #sqEntries()} are taken
     * and not yet consumed by the kernel (call {@link #submit} first). The SQE holds stale data
     * until a prep helper fills it; every SQE taken must be filled before the next submit.
     */
    public MemorySegment getSqe() {
        int tail = io_uring_sq.sqe_tail(sq);
        int next = tail + 1;
        int head = (int) U32.getAcquire(sqKhead, 0L);
        if (Integer.compareUnsigned(next - head, sqEntries) <= 0) {
            io_uring_sq.sqe_tail(sq, next);
            return sqes[tail & sqMask];
        }
        return null;
    }

    /**
     * io_uring_submit: hands the prepared SQEs to the kernel.
     *
     * @return how many were submitted
     * @throws UringException e.g. EBUSY when completions overflowed and must be reaped first
     */
    public int submit() throws UringException {
        int r = liburing_h.io_uring_submit(ring);
        if (r < 0) {
            throw UringException.errno("io_uring_submit", -r);
        }
        return r;
    }

    /**
     * io_uring_submit_and_wait: submits, then blocks until at least {@code waitNr} completions are
     * ready (retried when a signal interrupts the wait).
     *
     * @return how many SQEs were submitted
     */
    public int submitAndWait(int waitNr) throws UringException {
        for (;;) {
            int r = liburing_h.io_uring_submit_and_wait(ring, waitNr);
            if (r >= 0) {
                return r;
            }
            if (r != -Libc.EINTR) {
                throw UringException.errno("io_uring_submit_and_wait", -r);
            }
        }
    }

    // ---------------------------------------------------------------- completion

    /** io_uring_cq_ready: how many CQEs are ready to be reaped. */
    public int cqReady() {
        return (int) U32.getAcquire(cqKtail, 0L) - cqKhead.get(C_INT, 0L);
    }

    /**
     * The {@code i}-th ready CQE counting from the CQ head, for {@code 0 <= i < cqReady()}: the
     * io_uring_for_each_cqe idiom. Reap a batch with cqReady, cqeAt(0..n-1), then cqAdvance(n).
     */
    public MemorySegment cqeAt(int i) {
        return cqes[(cqKhead.get(C_INT, 0L) + i) & cqMask];
    }

    /**
     * io_uring_peek_cqe: the CQE at the head if one is ready, else {@code null}. Does not block;
     * when none is ready it calls into liburing once, which enters the kernel only if completions
     * are waiting to be flushed (CQ overflow, IORING_SQ_TASKRUN).
     */
    public MemorySegment peekCqe() throws UringException {
        MemorySegment cqe = peekReady();
        if (cqe != null) {
            return cqe;
        }
        int r = liburing_h.__io_uring_get_cqe(ring, cqePtr, 0, 0, MemorySegment.NULL);
        if (r == 0) {
            return fromPointer();
        }
        if (r == -Libc.EAGAIN || r == -Libc.EINTR) {
            return null;
        }
        throw UringException.errno("io_uring_peek_cqe", -r);
    }

    /**
     * io_uring_wait_cqe: the CQE at the head, blocking until one is ready. Blocks for ever if
     * nothing is in flight.
     */
    public MemorySegment waitCqe() throws UringException {
        MemorySegment cqe = peekReady();
        while (cqe == null) {
            int r = liburing_h.__io_uring_get_cqe(ring, cqePtr, 0, 1, MemorySegment.NULL);
            if (r == 0) {
                cqe = fromPointer();
            } else if (r != -Libc.EINTR) {
                throw UringException.errno("io_uring_wait_cqe", -r);
            }
        }
        return cqe;
    }

    /** io_uring_cqe_seen: the CQE from peekCqe/waitCqe has been consumed; its slot goes back to the kernel. */
    public void cqeSeen(MemorySegment cqe) {
        if (cqe != null) {
            cqAdvance(1);
        }
    }

    /** io_uring_cq_advance: {@code n} CQEs have been consumed (store-release of the CQ head). */
    public void cqAdvance(int n) {
        if (n != 0) {
            U32.setRelease(cqKhead, 0L, cqKhead.get(C_INT, 0L) + n);
        }
    }

    /** __io_uring_peek_cqe without the downcall: acquire the CQ tail, then look at the head. */
    private MemorySegment peekReady() throws UringException {
        for (;;) {
            int tail = (int) U32.getAcquire(cqKtail, 0L);
            int head = cqKhead.get(C_INT, 0L);
            if (tail == head) {
                return null;
            }
            MemorySegment cqe = cqes[head & cqMask];
            if ((features & liburing_h.IORING_FEAT_EXT_ARG()) == 0
                    && io_uring_cqe.user_data(cqe) == liburing_h.LIBURING_UDATA_TIMEOUT()) {
                // liburing's internal timeout CQE on kernels without EXT_ARG: consume it.
                int res = io_uring_cqe.res(cqe);
                cqAdvance(1);
                if (res < 0) {
                    throw UringException.errno("io_uring_peek_cqe (internal timeout)", -res);
                }
                continue;
            }
            return cqe;
        }
    }

    /** The pre-sliced CQE that liburing's {@code *cqe_ptr} points at. */
    private MemorySegment fromPointer() {
        long address = cqePtr.get(C_LONG, 0L);
        return address == 0 ? null : cqes[(int) ((address - cqesAddress) / CQE_BYTES)];
    }

    // ---------------------------------------------------------------- registration and info

    /**
     * io_uring_register_buffers: registers {@code n} buffers described by an {@link iovec} array, for
     * READ_FIXED/WRITE_FIXED (buf_index = position in the array). The buffers must stay allocated
     * until the ring is closed.
     */
    public void registerBuffers(MemorySegment iovecs, int n) throws UringException {
        if (n <= 0 || iovecs.byteSize() < (long) n * iovec.sizeof()) {
            throw new IllegalArgumentException("need " + n + " iovecs, got " + iovecs.byteSize() + " bytes");
        }
        int r = liburing_h.io_uring_register_buffers(ring, iovecs, n);
        if (r < 0) {
            throw UringException.errno("io_uring_register_buffers", -r);
        }
    }

    /**
     * io_uring_register_files: registers fds for IOSQE_FIXED_FILE, where an SQE's fd is then the
     * index in {@code fds}. The ring holds its own references: closing an fd does not unregister it.
     */
    public void registerFiles(int[] fds) throws UringException {
        if (fds.length == 0) {
            throw new IllegalArgumentException("no fds");
        }
        try (Arena tmp = Arena.ofConfined()) {
            int r = liburing_h.io_uring_register_files(ring, tmp.allocateFrom(C_INT, fds), fds.length);
            if (r < 0) {
                throw UringException.errno("io_uring_register_files", -r);
            }
        }
    }

    /** The io_uring file descriptor (e.g. for diagnostics, or as IORING_OP_MSG_RING target). */
    public int ringFd() {
        return io_uring.ring_fd(ring);
    }

    /** SQ size: at most this many SQEs can be prepared between submits. */
    public int sqEntries() {
        return sqEntries;
    }

    /**
     * CQ size: keep fewer requests than this in flight, or completions overflow into the kernel's
     * backlog (IORING_FEAT_NODROP) and submit may fail with EBUSY.
     */
    public int cqEntries() {
        return cqEntries;
    }

    /**
     * The {@code struct io_uring} itself, for liburing_h calls Ring does not wrap (eventfd,
     * io-wq affinity and worker limits). Confined and closed with the ring.
     */
    public MemorySegment struct() {
        return ring;
    }

    /**
     * io_uring_queue_exit, then frees the ring's memory. Idempotent; owner thread only (any one
     * thread for a ring from {@link #openShared}, while no other uses it).
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        ring.get(C_INT, 0L); // fails with WrongThreadException before anything is torn down
        closed = true;
        liburing_h.io_uring_queue_exit(ring);
        arena.close();
    }

    // ---------------------------------------------------------------- self-check

    /**
     * The outcome of {@link #selfCheck}: {@code ok}, or why io_uring must not be used. {@code features}
     * are the IORING_FEAT_* bits the kernel reported (0 when no ring could be set up).
     */
    public record SelfCheck(boolean ok, String reason, int features) {
        static SelfCheck failed(String reason) {
            return new SelfCheck(false, reason, 0);
        }
    }

    /** {@link #selfCheck(int)} with no setup flags. */
    public static SelfCheck selfCheck() {
        return selfCheck(0);
    }

    /**
     * What the engine runs at start-up before trusting these hand-written layouts: sets up a ring
     * with {@code setupFlags} (which checks every k* pointer against the kernel's offsets and the
     * kernel's copies of the ring sizes, see {@link #open}), then submits a NOP with user_data
     * 0x5eed and checks that its CQE comes back with that user_data and res 0, and that the ring
     * indices moved by exactly one on both sides. Never throws.
     */
    public static SelfCheck selfCheck(int setupFlags) {
        if (!liburing_h.isAvailable()) {
            return SelfCheck.failed(liburing_h.LIBRARY + " is not available: " + liburing_h.loadFailure());
        }
        try (Ring r = open(8, setupFlags)) {
            String why = r.nopRoundTrip(0x5eedL);
            return why == null ? new SelfCheck(true, "ok", r.features) : SelfCheck.failed(why);
        } catch (UringException e) {
            return SelfCheck.failed(e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            return SelfCheck.failed(e.toString());
        }
    }

    private String nopRoundTrip(long userData) throws UringException {
        MemorySegment cq = io_uring.cq(ring);
        StringBuilder why = new StringBuilder();
        MemorySegment sqe = getSqe();
        if (sqe == null) {
            return "io_uring_get_sqe returned NULL on an empty ring";
        }
        expect(why, "the first SQE is sqes[0]", sqe.address() == io_uring_sq.sqes(sq).address());
        liburing_inline.io_uring_prep_nop(sqe);
        liburing_inline.io_uring_sqe_set_data64(sqe, userData);
        expect(why, "sq.sqe_tail == 1 after one get_sqe", io_uring_sq.sqe_tail(sq) == 1);
        int submitted = submit();
        expect(why, "io_uring_submit returned 1 (got " + submitted + ")", submitted == 1);
        expect(why, "sq.sqe_head == 1 after submit", io_uring_sq.sqe_head(sq) == 1);
        expect(why, "*sq.ktail == 1 after submit", kernelInt(io_uring_sq.ktail(sq)) == 1);
        if ((io_uring.flags(ring) & liburing_h.IORING_SETUP_SQPOLL()) == 0) {
            expect(why, "*sq.khead == 1 after submit", kernelInt(io_uring_sq.khead(sq)) == 1);
        }
        MemorySegment cqe = waitCqe();
        expect(why, "cqe.user_data == 0x" + Long.toHexString(userData) + " (got 0x"
                + Long.toHexString(io_uring_cqe.user_data(cqe)) + ")", io_uring_cqe.user_data(cqe) == userData);
        expect(why, "cqe.res == 0 (got " + io_uring_cqe.res(cqe) + ")", io_uring_cqe.res(cqe) == 0);
        expect(why, "the CQE is cqes[0]", cqe.address() == io_uring_cq.cqes(cq).address());
        expect(why, "io_uring_cq_ready == 1", cqReady() == 1);
        cqeSeen(cqe);
        expect(why, "io_uring_cq_ready == 0 after cqe_seen", cqReady() == 0);
        expect(why, "*cq.khead == 1 after cqe_seen", kernelInt(io_uring_cq.khead(cq)) == 1);
        expect(why, "*cq.ktail == 1", kernelInt(io_uring_cq.ktail(cq)) == 1);
        return why.isEmpty() ? null : why.toString();
    }
}
