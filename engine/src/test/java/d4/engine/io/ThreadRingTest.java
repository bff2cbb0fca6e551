package d4.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.D4Exception;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The io_uring drive's rings of caller threads: one per thread, found again, closed with the
 * drive (no io_uring fd left), reclaimed from threads that died, and the drive's close with a
 * window's requests in flight, which loses none of them.
 */
class ThreadRingTest {
    static final int BLOCK = 4096;
    static final int DEPTH = 64;

    @TempDir
    Path dir;

    @BeforeAll
    static void ioUringWorksHere() {
        assertTrue(UringDrive.probe().ok(), "io_uring must work on the test machines: " + UringDrive.probe().reason());
    }

    Path volume(long bytes) throws Exception {
        Path p = dir.resolve("v" + System.nanoTime() + ".img");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    /** io_uring instances this process holds open (the drive's ring thread's among them). */
    static long ringFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().contains("io_uring");
                } catch (IOException gone) {
                    return false; // the fd of the listing itself, closed meanwhile
                }
            }).count();
        }
    }

    static void readBatch(Drive d, IoBatch batch, MemorySegment buf, long at) {
        batch.clear();
        for (int i = 0; i < batch.capacity(); i++) {
            batch.read(at + (long) i * BLOCK, buf.asSlice((long) i * BLOCK, BLOCK));
        }
        d.submit(batch);
    }

    /** As readBatch, into buffers sliced before (a slice is an object). */
    static void readBatch(Drive d, IoBatch batch, MemorySegment[] slices, long at) {
        batch.clear();
        for (int i = 0; i < batch.capacity(); i++) {
            batch.read(at + (long) i * BLOCK, slices[i]);
        }
        d.submit(batch);
    }

    /**
     * Eight threads submit batches and use a window; four of them end before the drive closes,
     * four wait alive. Each had a ring of its own (one more io_uring fd each); after close no
     * io_uring fd of the drive is left.
     */
    @Test
    void manyThreadsEachWithTheirOwnRingThenCloseLeavesNoRingFd() throws Exception {
        long before = ringFds();
        Path p = volume(16 << 20);
        UringDrive d = UringDrive.open(p, BLOCK);
        assertEquals(before + 1, ringFds(), "the ring thread's ring");
        CountDownLatch used = new CountDownLatch(8);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            boolean stayAlive = t % 2 == 0;
            int id = t;
            ts.add(Thread.ofPlatform().start(() -> {
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment buf = arena.allocate(16L * BLOCK, BLOCK);
                    IoBatch batch = new IoBatch(16);
                    for (int round = 0; round < 20; round++) {
                        readBatch(d, batch, buf, (long) id * 16 * BLOCK);
                    }
                    try (IoWindow w = d.openWindow(8)) {
                        for (int i = 0; i < 8; i++) {
                            w.read((long) i * BLOCK, buf.asSlice((long) i * BLOCK, BLOCK), i);
                        }
                        while (w.inFlight() > 0) {
                            w.take();
                            assertNull(w.failure());
                        }
                    }
                    readBatch(d, batch, buf, 0); // after the window, the batch runs on the thread's ring again
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    used.countDown();
                }
                try {
                    used.await(); // none ends before all have their rings (a new ring reclaims dead threads' ones)
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                if (stayAlive) {
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }));
        }
        used.await();
        for (int t = 1; t < ts.size(); t += 2) {
            ts.get(t).join(); // these four end before the close
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertEquals(9, d.stats().rings(), "one ring per thread, the window on the same ring: " + d.stats());
        assertEquals(before + 9, ringFds());
        d.close();
        assertEquals(before, ringFds(), "the drive's close closed every thread's ring, alive or not");
        release.countDown();
        for (Thread t : ts) {
            t.join(10_000);
        }
    }

    /** With room for two rings, a third thread reclaims the rings of the two before it, which died. */
    @Test
    void theRingsOfThreadsThatDiedAreReclaimed() throws Exception {
        long before = ringFds();
        Path p = volume(16 << 20);
        try (UringDrive d = UringDrive.open(p, BLOCK, 2); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(16L * BLOCK, BLOCK);
            CountDownLatch used = new CountDownLatch(2);
            CountDownLatch end = new CountDownLatch(1);
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                ts.add(Thread.ofPlatform().start(() -> {
                    readBatch(d, new IoBatch(16), buf, 0);
                    used.countDown();
                    try {
                        end.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }));
            }
            used.await();
            assertEquals(3, d.stats().rings(), "two threads, two rings");
            assertEquals(before + 3, ringFds());
            Thread full = Thread.ofPlatform().start(() -> readBatch(d, new IoBatch(16), buf, 0));
            full.join();
            assertEquals(3, d.stats().rings(), "no room for a third while both live: it used the ring thread");
            end.countDown();
            for (Thread t : ts) {
                t.join();
            }
            Thread third = Thread.ofPlatform().start(() -> readBatch(d, new IoBatch(16), buf, 0));
            third.join();
            assertEquals(2, d.stats().rings(), "the dead threads' rings were closed, the third got one: " + d.stats());
            assertEquals(before + 2, ringFds());
        }
        assertEquals(before, ringFds());
    }

    /** A virtual thread may move between carriers, and a ring admits one submitter: it uses the ring thread. */
    @Test
    void aVirtualThreadGetsNoRingOfItsOwn() throws Exception {
        Path p = volume(16 << 20);
        try (UringDrive d = UringDrive.open(p, BLOCK); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(16L * BLOCK, BLOCK);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread.ofVirtual().start(() -> {
                try {
                    readBatch(d, new IoBatch(16), buf, 0);
                    try (IoWindow w = d.openWindow(4)) {
                        assertTrue(w instanceof SyncWindow);
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            }).join();
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertEquals(1, d.stats().rings());
            assertEquals(16, d.stats().peakInFlight(), "the batch went through the ring thread, all at once");
        }
    }

    /**
     * The drive closes, from another thread, while a window has 64 writes in the kernel: the
     * close waits until the window's owner took them (none is lost: each completed), starting
     * another is refused, and every byte is on the volume.
     */
    @Test
    void closeFromAnotherThreadWaitsForTheWindowsRequests() throws Exception {
        Path p = volume(16 << 20);
        long before = ringFds();
        UringDrive d = UringDrive.open(p, BLOCK);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = arena.allocate((long) DEPTH * BLOCK, BLOCK);
            IoWindowTest.fill(data, 11);
            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch closing = new CountDownLatch(1);
            AtomicBoolean closeReturned = new AtomicBoolean();
            AtomicBoolean returnedBeforeTakes = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread owner = Thread.ofPlatform().start(() -> {
                try (IoWindow w = d.openWindow(DEPTH)) {
                    for (int i = 0; i < DEPTH; i++) {
                        w.write((long) i * BLOCK, data.asSlice((long) i * BLOCK, BLOCK), i);
                    }
                    w.take(); // hands all 64 to the kernel, waits for the first
                    assertNull(w.failure());
                    started.countDown();
                    closing.await();
                    Thread.sleep(300); // the drive's close is waiting now
                    returnedBeforeTakes.set(closeReturned.get());
                    while (w.inFlight() > 0) {
                        w.take();
                        assertNull(w.failure(), "a request started before the close completes");
                    }
                    assertThrows(D4Exception.DriveFailure.class, () -> w.read(0, data.asSlice(0, BLOCK), 0));
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            started.await();
            Thread closer = Thread.ofPlatform().start(() -> {
                closing.countDown();
                d.close();
                closeReturned.set(true);
            });
            closer.join(30_000);
            owner.join(30_000);
            assertFalse(closer.isAlive() || owner.isAlive(), "close or the window's owner hangs");
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertFalse(returnedBeforeTakes.get(), "the close waited for the window's requests");
            assertEquals(before, ringFds(), "no ring left");
            try (UringDrive again = UringDrive.open(p, BLOCK)) {
                MemorySegment back = arena.allocate((long) DEPTH * BLOCK, BLOCK);
                again.read(0, back);
                assertEquals(-1, back.mismatch(data), "every write of the window reached the volume");
            }
        }
    }

    /**
     * The window's owner closes the drive itself with 64 writes started and not even handed to the
     * kernel: the close submits and waits for them; the takes after it get them all, done.
     */
    @Test
    void closeOnTheWindowsOwnThreadDrainsItAndTheTakesFollow() throws Exception {
        Path p = volume(16 << 20);
        long before = ringFds();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = arena.allocate((long) DEPTH * BLOCK, BLOCK);
            IoWindowTest.fill(data, 12);
            UringDrive d = UringDrive.open(p, BLOCK);
            IoWindow w = d.openWindow(DEPTH);
            for (int i = 0; i < DEPTH; i++) {
                w.write((long) i * BLOCK, data.asSlice((long) i * BLOCK, BLOCK), i);
            }
            d.close();
            assertEquals(before, ringFds(), "no ring left");
            long seen = 0;
            while (w.inFlight() > 0) {
                seen |= 1L << w.take();
                assertNull(w.failure());
            }
            assertEquals(-1L, seen, "all 64 tags");
            w.close();
            try (UringDrive again = UringDrive.open(p, BLOCK)) {
                MemorySegment back = arena.allocate((long) DEPTH * BLOCK, BLOCK);
                again.read(0, back);
                assertEquals(-1, back.mismatch(data), "every write of the window reached the volume");
            }
        }
    }

    /** A window allocates nothing per request: 48,000 reads and writes at depth 16. */
    @Test
    void aWindowAllocatesNothingPerRequest() throws Exception {
        Path p = volume(64 << 20);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assertTrue(mx.isThreadAllocatedMemorySupported() && mx.isThreadAllocatedMemoryEnabled());
        try (UringDrive d = UringDrive.open(p, BLOCK); Arena arena = Arena.ofShared(); IoWindow w = d.openWindow(16)) {
            MemorySegment bufs = arena.allocate(16L * BLOCK, BLOCK);
            MemorySegment[] slices = new MemorySegment[16];
            for (int i = 0; i < slices.length; i++) {
                slices[i] = bufs.asSlice((long) i * BLOCK, BLOCK);
            }
            SplittableRandom rnd = new SplittableRandom(1);
            long blocks = d.sizeBytes() / BLOCK;
            long me = Thread.currentThread().threadId();
            int requests = 48_000;
            long before = 0;
            int next = 0;
            for (int round = 0; round < 2; round++) { // the first round warms up (class loading, JIT)
                if (round == 1) {
                    before = mx.getThreadAllocatedBytes(me);
                }
                for (int i = 0; i < requests; i++) {
                    while (w.hasRoom()) {
                        long at = rnd.nextLong(blocks) * BLOCK;
                        if ((next & 1) == 0) {
                            w.read(at, slices[next & 15], next & 15);
                        } else {
                            w.write(at, slices[next & 15], next & 15);
                        }
                        next++;
                    }
                    w.take();
                    if (w.failure() != null) {
                        throw w.failure();
                    }
                }
            }
            long allocated = mx.getThreadAllocatedBytes(me) - before;
            assertTrue(allocated < 4096, "the window's owner allocated " + allocated + " bytes for " + requests + " requests");
        }
    }

    /** Batches on the caller's ring allocate nothing per request or per batch either. */
    @Test
    void batchesOnTheCallersRingAllocateNothing() throws Exception {
        Path p = volume(64 << 20);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (UringDrive d = UringDrive.open(p, BLOCK); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(64L * BLOCK, BLOCK);
            MemorySegment[] slices = new MemorySegment[64];
            for (int i = 0; i < slices.length; i++) {
                slices[i] = buf.asSlice((long) i * BLOCK, BLOCK);
            }
            IoBatch batch = new IoBatch(64);
            long me = Thread.currentThread().threadId();
            long before = 0;
            for (int round = 0; round < 2; round++) {
                if (round == 1) {
                    before = mx.getThreadAllocatedBytes(me);
                }
                for (int b = 0; b < 1000; b++) {
                    readBatch(d, batch, slices, (long) (b % 64) * 64 * BLOCK);
                }
            }
            long allocated = mx.getThreadAllocatedBytes(me) - before;
            assertTrue(allocated < 4096, "the caller allocated " + allocated + " bytes for 1000 batches of 64");
            assertEquals(2, d.stats().rings(), "they ran on the caller's ring");
            buf.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
        }
    }
}
