package d4.engine;

import static d4.engine.Pools.BLOCK;
import static d4.engine.Pools.MIB;
import static d4.engine.Pools.create;
import static d4.engine.Pools.open;
import static d4.engine.Pools.random;
import static d4.engine.Pools.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes staged outside the pool's write lock ({@link Pool#stage}) and mapped by a transaction:
 * the same bytes as a locked write, no block lost or leaked whatever happens in between (a
 * concurrent change of a partial block, a discarded stage, a checkpoint, a crash), and writers of
 * different objects really overlapping.
 */
class StagedWriteTest {
    @TempDir
    Path dir;

    private static void stagedWrite(Pool pool, ObjectId id, long offset, byte[] data) {
        try (StagedWrite s = pool.stage(id, offset, MemorySegment.ofArray(data)); Txn t = pool.begin()) {
            t.write(s);
            t.commit();
        }
    }

    /** Unaligned and aligned writes, inside, across and past the end: bytes as a model array says. */
    @Test
    void stagedWritesGiveTheSameBytesAsTheModel() {
        Path v = Pools.formatOne(dir, "p");
        Random rnd = new Random(7);
        byte[] model = new byte[0];
        try (Pool pool = open(v)) {
            ObjectId id = create(pool);
            long[][] writes = {{0, 3 * BLOCK}, {100, 10}, {BLOCK - 5, 10}, {5 * BLOCK + 17, 2 * BLOCK},
                {2 * BLOCK, BLOCK}, {MIB - 3, MIB + 9}, {10 * BLOCK + 1, 1}};
            for (long[] w : writes) {
                byte[] data = random(rnd, (int) w[1]);
                stagedWrite(pool, id, w[0], data);
                int end = (int) (w[0] + w[1]);
                if (end > model.length) {
                    model = Arrays.copyOf(model, end);
                }
                System.arraycopy(data, 0, model, (int) w[0], data.length);
                assertArrayEquals(model, readAll(pool, id), "after writing " + w[1] + " bytes at " + w[0]);
            }
            assertEquals(List.of(), pool.checkInvariants());
        }
        try (Pool pool = open(v)) {
            assertArrayEquals(model, readAll(pool, new ObjectId(1)), "after reopening");
            assertEquals(List.of(), pool.checkInvariants());
        }
    }

    /**
     * A block the staged write merged at its end is changed by another transaction before the staged
     * one commits: the commit notices and writes again from the source, so neither change is lost.
     */
    @Test
    void aPartialBlockChangedMeanwhileIsMergedAgain() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId id = create(pool);
            Pools.write(pool, id, 0, filled(2 * BLOCK, (byte) 'a'));
            long freeBefore = pool.info().freeBytes();
            try (StagedWrite s = pool.stage(id, 100, MemorySegment.ofArray(filled(10, (byte) 'b')))) {
                Pools.write(pool, id, 0, filled(50, (byte) 'c')); // the same block, committed first
                try (Txn t = pool.begin()) {
                    t.write(s);
                    t.commit();
                }
            }
            byte[] expected = filled(2 * BLOCK, (byte) 'a');
            Arrays.fill(expected, 0, 50, (byte) 'c');
            Arrays.fill(expected, 100, 110, (byte) 'b');
            assertArrayEquals(expected, readAll(pool, id));
            pool.sync();
            assertEquals(freeBefore, pool.info().freeBytes(), "block 0 was rewritten twice: the staged copy was freed");
            assertEquals(List.of(), pool.checkInvariants());
        }
    }

    /** The same race on a whole-block write: nothing to merge, so the staged blocks are used as they are. */
    @Test
    void wholeBlockWritesNeedNoCheck() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId id = create(pool);
            try (StagedWrite s = pool.stage(id, BLOCK, MemorySegment.ofArray(filled(BLOCK, (byte) 'x')))) {
                assertEquals(List.of(), s.oldBlocks);
                Pools.write(pool, id, 0, filled(3 * BLOCK, (byte) 'y'));
                try (Txn t = pool.begin()) {
                    t.write(s);
                    t.commit();
                }
            }
            byte[] expected = filled(3 * BLOCK, (byte) 'y');
            Arrays.fill(expected, BLOCK, 2 * BLOCK, (byte) 'x');
            assertArrayEquals(expected, readAll(pool, id), "the later commit wins for the block it wrote");
            assertEquals(List.of(), pool.checkInvariants());
        }
    }

    /** Staged and never committed, or its transaction closed without commit: every block comes back. */
    @Test
    void discardedStagesFreeTheirBlocks() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId id = create(pool);
            long free = pool.info().freeBytes();
            try (StagedWrite s = pool.stage(id, 0, MemorySegment.ofArray(new byte[(int) MIB]))) {
                assertEquals(MIB / BLOCK, s.runs().stream().mapToLong(d4.engine.alloc.Run::lengthBlocks).sum());
                assertEquals(free - MIB, pool.info().freeBytes(), "the staged blocks are allocated");
                assertEquals(List.of(), pool.checkInvariants(), "staged blocks count as in use, not leaked");
            }
            assertEquals(free, pool.info().freeBytes());
            try (StagedWrite s = pool.stage(id, 0, MemorySegment.ofArray(new byte[(int) MIB])); Txn t = pool.begin()) {
                t.write(s);
                // closed without commit: the transaction owns the blocks now and frees them
            }
            assertEquals(free, pool.info().freeBytes());
            assertEquals(0, pool.get(id).sizeBytes());
            assertEquals(List.of(), pool.checkInvariants());
        }
    }

    /** A stage for an object deleted before it commits: ObjectNotFound, and nothing is kept. */
    @Test
    void anObjectDeletedMeanwhileKeepsNothing() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId id = create(pool);
            long free = pool.info().freeBytes();
            assertThrows(D4Exception.ObjectNotFound.class, () -> {
                try (StagedWrite s = pool.stage(id, 10, MemorySegment.ofArray(new byte[100]))) {
                    Pools.delete(pool, id);
                    try (Txn t = pool.begin()) {
                        t.write(s);
                        t.commit();
                    }
                }
            });
            assertThrows(D4Exception.ObjectNotFound.class, () -> pool.stage(id, 0, MemorySegment.ofArray(new byte[10])));
            pool.sync();
            assertEquals(free, pool.info().freeBytes());
            assertEquals(List.of(), pool.checkInvariants());
        }
    }

    /**
     * A checkpoint while a write is staged stores its blocks free: after a crash right then, the
     * pool has no leaked block. The live pool commits the staged write afterwards as usual.
     */
    @Test
    void aCheckpointWhileStagedStoresTheBlocksFree() {
        Path v = Pools.formatOne(dir, "p");
        List<Path> copy;
        byte[] data = random(new Random(3), (int) MIB);
        try (Pool pool = open(v)) {
            ObjectId id = create(pool);
            try (StagedWrite s = pool.stage(id, 0, MemorySegment.ofArray(data))) {
                try (Txn t = pool.begin()) {
                    pool.checkpoint(List.of());
                    t.commit();
                }
                copy = Pools.crashCopy(dir.resolve("crash"), v);
                try (Txn t = pool.begin()) {
                    t.write(s);
                    t.commit();
                }
            }
            pool.sync();
            assertArrayEquals(data, readAll(pool, id));
            assertEquals(List.of(), pool.checkInvariants());
        }
        try (Pool pool = open(copy.getFirst())) {
            assertEquals(0, pool.get(new ObjectId(1)).sizeBytes());
            assertEquals(List.of(), pool.checkInvariants(), "no staged block was stored as used");
        }
        try (Pool pool = open(v)) {
            assertArrayEquals(data, readAll(pool, new ObjectId(1)));
        }
    }

    /**
     * Writers of different objects overlap their device writes: while one thread has staged (its
     * data written, its transaction not begun), others stage and commit theirs. With the data write
     * under the write lock, the first writer would hold everyone up. Then many threads race on
     * random unaligned writes over a few shared objects; the result matches a per-object replay.
     */
    @Test
    void concurrentWritersNeitherWaitForEachOtherNorLoseBytes() throws Exception {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v); ExecutorService exec = Executors.newFixedThreadPool(4)) {
            ObjectId first = create(pool);
            ObjectId second = create(pool);
            try (StagedWrite held = pool.stage(first, 0, MemorySegment.ofArray(filled(BLOCK, (byte) 1)))) {
                Future<?> other = exec.submit(() -> stagedWrite(pool, second, 0, filled(BLOCK, (byte) 2)));
                other.get(30, TimeUnit.SECONDS); // finishes while the first write is staged
                try (Txn t = pool.begin()) {
                    t.write(held);
                    t.commit();
                }
            }
            assertArrayEquals(filled(BLOCK, (byte) 1), readAll(pool, first));
            assertArrayEquals(filled(BLOCK, (byte) 2), readAll(pool, second));

            // Each thread owns its object (one writer per file, as the kernel serializes writes to a
            // FUSE inode), so the expected content is that thread's own replay.
            int threads = 4;
            CountDownLatch go = new CountDownLatch(1);
            List<Future<byte[]>> results = new ArrayList<>();
            List<ObjectId> ids = new ArrayList<>();
            for (int k = 0; k < threads; k++) {
                ObjectId id = create(pool);
                ids.add(id);
                long seed = k;
                results.add(exec.submit(() -> {
                    Random rnd = new Random(seed);
                    byte[] model = new byte[0];
                    go.await();
                    for (int i = 0; i < 200; i++) {
                        int offset = rnd.nextInt(300_000);
                        byte[] data = random(rnd, 1 + rnd.nextInt(20_000));
                        stagedWrite(pool, id, offset, data);
                        if (offset + data.length > model.length) {
                            model = Arrays.copyOf(model, offset + data.length);
                        }
                        System.arraycopy(data, 0, model, offset, data.length);
                    }
                    return model;
                }));
            }
            go.countDown();
            for (int k = 0; k < threads; k++) {
                assertArrayEquals(results.get(k).get(120, TimeUnit.SECONDS), readAll(pool, ids.get(k)), "object " + k);
            }
            assertEquals(List.of(), pool.checkInvariants());
        }
    }

    /**
     * Two threads write unaligned ranges that share blocks of one object, staged and committed
     * concurrently. Every byte must come from one of the writes that covered it; a block merged from
     * a stale copy would bring back a byte neither wrote there.
     */
    @Test
    void racingWritesToSharedBlocksLoseNoCommittedByte() throws Exception {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v); ExecutorService exec = Executors.newFixedThreadPool(2)) {
            ObjectId id = create(pool);
            int size = 8 * BLOCK;
            Pools.write(pool, id, 0, new byte[size]);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            // Thread k writes byte value k+1 at odd (k=0) or even (k=1) 100-byte slots: disjoint
            // bytes, shared blocks. Whatever the interleaving, each slot ends with its writer's value.
            for (int k = 0; k < 2; k++) {
                int parity = k;
                done.add(exec.submit(() -> {
                    go.await();
                    for (int round = 0; round < 50; round++) {
                        for (int slot = parity; slot * 100 + 100 <= size; slot += 2) {
                            stagedWrite(pool, id, slot * 100L, filled(100, (byte) (parity + 1)));
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(300, TimeUnit.SECONDS);
            }
            byte[] data = readAll(pool, id);
            for (int slot = 0; slot * 100 + 100 <= size; slot++) {
                for (int b = slot * 100; b < slot * 100 + 100; b++) {
                    assertEquals((byte) (slot % 2 + 1), data[b], "byte " + b);
                }
            }
            assertTrue(data.length == size);
            assertEquals(List.of(), pool.checkInvariants());
        }
    }

    private static byte[] filled(int n, byte value) {
        byte[] b = new byte[n];
        Arrays.fill(b, value);
        return b;
    }
}
