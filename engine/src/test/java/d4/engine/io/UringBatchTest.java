package d4.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the io_uring drive promises for batches beyond the Drive contract: one ring, one wave, no allocation. */
class UringBatchTest {
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

    /** The whole batch is in the kernel at once: the ring's peak depth is the batch, or the wave cap. */
    @Test
    void aBatchIsInTheRingAllAtOnceInWavesOfAtMost128() throws Exception {
        Path p = volume(64 << 20);
        try (UringDrive d = UringDrive.open(p, BLOCK); Arena arena = Arena.ofShared()) {
            MemorySegment bufs = arena.allocate(200L * BLOCK, BLOCK);
            IoBatch batch = new IoBatch(200);
            for (int i = 0; i < 64; i++) {
                batch.read((long) i * 61 * BLOCK, bufs.asSlice((long) i * BLOCK, BLOCK));
            }
            d.submit(batch);
            assertEquals(64, d.stats().peakInFlight(), "one caller's batch of 64 is submitted as one");
            batch.clear();
            for (int i = 0; i < 200; i++) {
                batch.read((long) i * 61 * BLOCK, bufs.asSlice((long) i * BLOCK, BLOCK));
            }
            d.submit(batch);
            assertEquals(128, d.stats().peakInFlight(), "a batch of 200 goes in waves of 128");
        }
    }

    /**
     * Batch callers larger than a wave and single callers (with flushes) at once: waves that do not
     * fit into the submission queue are carried over, and every byte lands where it should.
     */
    @Test
    void batchesAndSingleCallersTogetherAllComplete() throws Exception {
        int batchThreads = 4;
        int singleThreads = 4;
        int perBatch = 200;
        long region = (long) perBatch * BLOCK;
        Path p = volume(region * (batchThreads + singleThreads));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (UringDrive d = UringDrive.open(p, BLOCK)) {
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < batchThreads; t++) {
                long base = t * region;
                ts.add(Thread.ofPlatform().start(() -> {
                    try (Arena arena = Arena.ofShared()) {
                        MemorySegment out = arena.allocate(region, BLOCK);
                        MemorySegment in = arena.allocate(region, BLOCK);
                        IoBatch batch = new IoBatch(perBatch);
                        go.await();
                        for (int round = 0; round < 10; round++) {
                            for (long i = 0; i < region; i += 8) {
                                out.set(ValueLayout.JAVA_LONG, i, base + i + round);
                            }
                            batch.clear();
                            for (int k = 0; k < perBatch; k++) {
                                batch.write(base + (long) k * BLOCK, out.asSlice((long) k * BLOCK, BLOCK));
                            }
                            d.submit(batch);
                            batch.clear();
                            for (int k = 0; k < perBatch; k++) {
                                batch.read(base + (long) k * BLOCK, in.asSlice((long) k * BLOCK, BLOCK));
                            }
                            d.submit(batch);
                            if (in.mismatch(out) != -1) {
                                throw new AssertionError("region at " + base + " reads back other bytes in round " + round);
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            for (int t = 0; t < singleThreads; t++) {
                long base = (batchThreads + t) * region;
                ts.add(Thread.ofPlatform().start(() -> {
                    try (Arena arena = Arena.ofShared()) {
                        MemorySegment w = arena.allocate(BLOCK, BLOCK);
                        MemorySegment r = arena.allocate(BLOCK, BLOCK);
                        go.await();
                        for (int i = 0; i < 300; i++) {
                            long off = base + (long) (i % perBatch) * BLOCK;
                            w.fill((byte) i);
                            d.write(off, w);
                            if (i % 50 == 0) {
                                d.flush();
                            }
                            d.read(off, r);
                            if (r.mismatch(w) != -1) {
                                throw new AssertionError("block at " + off + " reads back other bytes");
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

    /** A submitted batch allocates nothing: not in the caller, not in the ring thread. */
    @Test
    void aBatchAllocatesNothingPerRequestOrPerBatch() throws Exception {
        Path p = volume(64 << 20);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assertTrue(mx.isThreadAllocatedMemorySupported() && mx.isThreadAllocatedMemoryEnabled());
        try (UringDrive d = UringDrive.open(p, BLOCK); Arena arena = Arena.ofShared()) {
            long ring = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().equals("d4-ring-" + p.getFileName())).findFirst().orElseThrow().threadId();
            MemorySegment bufs = arena.allocate(16L * BLOCK, BLOCK);
            MemorySegment[] slices = new MemorySegment[16];
            for (int i = 0; i < slices.length; i++) {
                slices[i] = bufs.asSlice((long) i * BLOCK, BLOCK);
            }
            IoBatch batch = new IoBatch(16);
            SplittableRandom rnd = new SplittableRandom(1);
            long blocks = d.sizeBytes() / BLOCK;
            long me = Thread.currentThread().threadId();
            long callerBefore = 0;
            long ringBefore = 0;
            int batches = 3000;
            for (int round = 0; round < 2; round++) { // the first round warms up (class loading, JIT)
                if (round == 1) {
                    callerBefore = mx.getThreadAllocatedBytes(me);
                    ringBefore = mx.getThreadAllocatedBytes(ring);
                }
                for (int b = 0; b < batches; b++) {
                    batch.clear();
                    for (int i = 0; i < 16; i++) {
                        if ((i & 1) == 0) {
                            batch.read(rnd.nextLong(blocks) * BLOCK, slices[i]);
                        } else {
                            batch.write(rnd.nextLong(blocks) * BLOCK, slices[i]);
                        }
                    }
                    d.submit(batch);
                }
            }
            long caller = mx.getThreadAllocatedBytes(me) - callerBefore;
            long ringThread = mx.getThreadAllocatedBytes(ring) - ringBefore;
            // getThreadAllocatedBytes itself may allocate a little; 48,000 requests allocating even
            // one object each would be hundreds of kilobytes.
            assertTrue(caller < 4096, "the caller allocated " + caller + " bytes for " + batches + " batches");
            assertTrue(ringThread < 4096, "the ring thread allocated " + ringThread + " bytes for " + batches + " batches");
        }
    }
}
