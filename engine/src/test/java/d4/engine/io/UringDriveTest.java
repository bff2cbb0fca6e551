package d4.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.D4Exception;
import d4.engine.Tmpfs;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The io_uring drive on real files, with real rings: data, concurrency, errors, shutdown, pinning. */
class UringDriveTest {
    static final int BLOCK = 4096;

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

    static MemorySegment pattern(Arena arena, int bytes, long seed) {
        MemorySegment s = arena.allocate(bytes, BLOCK);
        byte[] b = new byte[bytes];
        new Random(seed).nextBytes(b);
        MemorySegment.copy(b, 0, s, ValueLayout.JAVA_BYTE, 0, bytes);
        return s;
    }

    @Test
    void writesReadBackAndSurviveReopen() throws Exception {
        Path p = volume(16 << 20);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = pattern(arena, 1 << 20, 1);
            try (UringDrive d = UringDrive.open(p, BLOCK)) {
                assertEquals("io_uring", d.engine());
                assertTrue(d.isDirect(), "O_DIRECT on the temp dir's file system");
                d.write(3L * BLOCK, data);
                d.flush();
                MemorySegment back = arena.allocate(1 << 20, BLOCK);
                d.read(3L * BLOCK, back);
                assertEquals(-1, back.mismatch(data));
            }
            try (ChannelDrive c = ChannelDrive.open(p, BLOCK)) { // the other drive reads the same bytes
                MemorySegment back = arena.allocate(1 << 20, BLOCK);
                c.read(3L * BLOCK, back);
                assertEquals(-1, back.mismatch(data));
            }
        }
    }

    @Test
    void heapAndMisalignedBuffersAreBounced() throws Exception {
        Path p = volume(1 << 20);
        try (UringDrive d = UringDrive.open(p, BLOCK)) {
            byte[] b = new byte[2 * BLOCK];
            new Random(2).nextBytes(b);
            d.write(BLOCK, MemorySegment.ofArray(b));
            byte[] back = new byte[2 * BLOCK];
            d.read(BLOCK, MemorySegment.ofArray(back));
            assertArrayEquals(b, back);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment odd = arena.allocate(BLOCK + 8, 8).asSlice(8, BLOCK); // native but misaligned
                d.read(BLOCK, odd);
                assertArrayEquals(java.util.Arrays.copyOf(b, BLOCK), odd.toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }

    @Test
    void manyConcurrentCallersMoreThanSlotsAllComplete() throws Exception {
        int threads = 300; // more than the 256 request slots
        int blocksEach = 8;
        Path p = volume((long) threads * blocksEach * BLOCK);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (UringDrive d = UringDrive.open(p, BLOCK)) {
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                ts.add(Thread.ofPlatform().start(() -> {
                    try (Arena arena = Arena.ofConfined()) {
                        go.await();
                        for (int i = 0; i < blocksEach; i++) {
                            long off = ((long) id * blocksEach + i) * BLOCK;
                            MemorySegment w = pattern(arena, BLOCK, off);
                            d.write(off, w);
                            if (i % 3 == 0) {
                                d.flush(); // concurrent flushes are grouped
                            }
                            MemorySegment r = arena.allocate(BLOCK, BLOCK);
                            d.read(off, r);
                            if (r.mismatch(w) != -1) {
                                throw new AssertionError("block " + off + " reads back different bytes");
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            go.countDown();
            for (Thread t : ts) {
                t.join(120_000);
                assertFalse(t.isAlive(), "a caller is stuck");
            }
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
    }

    @Test
    void readsPastTheEndOfAShrunkenFileAreZeros() throws Exception {
        Path p = volume(1 << 20);
        try (UringDrive d = UringDrive.open(p, BLOCK); Arena arena = Arena.ofConfined()) {
            d.write(0, pattern(arena, 4 * BLOCK, 3));
            d.flush();
            try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                f.setLength(2 * BLOCK); // someone cut the file: reads past its end get short counts, then 0
            }
            MemorySegment r = arena.allocate(4 * BLOCK, BLOCK);
            r.fill((byte) 7);
            d.read(0, r);
            assertEquals(-1, r.asSlice(0, 2 * BLOCK).mismatch(pattern(arena, 4 * BLOCK, 3).asSlice(0, 2 * BLOCK)));
            for (long i = 2 * BLOCK; i < 4 * BLOCK; i++) {
                assertEquals(0, r.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
            }
        }
    }

    @Test
    void aFullHostFileSystemIsNoSpaceFromTheCompletion() throws Exception {
        try (Tmpfs host = Tmpfs.mount(dir, "1m")) {
            Path p = host.path().resolve("v.img");
            try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                f.setLength(8 << 20); // sparse: 8 MiB promised, 1 MiB real
            }
            try (UringDrive d = UringDrive.open(p, BLOCK); Arena arena = Arena.ofConfined()) {
                MemorySegment chunk = pattern(arena, 256 << 10, 4);
                D4Exception.NoSpace e = assertThrows(D4Exception.NoSpace.class, () -> {
                    for (long off = 0; off < (8 << 20); off += chunk.byteSize()) {
                        d.write(off, chunk);
                    }
                });
                assertTrue(e.getMessage().contains("ENOSPC") && e.getMessage().contains(p.toString()), e.getMessage());
                MemorySegment r = arena.allocate(BLOCK, BLOCK);
                d.read(0, r); // the drive still works after the error
                assertEquals(-1, r.mismatch(chunk.asSlice(0, BLOCK)));
            }
        }
    }

    @Test
    void closeWithIoInFlightCompletesItAndLeavesNoThread() throws Exception {
        Path p = volume(64 << 20);
        UringDrive d = UringDrive.open(p, BLOCK);
        AtomicInteger done = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        AtomicReference<Throwable> other = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int id = t;
            ts.add(Thread.ofPlatform().start(() -> {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment w = pattern(arena, 256 << 10, id);
                    for (int i = 0; ; i++) {
                        d.write(((long) id * 32 + i % 32) * (256 << 10), w);
                        done.incrementAndGet();
                    }
                } catch (D4Exception.DriveFailure e) {
                    refused.incrementAndGet(); // "is closed": calls after close are refused, not lost
                } catch (Throwable e) {
                    other.compareAndSet(null, e);
                }
            }));
        }
        while (done.get() < 200) {
            Thread.sleep(1);
        }
        d.close();
        for (Thread t : ts) {
            t.join(30_000);
            assertFalse(t.isAlive(), "a caller hangs after close");
        }
        if (other.get() != null) {
            throw new AssertionError(other.get());
        }
        assertEquals(8, refused.get());
        Thread.sleep(50);
        assertFalse(Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().startsWith("d4-ring-" + p.getFileName())),
                "the ring thread is gone");
    }

    @Test
    void theRingThreadIsPinnedToOneCpu() throws Exception {
        Path p = volume(1 << 20);
        try (UringDrive d = UringDrive.open(p, BLOCK)) {
            assertTrue(d.cpu() >= 0);
            boolean found = false;
            try (var tasks = Files.list(Path.of("/proc/self/task"))) {
                for (Path task : (Iterable<Path>) tasks::iterator) {
                    String comm = Files.readString(task.resolve("comm")).trim();
                    if (comm.startsWith("d4-ring-")) {
                        String status = Files.readString(task.resolve("status"));
                        String allowed = status.lines().filter(l -> l.startsWith("Cpus_allowed_list:")).findFirst()
                                .orElseThrow().split(":")[1].trim();
                        if (allowed.equals(Integer.toString(d.cpu()))) {
                            found = true;
                        }
                    }
                }
            }
            assertTrue(found, "a d4-ring thread is pinned to CPU " + d.cpu());
        }
    }

    @Test
    void aSecondOpenOfTheSameVolumeIsRefused() throws Exception {
        Path p = volume(1 << 20);
        try (UringDrive _ = UringDrive.open(p, BLOCK)) {
            D4Exception.PoolUnavailable e = assertThrows(D4Exception.PoolUnavailable.class, () -> UringDrive.open(p, BLOCK));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
    }

    @Test
    void factoryChoosesIoUringAndFilechannelOnRequest() throws Exception {
        Path p = volume(1 << 20);
        try (Drive d = DriveFactory.forEngine("io_uring").open(p, BLOCK)) {
            assertEquals("io_uring", d.engine());
        }
        try (Drive d = DriveFactory.forEngine("filechannel").open(p, BLOCK)) {
            assertEquals("filechannel", d.engine());
        }
        assertThrows(IllegalArgumentException.class, () -> DriveFactory.forEngine("aio"));
    }

    @Test
    void statsReportTheRingDepthAndItsPeak() throws Exception {
        Path p = volume(64 << 20);
        try (UringDrive d = UringDrive.open(p, BLOCK); Arena arena = Arena.ofConfined()) {
            DriveStats fresh = d.stats();
            assertEquals(1, fresh.rings());
            assertEquals(256, fresh.sqEntries(), "the configured depth, as the kernel set it up");
            assertEquals(0, fresh.inFlight());
            assertEquals(0, fresh.peakInFlight(), "nothing submitted yet");

            // One caller at a time: each request completes before the next is queued, so the ring
            // never holds more than one.
            MemorySegment buf = pattern(arena, 1 << 20, 7);
            for (int i = 0; i < 8; i++) {
                d.write((long) i << 20, buf);
                d.read((long) i << 20, buf);
            }
            d.flush();
            assertEquals(1, d.stats().peakInFlight(), "sequential I/O has depth 1");

            // Many callers at once: the ring thread queues what they handed over in one batch.
            int threads = 16;
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (d.stats().peakInFlight() < 2 && System.nanoTime() < deadline) {
                CountDownLatch go = new CountDownLatch(1);
                List<Thread> ts = new ArrayList<>();
                AtomicReference<Throwable> failure = new AtomicReference<>();
                for (int t = 0; t < threads; t++) {
                    int id = t;
                    ts.add(Thread.ofPlatform().start(() -> {
                        try (Arena a = Arena.ofConfined()) {
                            MemorySegment r = a.allocate(1 << 20, BLOCK);
                            go.await();
                            for (int i = 0; i < 16; i++) {
                                d.read((long) ((id + i) % 64) << 20, r);
                            }
                        } catch (Throwable e) {
                            failure.compareAndSet(null, e);
                        }
                    }));
                }
                go.countDown();
                for (Thread t : ts) {
                    t.join();
                }
                if (failure.get() != null) {
                    throw new AssertionError(failure.get());
                }
            }
            DriveStats after = d.stats();
            assertTrue(after.peakInFlight() >= 2 && after.peakInFlight() <= threads,
                    "16 concurrent callers put 2 to 16 requests in the ring at once: " + after);
            // Every caller has its answer; the ring thread publishes the drained depth right after.
            while (d.stats().inFlight() != 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(0, d.stats().inFlight(), "nothing in flight once every request completed");
            assertEquals(after.peakInFlight(), d.stats().peakInFlight(), "the peak stays");
        }
        try (Drive c = DriveFactory.forEngine("filechannel").open(p, BLOCK)) {
            assertEquals(DriveStats.NO_RINGS, c.stats(), "the FileChannel drive has no rings");
            assertFalse(c.stats().hasRings());
        }
    }
}
