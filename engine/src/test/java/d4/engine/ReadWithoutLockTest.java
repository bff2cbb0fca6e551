package d4.engine;

import static d4.engine.Pools.BLOCK;
import static d4.engine.Pools.create;
import static d4.engine.Pools.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data reads do their device I/O without the pool's lock: writers commit meanwhile, and the blocks
 * a commit replaced stay allocated until the reader that may still read them is done (so the reader
 * never sees another file's data in them, which its checksums would report as damage).
 */
class ReadWithoutLockTest {
    @TempDir
    Path dir;

    /** Holds the reads of the thread named "held reader" until released. */
    private static final class HeldReads extends ForwardingDrive {
        static final CountDownLatch entered = new CountDownLatch(1);
        static final CountDownLatch release = new CountDownLatch(1);

        HeldReads(d4.engine.io.Drive drive) {
            super(drive);
        }

        @Override
        public void read(long offsetBytes, MemorySegment dst) {
            if (Thread.currentThread().getName().equals("held reader")) {
                entered.countDown();
                try {
                    assertTrue(release.await(60, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            drive.read(offsetBytes, dst);
        }
    }

    @Test
    void blocksAReaderMayStillReadAreNotReusedUntilItIsDone() throws Exception {
        Path v = Pools.formatOne(dir, "p");
        PoolOptions held = Pools.QUIET.withDriveFactory((path, alignment) -> new HeldReads(Pools.DRIVES.open(path, alignment)));
        byte[] old = filled(4 * BLOCK, (byte) 'o');
        try (Pool pool = Pool.open(List.of(v), held)) {
            ObjectId a = create(pool);
            Pools.write(pool, a, 0, old);
            pool.sync();

            CompletableFuture<byte[]> reader = new CompletableFuture<>();
            Thread t = Thread.ofPlatform().name("held reader").start(() -> {
                try {
                    reader.complete(readAll(pool, a));
                } catch (Throwable e) {
                    reader.completeExceptionally(e);
                }
            });
            try {
                assertTrue(HeldReads.entered.await(60, TimeUnit.SECONDS), "the reader is in its device read");
                whileTheReaderWaits(pool, a, reader);
            } finally {
                HeldReads.release.countDown();
            }
            assertArrayEquals(old, reader.get(60, TimeUnit.SECONDS), "the reader gets the data as of its read, verified");
            t.join();

            long free = pool.space().freeBlocks();
            pool.sync(); // the reader is gone: the next release frees the four blocks
            assertEquals(free + 4, pool.space().freeBlocks());
            assertArrayEquals(filled(4 * BLOCK, (byte) 'n'), readAll(pool, a));
            assertEquals(List.of(), pool.checkInvariants());
        }
    }

    private static void whileTheReaderWaits(Pool pool, ObjectId a, CompletableFuture<byte[]> reader) {
        // With the reader in its device read, a writer commits (it would wait for the read lock if
        // reads held it through their I/O): it replaces all four blocks, and fsync makes that
        // durable, which would free the old blocks.
        long free = pool.space().freeBlocks();
        Pools.write(pool, a, 0, filled(4 * BLOCK, (byte) 'n'));
        pool.sync();
        assertEquals(free - 4, pool.space().freeBlocks(), "the replaced blocks stay allocated for the reader");
        // New data cannot land on them meanwhile.
        ObjectId b = create(pool);
        Pools.write(pool, b, 0, filled(8 * BLOCK, (byte) 'b'));
        pool.sync();
        assertEquals(free - 12, pool.space().freeBlocks());
        assertFalse(reader.isDone());
    }

    /** Counts batches and their requests (the default submit runs them through read, so data flows as usual). */
    private static final class CountedBatches extends ForwardingDrive {
        static final java.util.concurrent.atomic.AtomicInteger batches = new java.util.concurrent.atomic.AtomicInteger();
        static final java.util.concurrent.atomic.AtomicInteger requests = new java.util.concurrent.atomic.AtomicInteger();

        CountedBatches(d4.engine.io.Drive drive) {
            super(drive);
        }

        @Override
        public void submit(d4.engine.io.IoBatch batch) {
            batches.incrementAndGet();
            requests.addAndGet(batch.size());
            drive.submit(batch);
        }
    }

    /**
     * A range written block by block in reverse (eight extents, not contiguous on the volume) is
     * read with one batch of eight requests, holes zero-filled, every block verified: a damaged
     * block in it is still reported as damage, not returned.
     */
    @Test
    void aFragmentedRangeIsReadInOneBatchAndVerified() throws Exception {
        Path v = Pools.formatOne(dir, "p");
        PoolOptions counted = Pools.QUIET.withDriveFactory((path, alignment) -> new CountedBatches(Pools.DRIVES.open(path,
                alignment)));
        byte[] model = new byte[10 * BLOCK];
        ObjectId a;
        try (Pool pool = Pool.open(List.of(v), counted)) {
            a = create(pool);
            for (int b = 9; b >= 0; b--) {
                if (b == 4 || b == 5) {
                    continue; // a hole in the middle
                }
                byte[] block = filled(BLOCK, (byte) ('a' + b));
                Pools.write(pool, a, (long) b * BLOCK, block);
                System.arraycopy(block, 0, model, b * BLOCK, BLOCK);
            }
            int before = CountedBatches.batches.get();
            int requestsBefore = CountedBatches.requests.get();
            assertArrayEquals(model, readAll(pool, a));
            assertEquals(1, CountedBatches.batches.get() - before);
            assertEquals(8, CountedBatches.requests.get() - requestsBefore);
            pool.sync();
        }
        // Damage block 2's data on the volume: the batched read must report it.
        long physical;
        try (Pool pool = Pool.open(List.of(v), counted)) {
            physical = pool.index().extents(a.value(), 2, 3).getFirst().physicalBlock();
        }
        try (var ch = java.nio.channels.FileChannel.open(v, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(filled(16, (byte) 0x5a)), physical * BLOCK + 100);
        }
        try (Pool pool = Pool.open(List.of(v), counted)) {
            D4Exception.Corruption e = org.junit.jupiter.api.Assertions.assertThrows(D4Exception.Corruption.class,
                    () -> readAll(pool, a));
            assertTrue(e.getMessage().contains("data block 2 "), e.getMessage());
            assertArrayEquals(java.util.Arrays.copyOf(model, 2 * BLOCK), Pools.read(pool, a, 0, 2 * BLOCK),
                    "the blocks before it read fine");
        }
    }

    private static byte[] filled(int n, byte value) {
        byte[] b = new byte[n];
        Arrays.fill(b, value);
        return b;
    }
}
