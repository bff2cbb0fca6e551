package d4.engine.io;

import d4.engine.D4Exception;
import d4.engine.io.uring.CpuAffinity;
import d4.engine.io.uring.Libc;
import d4.engine.io.uring.Ring;
import d4.engine.io.uring.UringException;
import d4.engine.io.uring.io_uring_cqe;
import d4.engine.io.uring.liburing_h;
import d4.engine.io.uring.liburing_inline;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A drive served by io_uring from one ring thread pinned to a CPU.
 *
 * <p>Callers (FUSE worker threads, the journal) fill a preallocated request slot, hand its index to
 * the ring thread through a bounded lock-free queue, and wait for it cheaply: a short spin, then
 * park. The ring thread owns the ring (IORING_SETUP_SINGLE_ISSUER): it drains the queue into SQEs
 * (user_data = slot index, so nothing is allocated per I/O), submits them in one call, reaps the
 * completions and wakes the callers. When it has nothing to do it blocks in the kernel; a pending
 * read on an eventfd lets callers wake it with one write. Short transfers and EINTR/EAGAIN are
 * resubmitted for the rest; errors travel back in the slot as -errno.
 *
 * <p>{@link #submit(IoBatch)} and {@link #openWindow(int)} run on a ring of the calling thread's
 * own ({@link LocalRing}, set up on its first batch, SINGLE_ISSUER | DEFER_TASKRUN): the caller
 * submits and waits in the kernel in one io_uring_submit_and_wait, and its completions wake it
 * directly. Through the ring thread, a batch cost a hand-over and a cross-CPU wake-up of the
 * caller by the ring thread, which kept one thread with 16 or 64 reads in flight at about 0.7-0.8
 * of fio (docs/benchmarks.md, "Drive batches"). Single read, write and flush calls stay with the
 * ring thread: they come from many threads at once, which it gathers into one ring, and flushes
 * are group commits there. A drive keeps at most {@link #MAX_THREAD_RINGS} rings of callers
 * (closed with the drive; those of threads that died are closed when another is set up); a thread
 * beyond that, a virtual thread (it may change carrier threads, and the ring admits one submitter)
 * or a host where such a ring cannot be set up uses the ring thread: its slots are chained, so the
 * ring thread takes the whole wave from one queue entry and submits it in one io_uring_submit, and
 * the caller waits once, for the wave's last completion.
 *
 * <p>Flushes are group commits: every flush that arrives while an fsync is in flight waits for one
 * more fsync, issued once the current one completes, so N concurrent flushers cost at most two
 * device flushes, not N.
 *
 * <p>{@link #stats()} reports the ring's depth: the ring thread publishes how many requests it has in
 * the kernel after each batch it queues and each batch of completions it reaps (an opaque store of
 * an int it owns: no fence, no lock, nothing per I/O), and keeps the peak the same way.
 *
 * <p>The volume is opened with O_DIRECT where the file system allows it (d4 caches nothing it does
 * not need, and the page cache would hold a second copy of every block); buffers that are not
 * native or not 4096-aligned are bounced through an aligned copy (never on d4's own hot paths).
 */
public final class UringDrive implements Drive {
    private static final System.Logger LOG = System.getLogger("d4.engine.io");
    private static final int SLOTS = 256;
    private static final int RING_ENTRIES = 256;
    /**
     * How long a caller spins on its request, and the ring thread on its queue and completions,
     * before blocking: a park/unpark or an eventfd wake-up costs tens of microseconds here, about
     * as much as an NVMe read, so a short spin pays at queue depth 1. Spinning only follows work.
     */
    private static final long SPIN_NANOS = 100_000;

    /** With I/O in flight the ring thread spins for its completion this long before sleeping. */
    private static final long IN_FLIGHT_SPIN_NANOS = 200_000;

    /**
     * A caller spins longer: one SSD read's worth, so that at queue depth 1 no wake-up is paid. Only
     * a few callers may spin at once (half the CPUs, at least one): at high queue depth spinning
     * callers would starve the ring thread, and there the ring's batching hides the wake-ups.
     */
    private static final long CALLER_SPIN_NANOS = 100_000;

    private static final int MAX_SPINNING_CALLERS = Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    private final AtomicInteger spinningCallers = new AtomicInteger();
    private static final long EVENTFD_TAG = -1L;
    private static final long FSYNC_TAG = -2L;
    static final int OP_READ = 1;
    static final int OP_WRITE = 2;
    private static final int OP_FLUSH = 3;
    private static final int ENOSPC = 28;
    private static final int EDQUOT = 122;
    static final int EIO = 5;

    /** Entries of a caller thread's own ring (the most one batch wave or one window holds). */
    static final int THREAD_RING_ENTRIES = 128;

    /**
     * The most rings of callers one drive keeps: FUSE workers, the checkpoint and a few others
     * submit batches; beyond that a thread's batches go through the ring thread, as before. Each
     * ring is an fd and some locked kernel memory.
     */
    static final int MAX_THREAD_RINGS = 32;

    private static final AtomicInteger NEXT_CPU = new AtomicInteger();
    private static final AtomicBoolean PIN_WARNED = new AtomicBoolean();

    /**
     * The most request slots one batch holds at a time: a larger batch goes in waves, and single
     * callers (the journal's flush among them) always find a slot while a checkpoint's batch runs.
     */
    private static final int MAX_WAVE = SLOTS / 2;

    /** One request; slots are allocated once and reused, so an I/O allocates nothing. */
    private static final class Request {
        int op;
        long offset;
        long address;
        int length;
        int transferred; // ring thread only
        int result;
        volatile int state; // 0 pending, 1 done
        volatile Thread waiter;
        /** The batch this request belongs to (its caller waits on the batch, not here), or null. */
        IoBatch batch;
        /**
         * The next slot of the same batch wave, or -1: a wave is handed over as one queue entry (its
         * first slot), so the ring thread takes all of it at once and submits it in one call.
         */
        int next = -1;
    }

    private final Path path;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final int fd;
    private final int eventFd;
    private final boolean direct;
    private final long sizeBytes;
    private final int alignmentBytes;
    private final Request[] slots = new Request[SLOTS];
    private final SlotQueue free = new SlotQueue(SLOTS);
    private final SlotQueue submitted = new SlotQueue(SLOTS);
    private final Thread ringThread;
    private final CountDownLatch started = new CountDownLatch(1);
    private volatile Throwable ringFailure;
    private volatile boolean sleeping;
    private volatile boolean closing;
    private volatile boolean closed;
    private final int cpu;

    /**
     * The rings of caller threads ({@link LocalRing}): at most {@link #MAX_THREAD_RINGS}, found by
     * a scan of this small copy-on-write array (no ThreadLocal: nothing of the drive stays in a
     * thread's map after the drive is gone). Changed under {@link #threadRingsLock}.
     */
    private volatile LocalRing[] threadRings = new LocalRing[0];

    private final Object threadRingsLock = new Object();
    /** Set when a thread's ring could not be set up: then every caller uses the ring thread. */
    private volatile boolean threadRingsUnavailable;
    private final int maxThreadRings;

    /**
     * The ring's figures for {@link #stats()}: written by the ring thread only, with opaque stores
     * (a plain store the JIT may not drop or defer), read racily by status.
     */
    private int depthNow;

    private int depthPeak;
    /** Entries of the submission queue as the kernel set it up; written before {@link #started} opens. */
    private int sqEntries;

    private static final VarHandle DEPTH_NOW;
    private static final VarHandle DEPTH_PEAK;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            DEPTH_NOW = l.findVarHandle(UringDrive.class, "depthNow", int.class);
            DEPTH_PEAK = l.findVarHandle(UringDrive.class, "depthPeak", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private UringDrive(Path path, FileChannel lockChannel, FileLock lock, int fd, int eventFd, boolean direct,
            long sizeBytes, int alignmentBytes, int cpu, int maxThreadRings) {
        this.maxThreadRings = maxThreadRings;
        this.path = path;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.fd = fd;
        this.eventFd = eventFd;
        this.direct = direct;
        this.sizeBytes = sizeBytes;
        this.alignmentBytes = alignmentBytes;
        this.cpu = cpu;
        for (int i = 0; i < SLOTS; i++) {
            slots[i] = new Request();
            free.offer(i);
        }
        String name = path.getFileName() == null ? path.toString() : path.getFileName().toString();
        this.ringThread = Thread.ofPlatform().name("d4-ring-" + name).daemon(true).unstarted(this::ringLoop);
    }

    /**
     * Opens a volume file and starts its ring thread.
     *
     * @throws UringException when io_uring cannot be used here (no liburing, ENOSYS, EPERM from a
     *     seccomp filter or kernel.io_uring_disabled, a failed self-check): the caller falls back
     */
    public static UringDrive open(Path path, int alignmentBytes) throws UringException {
        return open(path, alignmentBytes, MAX_THREAD_RINGS);
    }

    /** As {@link #open(Path, int)}, with at most {@code maxThreadRings} rings of callers (tests: 0 for none). */
    static UringDrive open(Path path, int alignmentBytes, int maxThreadRings) throws UringException {
        Ring.SelfCheck check = SelfCheckOnce.RESULT;
        if (!check.ok()) {
            throw new UringException("io_uring self-check failed: " + check.reason(), 0);
        }
        FileChannel channel = ChannelDrive.openChannel(path);
        FileLock lock = ChannelDrive.lock(path, channel);
        int fd = -1;
        int efd = -1;
        try {
            long size = channel.size();
            boolean direct = true;
            fd = Libc.open(path.toString(), Libc.O_RDWR | Libc.O_CLOEXEC | Libc.O_DIRECT, 0);
            if (fd == -Libc.EINVAL) { // the file system has no O_DIRECT (tmpfs): use its page cache
                direct = false;
                fd = Libc.open(path.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
            }
            if (fd < 0) {
                throw new D4Exception.PoolUnavailable("cannot open volume " + path + ": " + Libc.errnoName(-fd));
            }
            efd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
            if (efd < 0) {
                throw new UringException("eventfd failed", -efd);
            }
            UringDrive drive = new UringDrive(path, channel, lock, fd, efd, direct, size, alignmentBytes, pickCpu(),
                    maxThreadRings);
            drive.start();
            return drive;
        } catch (IOException | RuntimeException e) {
            if (fd >= 0) {
                Libc.close(fd);
            }
            if (efd >= 0) {
                Libc.close(efd);
            }
            try {
                lock.release();
                channel.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof UringException u) {
                throw u;
            }
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new D4Exception.PoolUnavailable("cannot open volume " + path + ": " + e.getMessage(), e);
        }
    }

    /** Runs liburing's layout self-check once per process, before any drive trusts the bindings. */
    private static final class SelfCheckOnce {
        static final Ring.SelfCheck RESULT = liburing_h.isAvailable()
                ? Ring.selfCheck()
                : new Ring.SelfCheck(false, "liburing.so.2 cannot be loaded: " + liburing_h.loadFailure(), 0);
    }

    /** Whether io_uring works here (liburing loads, a ring can be set up, the layouts check out). */
    public static Ring.SelfCheck probe() {
        return SelfCheckOnce.RESULT;
    }

    private static int pickCpu() {
        BitSet allowed = CpuAffinity.allowedCpus();
        int count = allowed.cardinality();
        if (count == 0) {
            return -1;
        }
        int k = Math.floorMod(NEXT_CPU.getAndIncrement(), count);
        int cpu = allowed.nextSetBit(0);
        for (int i = 0; i < k; i++) {
            cpu = allowed.nextSetBit(cpu + 1);
        }
        return cpu;
    }

    private void start() throws UringException {
        ringThread.start();
        try {
            if (!started.await(30, TimeUnit.SECONDS)) {
                closing = true; // the thread, if it ever gets going, stops before touching the volume
                throw new UringException("the ring thread of " + path + " did not start within 30 s", 0);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UringException("interrupted while starting the ring thread of " + path, 0);
        }
        Throwable f = ringFailure;
        if (f != null) {
            if (f instanceof UringException u) {
                throw u;
            }
            throw new UringException("the ring thread of " + path + " failed to start: " + f, 0);
        }
    }

    @Override
    public String engine() {
        return "io_uring";
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public int alignmentBytes() {
        return alignmentBytes;
    }

    /** Whether the volume is open with O_DIRECT. */
    public boolean isDirect() {
        return direct;
    }

    /** The CPU the ring thread was pinned to (-1 if none). */
    public int cpu() {
        return cpu;
    }

    /**
     * The ring thread's ring and the rings of callers; the ring thread's submission queue size;
     * requests in the kernel now (all rings), and the most that one ring held at once since open.
     */
    @Override
    public DriveStats stats() {
        int rings = 1;
        int now = (int) DEPTH_NOW.getOpaque(this);
        int peak = (int) DEPTH_PEAK.getOpaque(this);
        for (LocalRing r : threadRings) {
            rings++;
            now += r.depthNow();
            peak = Math.max(peak, r.depthPeak());
        }
        return new DriveStats(rings, sqEntries, now, peak);
    }

    /** Ring thread: publishes how many requests the kernel holds (reads, writes, the group fsync). */
    private void publishDepth() {
        int depth = inFlight + (fsyncInFlight ? 1 : 0);
        DEPTH_NOW.setOpaque(this, depth);
        if (depth > depthPeak) {
            DEPTH_PEAK.setOpaque(this, depth);
        }
    }

    @Override
    public void read(long offsetBytes, MemorySegment dst) {
        checkRange(offsetBytes, dst.byteSize());
        if (dst.byteSize() == 0) {
            return;
        }
        if (usable(dst)) {
            execute(OP_READ, offsetBytes, dst.address(), (int) dst.byteSize());
        } else {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bounce = arena.allocate(dst.byteSize(), alignmentBytes);
                execute(OP_READ, offsetBytes, bounce.address(), (int) dst.byteSize());
                dst.copyFrom(bounce);
            }
        }
    }

    @Override
    public void write(long offsetBytes, MemorySegment src) {
        checkRange(offsetBytes, src.byteSize());
        if (src.byteSize() == 0) {
            return;
        }
        if (usable(src)) {
            execute(OP_WRITE, offsetBytes, src.address(), (int) src.byteSize());
        } else {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bounce = arena.allocate(src.byteSize(), alignmentBytes);
                bounce.copyFrom(src);
                execute(OP_WRITE, offsetBytes, bounce.address(), (int) src.byteSize());
            }
        }
    }

    @Override
    public void flush() {
        execute(OP_FLUSH, 0, 0, 0);
    }

    boolean usable(MemorySegment s) {
        return s.isNative() && s.address() % alignmentBytes == 0 && s.byteSize() <= Integer.MAX_VALUE;
    }

    private void execute(int op, long offset, long address, int length) {
        if (closing) {
            throw closedFailure();
        }
        int idx;
        while ((idx = free.poll()) < 0) {
            Thread.yield(); // more callers than slots: rare, and bounded by the slot count
        }
        Request r = slots[idx];
        r.op = op;
        r.offset = offset;
        r.address = address;
        r.length = length;
        r.transferred = 0;
        r.result = 0;
        r.state = 0;
        r.batch = null;
        r.next = -1;
        while (!submitted.offer(idx)) {
            Thread.yield(); // cannot happen: the queue holds every slot
        }
        if (sleeping) {
            Libc.eventfdSignal(eventFd);
        }
        boolean spin = spinningCallers.incrementAndGet() <= MAX_SPINNING_CALLERS;
        long spinUntil = spin ? System.nanoTime() + CALLER_SPIN_NANOS : 0;
        while (r.state == 0) {
            if (spin && System.nanoTime() < spinUntil) {
                // Yield, not just pause: the caller may share a CPU with the pinned ring thread,
                // which must run for the request to complete.
                Thread.yield();
            } else {
                r.waiter = Thread.currentThread();
                if (r.state == 0) {
                    LockSupport.parkNanos(this, 100_000_000L);
                    if (r.state == 0 && !ringThread.isAlive()) {
                        // The ring thread is gone (failed, or closed as we queued): nobody will
                        // complete this request. Its ring was torn down, so no I/O still targets r.
                        r.result = -EIO;
                        r.state = 1;
                    }
                }
            }
        }
        spinningCallers.decrementAndGet();
        r.waiter = null;
        int result = r.result;
        free.offer(idx);
        if (result < 0) {
            throw failure(op, offset, length, -result);
        }
    }

    /**
     * Puts the batch's requests in the ring together, in waves of at most {@link #MAX_WAVE} slots
     * (fewer when other callers hold slots): each wave is one hand-over, one wake-up of the ring
     * thread at most, one io_uring_submit, and one wait for its last completion. Buffers the ring
     * cannot use directly (on the heap, misaligned) are bounced one by one afterwards, as read and
     * write do; d4's own batches never have them.
     */
    @Override
    public void submit(IoBatch batch) {
        batch.checkAll(this);
        batch.begin();
        try {
            LocalRing r = batch.size() == 0 || closing ? null : threadRing(false);
            if (r != null && r.acquire()) {
                try {
                    runOnThreadRing(batch, r);
                } finally {
                    r.release();
                }
            } else {
                runBatch(batch);
            }
        } finally {
            batch.end();
        }
    }

    /**
     * A window of up to {@code depth} requests on the calling thread's own ring; where the thread
     * may not have one (a virtual thread, {@link #MAX_THREAD_RINGS} reached, rings unavailable),
     * the synchronous window of {@link Drive#openWindow}, through the ring thread.
     */
    @Override
    public IoWindow openWindow(int depth) {
        UringWindow.checkDepth(depth);
        if (closing) {
            throw closedFailure();
        }
        LocalRing r = threadRing(true);
        if (r == null) {
            return Drive.super.openWindow(depth);
        }
        r.lent = true;
        return new UringWindow(this, r, depth);
    }

    /**
     * The calling thread's own ring for a batch, or (with {@code forWindow}) for a window, set up on
     * first use; null when the thread may not have one: a virtual thread (it may move between
     * carrier threads, and the ring admits one submitting task), the ring thread, a drive closing,
     * the cap reached, or rings that cannot be set up here. A thread's ring lent to an open window
     * serves no batch (null: the ring thread serves it); a second window gets a ring of its own.
     */
    private LocalRing threadRing(boolean forWindow) {
        if (maxThreadRings == 0 || threadRingsUnavailable) {
            return null;
        }
        Thread t = Thread.currentThread();
        for (LocalRing r : threadRings) {
            if (r.owner == t && !r.dedicated) {
                if (!r.lent) {
                    return r;
                }
                return forWindow ? newThreadRing(t, true) : null;
            }
        }
        if (t.isVirtual() || t == ringThread) {
            return null;
        }
        return newThreadRing(t, false);
    }

    private LocalRing newThreadRing(Thread t, boolean dedicated) {
        synchronized (threadRingsLock) {
            if (closing) {
                return null;
            }
            reclaimRingsOfDeadThreads();
            LocalRing[] rings = threadRings;
            if (rings.length >= maxThreadRings) {
                return null;
            }
            LocalRing r;
            try {
                r = LocalRing.open(THREAD_RING_ENTRIES, fd, dedicated);
            } catch (UringException | RuntimeException e) {
                threadRingsUnavailable = true;
                LOG.log(Level.WARNING, "cannot set up an io_uring ring for thread {0} on {1} ({2}); its batches and"
                        + " windows, and those of every thread, go through the ring thread", t.getName(), path,
                        e.getMessage());
                return null;
            }
            LocalRing[] more = Arrays.copyOf(rings, rings.length + 1);
            more[rings.length] = r;
            threadRings = more;
            return r;
        }
    }

    /**
     * Closes the rings of threads that died (a thread has no hook that runs when it ends): checked
     * whenever a ring is added, so that dead threads hold at most the cap until the next one comes,
     * and at the drive's close. Their requests finished with the thread (a batch returns only when
     * its requests completed; a window's owner could leave some, which the kernel finishes or cancels).
     */
    private void reclaimRingsOfDeadThreads() {
        LocalRing[] rings = threadRings;
        int alive = 0;
        LocalRing[] kept = new LocalRing[rings.length];
        for (LocalRing r : rings) {
            if (r.owner.isAlive() || !r.tryCloseIdle(true)) {
                kept[alive++] = r;
            }
        }
        if (alive != rings.length) {
            threadRings = Arrays.copyOf(kept, alive);
        }
    }

    /** A window gave its ring back: a thread's ring is lent no more, a window's own ring is closed. */
    void windowClosed(LocalRing r) {
        if (!r.dedicated) {
            r.lent = false;
            return;
        }
        synchronized (threadRingsLock) {
            r.tryCloseIdle(false); // its owner just drained it: nothing in the kernel
            removeThreadRing(r);
        }
    }

    private void removeThreadRing(LocalRing r) {
        LocalRing[] rings = threadRings;
        for (int i = 0; i < rings.length; i++) {
            if (rings[i] == r) {
                LocalRing[] fewer = new LocalRing[rings.length - 1];
                System.arraycopy(rings, 0, fewer, 0, i);
                System.arraycopy(rings, i + 1, fewer, i, rings.length - i - 1);
                threadRings = fewer;
                return;
            }
        }
    }

    /**
     * Runs a batch on the caller's own ring: starts as many requests as the ring holds, then waits
     * in the kernel (submit and wait in one call) for all of them when the batch is all started, or
     * for a quarter of them to refill otherwise. The kernel wakes the caller; the ring thread is not
     * involved. Failures and bounced buffers are handled as in {@link #runBatch}.
     */
    private void runOnThreadRing(IoBatch batch, LocalRing r) {
        int n = batch.size();
        D4Exception first = null;
        int firstIndex = n;
        int next = 0;
        boolean bounce = false;
        while (true) {
            while (next < n && r.freeSlots() > 0) {
                if (closing) { // as runBatch: nothing from next on is started
                    first = closedFailure();
                    firstIndex = next;
                    n = next;
                    break;
                }
                MemorySegment s = batch.segment(next);
                if (s.byteSize() == 0 || !usable(s)) {
                    batch.slots[next++] = s.byteSize() == 0 ? NO_SLOT : BOUNCE;
                    bounce |= s.byteSize() != 0;
                    continue;
                }
                batch.slots[next] = 0;
                r.start(batch.isWrite(next) ? OP_WRITE : OP_READ, batch.offsetBytes(next), s.address(),
                        (int) s.byteSize(), next);
                next++;
            }
            if (r.inKernel() == 0) {
                break; // every slot is free again (completions are taken below), so all is started
            }
            r.await(next < n ? Math.max(1, r.inKernel() / 4) : r.inKernel());
            int s;
            while ((s = r.poll()) >= 0) {
                int result = r.result(s);
                int index = (int) r.tag(s);
                if (result < 0 && index < firstIndex) {
                    first = failure(r.op(s), r.offset(s), r.length(s), -result);
                    firstIndex = index;
                }
                r.freeSlot(s);
            }
        }
        if (bounce) {
            first = runBounced(batch, n, first, firstIndex);
        }
        if (first != null) {
            throw first;
        }
    }

    /** Marks in {@link IoBatch#slots}: no I/O at all (zero bytes), or to be bounced after the waves. */
    private static final int NO_SLOT = -1;

    private static final int BOUNCE = -2;

    private void runBatch(IoBatch batch) {
        int n = batch.size();
        D4Exception first = null;
        int firstIndex = n;
        int i = 0;
        while (i < n) {
            if (closing) {
                if (first == null) { // nothing from i on is started, and the bounced ones would fail alike
                    first = closedFailure();
                    firstIndex = i;
                }
                n = i;
                break;
            }
            int waveStart = i;
            int head = -1;
            int tail = -1;
            int count = 0;
            while (i < n && count < MAX_WAVE) {
                MemorySegment s = batch.segment(i);
                if (s.byteSize() == 0 || !usable(s)) {
                    batch.slots[i++] = s.byteSize() == 0 ? NO_SLOT : BOUNCE;
                    continue;
                }
                int idx = free.poll();
                if (idx < 0) {
                    if (count > 0) {
                        break; // run what we hold rather than wait for more
                    }
                    Thread.yield(); // every slot taken by others: rare, and bounded by the slot count
                    continue;
                }
                Request r = slots[idx];
                r.op = batch.isWrite(i) ? OP_WRITE : OP_READ;
                r.offset = batch.offsetBytes(i);
                r.address = s.address();
                r.length = (int) s.byteSize();
                r.transferred = 0;
                r.result = 0;
                r.state = 0;
                r.batch = batch;
                r.next = -1;
                if (tail < 0) {
                    head = idx;
                } else {
                    slots[tail].next = idx;
                }
                tail = idx;
                batch.slots[i++] = idx;
                count++;
            }
            if (count == 0) {
                continue;
            }
            batch.pending.set(count); // before the hand-over: the ring thread counts it down
            while (!submitted.offer(head)) {
                Thread.yield(); // cannot happen: the queue holds every slot
            }
            if (sleeping) {
                Libc.eventfdSignal(eventFd);
            }
            awaitWave(batch, waveStart, i, count);
            for (int k = waveStart; k < i; k++) {
                int idx = batch.slots[k];
                if (idx < 0) {
                    continue;
                }
                Request r = slots[idx];
                int result = r.result;
                r.batch = null;
                free.offer(idx);
                if (result < 0 && first == null) {
                    first = failure(r.op, r.offset, r.length, -result);
                    firstIndex = k;
                }
            }
        }
        first = runBounced(batch, n, first, firstIndex);
        if (first != null) {
            throw first;
        }
    }

    /** Runs the requests of {@code batch.slots[0, n)} marked BOUNCE one by one; returns the first failure in batch order. */
    private D4Exception runBounced(IoBatch batch, int n, D4Exception first, int firstIndex) {
        for (int k = 0; k < n; k++) {
            if (batch.slots[k] == BOUNCE) {
                try {
                    if (batch.isWrite(k)) {
                        write(batch.offsetBytes(k), batch.segment(k));
                    } else {
                        read(batch.offsetBytes(k), batch.segment(k));
                    }
                } catch (D4Exception.DriveFailure | D4Exception.NoSpace e) {
                    if (k < firstIndex) {
                        first = e;
                        firstIndex = k;
                    }
                }
            }
        }
        return first;
    }

    /**
     * Waits for the last completion of the wave of {@code count} requests in
     * {@code batch.slots[from, to)}. Only a wave of one request spins first, as execute does: a
     * wave of many takes many device latencies, so a spin would not save the wake-up, and a
     * spinning caller takes the CPU that the ring thread, the completions and (on a VM) the host's
     * device emulation need. Measured on the 2-core VM at batch depth 16: 56k requests/s parking
     * at once against 41k spinning 100 µs first (medians of 3 runs).
     */
    private void awaitWave(IoBatch batch, int from, int to, int count) {
        boolean counted = count == 1;
        boolean spin = counted && spinningCallers.incrementAndGet() <= MAX_SPINNING_CALLERS;
        long spinUntil = spin ? System.nanoTime() + CALLER_SPIN_NANOS : 0;
        while (batch.pending.get() != 0) {
            if (spin && System.nanoTime() < spinUntil) {
                Thread.yield(); // as in execute: the ring thread may need this CPU
            } else {
                batch.waiter = Thread.currentThread();
                if (batch.pending.get() != 0) {
                    LockSupport.parkNanos(this, 100_000_000L);
                    if (batch.pending.get() != 0 && !ringThread.isAlive()) {
                        // As in execute: the ring thread is gone and took its ring with it, so
                        // nothing completes the rest and no I/O still targets their buffers.
                        for (int k = from; k < to; k++) {
                            int idx = batch.slots[k];
                            if (idx >= 0 && slots[idx].state == 0) {
                                slots[idx].result = -EIO;
                                slots[idx].state = 1;
                            }
                        }
                        batch.pending.set(0);
                    }
                }
            }
        }
        if (counted) {
            spinningCallers.decrementAndGet();
        }
        batch.waiter = null;
    }

    boolean isClosing() {
        return closing;
    }

    D4Exception.DriveFailure closedFailure() {
        return new D4Exception.DriveFailure("volume " + path + " is closed", null);
    }

    D4Exception failure(int op, long offset, int length, int errno) {
        String what = switch (op) {
            case OP_READ -> "read of " + length + " bytes at offset " + offset;
            case OP_WRITE -> "write of " + length + " bytes at offset " + offset;
            default -> "flush";
        };
        if (errno == ENOSPC || errno == EDQUOT) {
            return new D4Exception.NoSpace("the file system holding volume " + path + " is full (" + Libc.errnoName(errno)
                    + "): free space there, or put the volume on a block device");
        }
        return new D4Exception.DriveFailure(what + " of volume " + path + " failed: " + Libc.errnoName(errno), null);
    }

    // ------------------------------------------------------------------------------------------
    // The ring thread

    private Ring ring;
    private MemorySegment eventBuffer;
    private boolean fixedFiles;
    private int inFlight;
    private final int[] retry = new int[SLOTS];
    private int retryCount;
    private final int[] flushWaiting = new int[SLOTS];
    private int flushWaitingCount;
    private final int[] flushGroup = new int[SLOTS];
    private int flushGroupCount;
    private boolean fsyncInFlight;
    private int carried = -1; // the first slot of a wave taken from the queue that did not fit into the SQ

    private void ringLoop() {
        try (Arena arena = Arena.ofConfined()) {
            if (cpu >= 0) {
                CpuAffinity.Pin pin = CpuAffinity.pinCurrentThread(cpu);
                if (!pin.ok() && PIN_WARNED.compareAndSet(false, true)) {
                    LOG.log(Level.WARNING, "cannot pin io_uring thread to CPU {0} ({1}); carrying on unpinned",
                            String.valueOf(cpu), pin.errnoName());
                }
            }
            try {
                ring = openRing();
                sqEntries = ring.sqEntries();
                try {
                    ring.registerFiles(new int[] {fd, eventFd});
                    fixedFiles = true;
                } catch (UringException e) {
                    fixedFiles = false; // registered files only save a lookup per I/O
                }
                eventBuffer = arena.allocate(8, 8);
                if (!armEventFd()) {
                    throw new IllegalStateException("d4 invariant violated: no SQE on a new ring to arm the eventfd");
                }
            } catch (UringException | RuntimeException e) {
                ringFailure = e;
                if (ring != null) {
                    ring.close();
                }
                return;
            } finally {
                started.countDown();
            }
            try {
                serve();
            } catch (Throwable t) {
                ringFailure = t;
                LOG.log(Level.ERROR, "io_uring thread of " + path + " failed; every request on it now fails", t);
                closing = true;
                drainInFlight();
                failEverything(EIO);
            } finally {
                ring.close();
            }
        }
    }

    private static Ring openRing() throws UringException {
        try {
            return Ring.open(RING_ENTRIES, liburing_h.IORING_SETUP_SINGLE_ISSUER());
        } catch (UringException e) {
            if (e.errno() == Libc.EINVAL) {
                return Ring.open(RING_ENTRIES, 0); // a kernel older than 6.0 has no SINGLE_ISSUER
            }
            throw e;
        }
    }

    private void serve() throws UringException {
        while (true) {
            boolean queuedSomething = fillSubmissionQueue();
            publishDepth(); // the most the kernel holds until the next reap: the peak is exact
            if (closing && inFlight == 0 && !fsyncInFlight && flushWaitingCount == 0 && retryCount == 0
                    && carried < 0 && submitted.isEmpty()) {
                return;
            }
            if (!queuedSomething && retryCount == 0 && carried < 0) {
                // Nothing to submit: first watch the queue and the completion ring for a moment
                // (cheap when work follows work), then sleep in the kernel until a completion or a
                // caller's eventfd write.
                if (spinForWork()) {
                    reap();
                    continue;
                }
                sleeping = true;
                if (submitted.isEmpty()) {
                    ring.submitAndWait(1);
                }
                sleeping = false;
            } else {
                submitOrReapFirst();
            }
            reap();
        }
    }

    /** Submits; on EAGAIN/EBUSY (no kernel memory, or completions to reap first) reaps and retries. */
    private void submitOrReapFirst() throws UringException {
        for (int attempt = 0; ; attempt++) {
            try {
                ring.submit();
                return;
            } catch (UringException e) {
                if ((e.errno() != Libc.EAGAIN && e.errno() != Libc.EBUSY) || attempt >= 100) {
                    throw e;
                }
                reap();
                Thread.onSpinWait();
            }
        }
    }

    /** Spins for a queued request or a completion (longer while I/O is in flight); true if one came. */
    private boolean spinForWork() {
        long until = System.nanoTime() + (inFlight > 0 || fsyncInFlight ? IN_FLIGHT_SPIN_NANOS : SPIN_NANOS);
        do {
            if (!submitted.isEmpty() || ring.cqReady() > 0) {
                return true;
            }
            Thread.onSpinWait();
        } while (System.nanoTime() < until && !closing);
        return false;
    }

    /** Moves retries, then queued requests, into SQEs; starts a group fsync when one is due. */
    private boolean fillSubmissionQueue() {
        boolean queued = false;
        if (rearmAfterReap && armEventFd()) {
            rearmAfterReap = false;
            queued = true;
        }
        while (retryCount > 0) {
            if (!prepare(retry[retryCount - 1])) {
                return queued;
            }
            retryCount--;
            queued = true;
        }
        if (carried >= 0) {
            int rest = prepareChain(carried);
            queued |= rest != carried;
            carried = rest;
            if (carried >= 0) {
                return queued;
            }
        }
        int idx;
        while ((idx = submitted.poll()) >= 0) {
            if (slots[idx].op == OP_FLUSH) {
                flushWaiting[flushWaitingCount++] = idx;
                continue;
            }
            int rest = prepareChain(idx);
            queued |= rest != idx;
            if (rest >= 0) {
                carried = rest;
                return queued;
            }
        }
        if (!fsyncInFlight && flushWaitingCount > 0) {
            MemorySegment sqe = ring.getSqe();
            if (sqe != null) {
                // Every flush waiting now was called after the writes it must cover completed.
                System.arraycopy(flushWaiting, 0, flushGroup, 0, flushWaitingCount);
                flushGroupCount = flushWaitingCount;
                flushWaitingCount = 0;
                liburing_inline.io_uring_prep_fsync(sqe, fixedFiles ? 0 : fd, liburing_h.IORING_FSYNC_DATASYNC());
                setFixed(sqe);
                liburing_inline.io_uring_sqe_set_data64(sqe, FSYNC_TAG);
                fsyncInFlight = true;
                queued = true;
            }
        }
        return queued;
    }

    /**
     * Prepares the slot {@code idx} and the rest of its batch wave; returns the first slot that did
     * not fit into the SQ (to be carried over to the next pass), or -1 when all did.
     */
    private int prepareChain(int idx) {
        while (idx >= 0) {
            int next = slots[idx].next;
            if (!prepare(idx)) {
                return idx;
            }
            idx = next;
        }
        return -1;
    }

    private boolean prepare(int idx) {
        MemorySegment sqe = ring.getSqe();
        if (sqe == null) {
            return false;
        }
        Request r = slots[idx];
        long offset = r.offset + r.transferred;
        long address = r.address + r.transferred;
        int length = r.length - r.transferred;
        int file = fixedFiles ? 0 : fd;
        if (r.op == OP_READ) {
            liburing_inline.io_uring_prep_read(sqe, file, address, length, offset);
        } else {
            liburing_inline.io_uring_prep_write(sqe, file, address, length, offset);
        }
        setFixed(sqe);
        liburing_inline.io_uring_sqe_set_data64(sqe, idx);
        inFlight++;
        return true;
    }

    private void setFixed(MemorySegment sqe) {
        if (fixedFiles) {
            liburing_inline.io_uring_sqe_set_flags(sqe, liburing_h.IOSQE_FIXED_FILE());
        }
    }

    /**
     * Queues the read on the eventfd that lets callers wake the ring thread; false when the SQ is
     * full (after a reap in the middle of a submit retry): then the next pass arms it, before the
     * ring thread can sleep.
     */
    private boolean armEventFd() {
        MemorySegment sqe = ring.getSqe();
        if (sqe == null) {
            return false;
        }
        liburing_inline.io_uring_prep_read(sqe, fixedFiles ? 1 : eventFd, eventBuffer.address(), 8, 0);
        setFixed(sqe);
        liburing_inline.io_uring_sqe_set_data64(sqe, EVENTFD_TAG);
        return true;
    }

    private void reap() {
        int n = ring.cqReady();
        for (int i = 0; i < n; i++) {
            MemorySegment cqe = ring.cqeAt(i);
            long tag = io_uring_cqe.user_data(cqe);
            int res = io_uring_cqe.res(cqe);
            if (tag == EVENTFD_TAG) {
                rearmAfterReap = true;
            } else if (tag == FSYNC_TAG) {
                fsyncInFlight = false;
                for (int k = 0; k < flushGroupCount; k++) {
                    complete(flushGroup[k], Math.min(res, 0));
                }
                flushGroupCount = 0;
            } else {
                inFlight--;
                progress((int) tag, res);
            }
        }
        ring.cqAdvance(n);
        publishDepth();
        if (rearmAfterReap && armEventFd()) {
            rearmAfterReap = false;
        }
    }

    private boolean rearmAfterReap;

    private void progress(int idx, int res) {
        Request r = slots[idx];
        if (res == -Libc.EINTR || res == -Libc.EAGAIN) {
            retry[retryCount++] = idx;
            return;
        }
        if (res < 0) {
            complete(idx, res);
            return;
        }
        r.transferred += res;
        if (r.transferred >= r.length) {
            complete(idx, 0);
        } else if (res == 0) {
            if (r.op == OP_READ) {
                // Past the end of a file shorter than its superblock says: the never-written tail
                // reads as zeros, like the sparse range it stands for (as ChannelDrive does).
                MemorySegment.ofAddress(r.address + r.transferred).reinterpret(r.length - r.transferred).fill((byte) 0);
                complete(idx, 0);
            } else {
                complete(idx, -EIO); // a write that makes no progress will not make any
            }
        } else {
            retry[retryCount++] = idx; // a short transfer: submit the rest
        }
    }

    private void complete(int idx, int result) {
        Request r = slots[idx];
        IoBatch batch = r.batch;
        r.result = result;
        r.state = 1;
        if (batch == null) {
            Thread w = r.waiter;
            if (w != null) {
                LockSupport.unpark(w);
            }
        } else if (batch.pending.decrementAndGet() == 0) {
            Thread w = batch.waiter; // only the wave's last completion wakes its caller
            if (w != null) {
                LockSupport.unpark(w);
            }
        }
    }

    /** Completes the slot {@code idx} and the rest of its batch wave with {@code -errno}. */
    private void failChain(int idx, int errno) {
        while (idx >= 0) {
            int next = slots[idx].next;
            complete(idx, -errno);
            idx = next;
        }
    }

    /**
     * After a ring failure: wait (bounded) for the requests the kernel still holds, so that no
     * buffer is handed back to its caller while the kernel may still write into it.
     */
    private void drainInFlight() {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while ((inFlight > 0 || fsyncInFlight) && System.nanoTime() < deadline) {
            try {
                ring.submitAndWait(1);
                int n = ring.cqReady();
                for (int i = 0; i < n; i++) {
                    MemorySegment cqe = ring.cqeAt(i);
                    long tag = io_uring_cqe.user_data(cqe);
                    if (tag >= 0) {
                        inFlight--;
                        complete((int) tag, -EIO);
                    } else if (tag == FSYNC_TAG) {
                        fsyncInFlight = false;
                    }
                }
                ring.cqAdvance(n);
            } catch (UringException | RuntimeException again) {
                LOG.log(Level.ERROR, "io_uring thread of {0}: cannot reap after the failure: {1}", path, again.getMessage());
                return;
            }
        }
    }

    /** After a ring failure: fail whatever is queued or waiting, so no caller hangs. */
    private void failEverything(int errno) {
        closing = true;
        for (int k = 0; k < flushGroupCount; k++) {
            complete(flushGroup[k], -errno);
        }
        for (int k = 0; k < flushWaitingCount; k++) {
            complete(flushWaiting[k], -errno);
        }
        for (int k = 0; k < retryCount; k++) {
            complete(retry[k], -errno);
        }
        if (carried >= 0) {
            failChain(carried, errno);
            carried = -1;
        }
        int idx;
        while ((idx = submitted.poll()) >= 0) {
            failChain(idx, errno);
        }
    }

    // ------------------------------------------------------------------------------------------

    void checkRange(long offsetBytes, long lengthBytes) {
        if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes + lengthBytes > sizeBytes
                || offsetBytes % alignmentBytes != 0 || lengthBytes % alignmentBytes != 0 || lengthBytes > Integer.MAX_VALUE) {
            throw new IllegalStateException("d4 invariant violated: I/O of " + lengthBytes + " bytes at " + offsetBytes
                    + " is misaligned or outside volume " + path + " of " + sizeBytes + " bytes");
        }
    }

    /** Completes every request in flight, stops the ring thread, and releases the volume. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closing = true;
        Libc.eventfdSignal(eventFd);
        try {
            ringThread.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        boolean ringsLeft = !closeThreadRings();
        if (ringThread.isAlive()) {
            // Closing the fds under it could let its next request reach whatever file reuses the
            // numbers: leak them instead (the process is on its way out anyway).
            LOG.log(Level.ERROR, "io_uring thread of {0} did not stop within 60 s; leaving its file descriptors open", path);
        } else if (ringsLeft) {
            LOG.log(Level.ERROR, "rings of callers of {0} still had I/O in flight after 60 s; leaving them open", path);
        } else {
            Libc.close(fd);
            Libc.close(eventFd);
        }
        try {
            try {
                lock.release();
            } finally {
                lockChannel.close();
            }
        } catch (IOException e) {
            throw new D4Exception.DriveFailure("closing volume " + path + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Closes the rings of callers once nothing of theirs is in the kernel: at once for an idle
     * ring; a batch in progress ends first (its caller holds the ring); a window's requests wait for
     * its owner to take them (or, on the owner's own thread, are drained here and stay queued for
     * its takes); a dead owner's ring is closed as it is. Waits at most 60 s, as for the ring thread;
     * false when some ring was still busy then (it is left open: its buffers may still be written).
     */
    private boolean closeThreadRings() {
        LocalRing[] rings;
        synchronized (threadRingsLock) { // closing is set: no ring is added from now on
            rings = threadRings;
        }
        Thread me = Thread.currentThread();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            boolean all = true;
            for (LocalRing r : rings) {
                if (r.isClosed()) {
                    continue;
                }
                if (r.owner == me) {
                    if (r.acquire()) {
                        r.drainAndClose();
                    }
                } else {
                    r.tryCloseIdle(!r.owner.isAlive());
                }
                all &= r.isClosed();
            }
            if (all) {
                synchronized (threadRingsLock) {
                    threadRings = new LocalRing[0];
                }
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            LockSupport.parkNanos(1_000_000L);
        }
    }

    @Override
    public String toString() {
        return "UringDrive[" + path + (direct ? ", O_DIRECT" : "") + ", cpu " + cpu + "]";
    }
}
