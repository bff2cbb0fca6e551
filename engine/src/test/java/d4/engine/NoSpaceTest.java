package d4.engine;

import static d4.engine.Pools.BLOCK;
import static d4.engine.Pools.MIB;
import static d4.engine.Pools.create;
import static d4.engine.Pools.open;
import static d4.engine.Pools.random;
import static d4.engine.Pools.read;
import static d4.engine.Pools.readAll;
import static d4.engine.Pools.utf8;
import static d4.engine.Pools.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NoSpaceTest {
    @TempDir
    Path dir;

    private record Written(ObjectId id, long seed, int length) {
        byte[] data() {
            return random(new Random(seed), length);
        }
    }

    @Test
    void aFullPoolReportsNoSpaceKeepsItsDataAndRecoversAfterADelete() {
        Path v = Pools.formatOne(dir, "p");
        List<Written> written = new ArrayList<>();
        D4Exception.NoSpace full = null;
        try (Pool pool = open(v)) {
            long capacity = pool.info().capacityBytes();
            for (int i = 0; i < 200 && full == null; i++) {
                int length = (int) MIB + 3 * i; // unaligned lengths: partial last blocks
                ObjectId id = create(pool);
                try {
                    write(pool, id, 0, random(new Random(i), length));
                    written.add(new Written(id, i, length));
                } catch (D4Exception.NoSpace e) {
                    full = e;
                    Pools.delete(pool, id);
                }
            }
            assertTrue(full != null, "a 64 MiB pool cannot take 200 MiB");
            assertTrue(full.getMessage().contains("full"), full.getMessage());
            assertFalse(pool.failure().isPresent(), "ENOSPC is not a fatal error: " + pool.failure());
            long stored = written.stream().mapToLong(Written::length).sum();
            assertTrue(stored > capacity - 4 * MIB, "the pool filled up to its capacity minus the reserve: " + stored
                    + " of " + capacity);
            // The failed write kept nothing: smaller writes fail too until something is freed.
            assertThrows(D4Exception.NoSpace.class, () -> write(pool, written.getFirst().id(), 0, new byte[(int) MIB]));
            assertArrayEquals(written.getFirst().data(), readAll(pool, written.getFirst().id()),
                    "a failed overwrite leaves the old data");
            // Metadata-only transactions still work on a full pool.
            Pools.putEntry(pool, ObjectId.POOL, utf8("still"), utf8("works"));
            for (Written w : written) {
                assertArrayEquals(w.data(), readAll(pool, w.id()), "object " + w.id());
            }
            pool.sync();
        }
        try (Pool pool = open(v)) {
            for (Written w : written) {
                assertArrayEquals(w.data(), readAll(pool, w.id()), "after reopen: object " + w.id());
            }
            assertArrayEquals(utf8("works"), pool.entry(ObjectId.POOL, utf8("still")).orElseThrow());
            ObjectId extra = create(pool);
            assertThrows(D4Exception.NoSpace.class, () -> write(pool, extra, 0, new byte[(int) (2 * MIB)]),
                    "still full after reopen");

            Written victim = written.remove(3);
            long freeBefore = pool.info().freeBytes();
            Pools.delete(pool, victim.id());
            pool.sync();
            assertTrue(pool.info().freeBytes() >= freeBefore + MIB - 16 * BLOCK,
                    "the delete gave space back: " + freeBefore + " -> " + pool.info().freeBytes());
            byte[] fresh = random(new Random(99), (int) MIB - 1000);
            write(pool, extra, 0, fresh);
            assertArrayEquals(fresh, readAll(pool, extra));
            assertFalse(pool.failure().isPresent());
        }
        try (Pool pool = open(v)) {
            assertEquals(written.size() + 2L, pool.info().objectCount(), "pool object + kept objects + extra");
            assertArrayEquals(written.getLast().data(), readAll(pool, written.getLast().id()));
        }
    }

    /**
     * A pool filled with data and then with metadata alone (objects and entries, no data) refuses
     * the creates with NoSpace before the next checkpoint would lack room: it closes, opens again
     * (every open checkpoints) and takes a delete.
     */
    @Test
    void createsOnAFullPoolStopBeforeTheCheckpointLacksRoom() {
        Path v = Pools.formatOne(dir, "p");
        List<ObjectId> objects = new ArrayList<>();
        try (Pool pool = open(v)) {
            while (true) {
                ObjectId id = create(pool);
                try {
                    write(pool, id, 0, new byte[(int) MIB]);
                    objects.add(id);
                } catch (D4Exception.NoSpace e) {
                    break;
                }
            }
            int created = 0;
            D4Exception.NoSpace full = null;
            for (int i = 0; i < 200_000 && full == null; i++) {
                try (Txn t = pool.begin()) {
                    ObjectId id = t.create(utf8("metadata only " + "x".repeat(200)));
                    t.putEntry(ObjectId.POOL, utf8(String.format("name-%07d", i)), utf8(id.value() + " " + "y".repeat(300)));
                    t.commit();
                    created++;
                } catch (D4Exception.NoSpace e) {
                    full = e;
                }
            }
            assertTrue(full != null, "a 64 MiB pool cannot take 200,000 more objects");
            assertTrue(created > 0, "some creates fit in the slack");
            assertFalse(pool.failure().isPresent(), "NoSpace is not fatal: " + pool.failure());
            try (Txn t = pool.begin()) { // a rename (an entry removed, one put) passes on a full pool
                t.removeEntry(ObjectId.POOL, utf8("name-0000000"));
                t.putEntry(ObjectId.POOL, utf8("renamed"), utf8("moved"));
                t.commit();
            }
        }
        try (Pool pool = open(v)) { // the open's checkpoint found room
            assertEquals(List.of(), pool.checkInvariants());
            Pools.delete(pool, objects.removeLast());
            pool.sync();
        }
        try (Pool pool = open(v)) {
            assertEquals(List.of(), pool.checkInvariants());
        }
    }

    @Test
    void deleteWithoutExplicitSyncFreesSpaceForTheNextWrite() {
        // allocateData syncs once to release pending frees before reporting ENOSPC.
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            List<ObjectId> ids = new ArrayList<>();
            while (true) {
                ObjectId id = create(pool);
                try {
                    write(pool, id, 0, new byte[(int) (4 * MIB)]);
                    ids.add(id);
                } catch (D4Exception.NoSpace e) {
                    break;
                }
            }
            Pools.delete(pool, ids.getFirst()); // not synced
            ObjectId id = create(pool);
            byte[] data = random(new Random(3), (int) (3 * MIB));
            write(pool, id, 0, data);
            assertArrayEquals(data, readAll(pool, id));
        }
    }

    /** Creates one-block objects until the pool is full; returns how many. */
    private static int fillWithSmallObjects(Pool pool, List<ObjectId> ids) {
        int n = 0;
        while (true) {
            try (Txn t = pool.begin()) {
                ObjectId id = t.create(new byte[300]);
                t.commit();
                ids.add(id);
                write(pool, id, 0, new byte[BLOCK]);
                n++;
            } catch (D4Exception.NoSpace e) {
                return n;
            }
        }
    }

    /**
     * Fill with one-block objects, delete every other one, fill again: free space ends up in
     * one-block holes. The checkpoint that a commit starts when the journal is half full then needs
     * more than MetaSlot.MAX_RUNS runs for its image; MetaSlot's constructor throws NoSpace inside
     * Pool.checkpoint(), which calls fail(): the commit that triggered it reports NoSpace although it
     * was journaled and applied, and the pool takes no more writes ("run d4 fsck") until reopened.
     */
    @Test
    void fragmentedFreeSpaceDoesNotStopThePool() {
        Path v = Pools.formatOne(dir, "p");
        List<ObjectId> ids = new ArrayList<>();
        try (Pool pool = open(v)) {
            for (int round = 0; round < 3; round++) {
                int filled = fillWithSmallObjects(pool, ids);
                assertFalse(pool.failure().isPresent(), "round " + round + " after filling " + filled + " objects: the pool"
                        + " stopped taking writes: " + pool.failure().map(Throwable::getMessage).orElse(""));
                for (int i = ids.size() - 1; i >= 0; i -= 2) {
                    Pools.delete(pool, ids.remove(i));
                }
                pool.sync();
            }
        }
    }

    @Test
    void noSpaceInTheMiddleOfAMultiRunWriteKeepsNothingOfIt() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId a = create(pool);
            byte[] before = random(new Random(5), 10_000);
            write(pool, a, 0, before);
            pool.sync();
            // The blocks themselves (reported free space also subtracts a reserve that follows what
            // changed since the last checkpoint, which the failed write's allocations did).
            long free = pool.space().freeBlocks();
            try (Txn t = pool.begin()) {
                assertThrows(D4Exception.NoSpace.class, () -> t.write(a, 5, MemorySegment.ofArray(new byte[(int) (80 * MIB)])));
            }
            assertEquals(free, pool.space().freeBlocks(), "every block of the failed write came back");
            assertArrayEquals(before, readAll(pool, a));
            assertEquals(10_000, pool.get(a).sizeBytes());
            assertEquals(0, read(pool, a, 10_000, 10).length);
        }
    }
}
