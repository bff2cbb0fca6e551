package d4.engine.io;

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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Drive#submit(IoBatch)} on both drives, on real files: data, batches larger than the
 * io_uring drive's request slots, a failing request among good ones, up-front checks, close.
 */
class DriveBatchTest {
    static final int BLOCK = 4096;

    @TempDir
    Path dir;

    static Drive open(String engine, Path p) throws Exception {
        return switch (engine) {
            case "io_uring" -> UringDrive.open(p, BLOCK);
            case "filechannel" -> ChannelDrive.open(p, BLOCK);
            default -> throw new IllegalArgumentException(engine);
        };
    }

    Path volume(long bytes) throws Exception {
        Path p = dir.resolve("v" + System.nanoTime() + ".img");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    /** Fills {@code s} with bytes that depend on {@code seed}, so that every block is told apart. */
    static void fill(MemorySegment s, long seed) {
        byte[] b = new byte[(int) s.byteSize()];
        new Random(seed).nextBytes(b);
        MemorySegment.copy(b, 0, s, ValueLayout.JAVA_BYTE, 0, b.length);
    }

    static void assertPattern(MemorySegment s, long seed, String what) {
        byte[] want = new byte[(int) s.byteSize()];
        new Random(seed).nextBytes(want);
        assertEquals(-1, s.mismatch(MemorySegment.ofArray(want)), what + " has other bytes than were written");
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "filechannel"})
    void aBatchOfMixedReadsAndWritesRoundTrips(String engine) throws Exception {
        Path p = volume(8 << 20);
        try (Drive d = open(engine, p); Arena arena = Arena.ofShared()) {
            // First batch: 24 blocks scattered over the volume, and one 64 KiB run.
            IoBatch batch = new IoBatch(64);
            MemorySegment[] blocks = new MemorySegment[24];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = arena.allocate(BLOCK, BLOCK);
                fill(blocks[i], i);
                batch.write((long) (i * 37 % 2048) * BLOCK, blocks[i]);
            }
            MemorySegment run = arena.allocate(64 << 10, BLOCK);
            fill(run, 100);
            batch.write(4L << 20, run);
            assertEquals(25, batch.size());
            d.submit(batch);

            // Second batch: read them all back, and write 8 new blocks, in one batch.
            batch.clear();
            assertEquals(0, batch.size());
            assertEquals(64, batch.capacity());
            MemorySegment[] back = new MemorySegment[blocks.length];
            for (int i = 0; i < blocks.length; i++) {
                back[i] = arena.allocate(BLOCK, BLOCK);
                batch.read((long) (i * 37 % 2048) * BLOCK, back[i]);
            }
            MemorySegment runBack = arena.allocate(64 << 10, BLOCK);
            batch.read(4L << 20, runBack);
            MemorySegment[] fresh = new MemorySegment[8];
            for (int i = 0; i < fresh.length; i++) {
                fresh[i] = arena.allocate(BLOCK, BLOCK);
                fill(fresh[i], 1000 + i);
                batch.write((6L << 20) + (long) i * BLOCK, fresh[i]);
            }
            d.submit(batch);
            for (int i = 0; i < blocks.length; i++) {
                assertPattern(back[i], i, "block " + i);
            }
            assertPattern(runBack, 100, "the 64 KiB run");
            MemorySegment one = arena.allocate(BLOCK, BLOCK);
            for (int i = 0; i < fresh.length; i++) {
                d.read((6L << 20) + (long) i * BLOCK, one);
                assertPattern(one, 1000 + i, "new block " + i);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "filechannel"})
    void aBatchOfAThousandRequestsMoreThanTheSlotsCompletes(String engine) throws Exception {
        int n = 1000; // the io_uring drive has 256 request slots and runs at most 128 per wave
        Path p = volume((long) n * 2 * BLOCK);
        try (Drive d = open(engine, p); Arena arena = Arena.ofShared()) {
            MemorySegment data = arena.allocate((long) n * BLOCK, BLOCK);
            MemorySegment into = arena.allocate((long) n * BLOCK, BLOCK);
            IoBatch batch = new IoBatch(n);
            for (int i = 0; i < n; i++) {
                MemorySegment s = data.asSlice((long) i * BLOCK, BLOCK);
                fill(s, i);
                batch.write((long) (2 * i + 1) * BLOCK, s); // every other block, so neighbours do not hide a wrong offset
            }
            d.submit(batch);
            batch.clear();
            for (int i = 0; i < n; i++) {
                batch.read((long) (2 * i + 1) * BLOCK, into.asSlice((long) i * BLOCK, BLOCK));
            }
            d.submit(batch);
            for (int i = 0; i < n; i++) {
                assertPattern(into.asSlice((long) i * BLOCK, BLOCK), i, "block " + i);
            }
            MemorySegment gap = arena.allocate(BLOCK, BLOCK);
            d.read(0, gap);
            assertEquals(-1, gap.mismatch(arena.allocate(BLOCK)), "the blocks between were not written");
        }
    }

    /**
     * A batch whose writes run out of space on a 1 MiB tmpfs, followed by reads of blocks written
     * before: NoSpace is thrown, and only after the reads behind the failing writes completed.
     */
    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "filechannel"})
    void aFailingRequestIsThrownAfterAllCompletedAndTheOthersAreRight(String engine) throws Exception {
        try (Tmpfs host = Tmpfs.mount(dir, "1m")) {
            Path p = host.path().resolve("v.img");
            try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                f.setLength(8 << 20); // sparse: 8 MiB promised, 1 MiB real
            }
            try (Drive d = open(engine, p); Arena arena = Arena.ofShared()) {
                MemorySegment first = arena.allocate(4 * BLOCK, BLOCK);
                fill(first, 7);
                d.write(0, first);
                IoBatch batch = new IoBatch(64);
                MemorySegment chunk = arena.allocate(256 << 10, BLOCK);
                fill(chunk, 8);
                for (long off = 1 << 20; off < (8 << 20); off += chunk.byteSize()) {
                    batch.write(off, chunk); // 7 MiB more than the 1 MiB there is
                }
                int writes = batch.size();
                MemorySegment[] reads = new MemorySegment[4];
                for (int i = 0; i < reads.length; i++) {
                    reads[i] = arena.allocate(BLOCK, BLOCK);
                    reads[i].fill((byte) 0x55);
                    batch.read((long) i * BLOCK, reads[i]);
                }
                D4Exception.NoSpace e = assertThrows(D4Exception.NoSpace.class, () -> d.submit(batch));
                assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
                for (int i = 0; i < reads.length; i++) {
                    assertEquals(-1, reads[i].mismatch(first.asSlice((long) i * BLOCK, BLOCK)),
                            "read " + (writes + i) + " of the batch, behind the failing writes, completed with the right bytes");
                }
                // The drive and the batch still work: nothing was left holding a slot or the batch.
                batch.clear();
                MemorySegment again = arena.allocate(4 * BLOCK, BLOCK);
                batch.read(0, again);
                d.submit(batch);
                assertEquals(-1, again.mismatch(first));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "filechannel"})
    void anEmptyOrClearedBatchDoesNothing(String engine) throws Exception {
        Path p = volume(1 << 20);
        try (Drive d = open(engine, p); Arena arena = Arena.ofShared()) {
            IoBatch batch = new IoBatch(4);
            d.submit(batch);
            MemorySegment w = arena.allocate(BLOCK, BLOCK);
            fill(w, 3);
            batch.write(0, w);
            batch.clear();
            d.submit(batch); // the write was cleared away: nothing reaches the volume
            MemorySegment r = arena.allocate(BLOCK, BLOCK);
            d.read(0, r);
            assertEquals(-1, r.mismatch(arena.allocate(BLOCK)), "block 0 is still zeros");
            if (d instanceof UringDrive u) {
                assertEquals(1, u.stats().peakInFlight(), "only the read above reached the ring");
            }
            IoBatch full = new IoBatch(1);
            full.read(0, r);
            assertThrows(IllegalStateException.class, () -> full.read(BLOCK, r), "a batch holds its capacity, no more");
            assertThrows(IllegalArgumentException.class, () -> new IoBatch(0));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "filechannel"})
    void aBadRequestIsRejectedBeforeAnyOfTheBatchRuns(String engine) throws Exception {
        Path p = volume(1 << 20);
        try (Drive d = open(engine, p); Arena arena = Arena.ofShared()) {
            MemorySegment w = arena.allocate(2 * BLOCK, BLOCK);
            fill(w, 5);
            MemorySegment zeros = arena.allocate(BLOCK);
            IoBatch batch = new IoBatch(4);
            long[] badOffsets = {100, 1 << 20, -BLOCK};
            for (long bad : badOffsets) {
                batch.clear();
                batch.write(0, w.asSlice(0, BLOCK));
                batch.write(bad, w.asSlice(BLOCK, BLOCK));
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.submit(batch));
                assertTrue(e.getMessage().contains("request 1"), e.getMessage());
            }
            batch.clear();
            batch.write(0, w.asSlice(0, BLOCK));
            batch.write(BLOCK, w.asSlice(0, 100)); // a length that is not a whole block
            assertThrows(IllegalStateException.class, () -> d.submit(batch));
            MemorySegment r = arena.allocate(BLOCK, BLOCK);
            d.read(0, r);
            assertEquals(-1, r.mismatch(zeros), "the good write ahead of the bad request did not run");
            batch.clear(); // the batch is not left marked as running
            batch.write(0, w.asSlice(0, BLOCK));
            d.submit(batch);
            d.read(0, r);
            assertPattern(r, 5, "block 0");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "filechannel"})
    void heapAndMisalignedBuffersInABatchWork(String engine) throws Exception {
        Path p = volume(1 << 20);
        try (Drive d = open(engine, p); Arena arena = Arena.ofShared()) {
            byte[] heap = new byte[2 * BLOCK];
            new Random(9).nextBytes(heap);
            MemorySegment direct = arena.allocate(BLOCK, BLOCK);
            fill(direct, 10);
            IoBatch batch = new IoBatch(4);
            batch.write(0, MemorySegment.ofArray(heap));
            batch.write(4L * BLOCK, direct);
            d.submit(batch);
            batch.clear();
            byte[] heapBack = new byte[2 * BLOCK];
            MemorySegment odd = arena.allocate(BLOCK + 8, 8).asSlice(8, BLOCK); // native but misaligned
            batch.read(0, MemorySegment.ofArray(heapBack));
            batch.read(4L * BLOCK, odd);
            d.submit(batch);
            assertEquals(-1, MemorySegment.ofArray(heapBack).mismatch(MemorySegment.ofArray(heap)));
            assertPattern(odd, 10, "the misaligned buffer");
        }
    }

    /** Callers looping on batches while the drive closes: each gets DriveFailure, none hangs, no thread stays. */
    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "filechannel"})
    void closeWithBatchesInFlightLeavesNoThreadBehind(String engine) throws Exception {
        Path p = volume(64 << 20);
        Drive d = open(engine, p);
        AtomicInteger batches = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        AtomicReference<Throwable> other = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int id = t;
            ts.add(Thread.ofPlatform().start(() -> {
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment buf = arena.allocate(64L * 64 * 1024, BLOCK);
                    fill(buf, id);
                    IoBatch batch = new IoBatch(64);
                    for (int i = 0; ; i++) {
                        batch.clear();
                        for (int k = 0; k < 64; k++) {
                            long off = (long) id * (16 << 20) + (long) ((i + k) % 256) * (64 << 10);
                            MemorySegment s = buf.asSlice((long) k * (64 << 10), 64 << 10);
                            if (k % 2 == 0) {
                                batch.write(off, s);
                            } else {
                                batch.read(off, s);
                            }
                        }
                        d.submit(batch);
                        batches.incrementAndGet();
                    }
                } catch (D4Exception.DriveFailure e) {
                    refused.incrementAndGet(); // "is closed", or a read of the closed channel
                } catch (Throwable e) {
                    other.compareAndSet(null, e);
                }
            }));
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (batches.get() < 20 && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertTrue(batches.get() >= 20, "batches ran before the close");
        d.close();
        for (Thread t : ts) {
            t.join(30_000);
            assertFalse(t.isAlive(), "a caller hangs after close");
        }
        if (other.get() != null) {
            throw new AssertionError(other.get());
        }
        assertEquals(4, refused.get(), "every caller was refused once the drive closed");
        try (Arena arena = Arena.ofShared()) {
            IoBatch late = new IoBatch(1);
            late.read(0, arena.allocate(BLOCK, BLOCK));
            assertThrows(D4Exception.DriveFailure.class, () -> d.submit(late));
        }
        Thread.sleep(50);
        assertFalse(Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().startsWith("d4-ring-" + p.getFileName())),
                "the ring thread is gone");
    }
}
