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
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import d4.engine.io.DriveFactory;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash simulation: the volume files are copied while the pool is open (what a power cut would
 * leave, given that everything the pool wrote is in the page cache), then the copy is opened, which
 * replays the journal.
 */
class CrashRecoveryTest {
    @TempDir
    Path dir;

    /**
     * A checkpoint taken inside a commit (the journal had no room for the record) stores the blocks
     * the transaction allocated as free, because nothing durable references them until the record is
     * in: a crash right after it leaks nothing. The same checkpoint without that exclusion leaks the
     * blocks, and fsck's space check says so (proof that the check sees a leak).
     */
    @Test
    void aCheckpointInsideACommitStoresTheTransactionsBlocksFree() {
        for (boolean exclude : new boolean[] {true, false}) {
            Path v = Pools.formatOne(dir.resolve("pool-" + exclude), "p");
            List<Path> copy;
            try (Pool pool = open(v)) {
                ObjectId a = create(pool);
                try (Txn t = pool.begin()) {
                    t.write(a, 0, MemorySegment.ofArray(random(new Random(1), (int) MIB)));
                    assertEquals(MIB / BLOCK, t.allocatedRuns().stream().mapToLong(d4.engine.alloc.Run::lengthBlocks).sum());
                    pool.checkpoint(exclude ? t.allocatedRuns() : List.of());
                    copy = Pools.crashCopy(dir.resolve("crash-" + exclude), v);
                    t.commit();
                }
                assertEquals(List.of(), pool.checkInvariants(), "the live pool is consistent either way");
            }
            try (Pool pool = open(copy.getFirst())) {
                assertEquals(0, pool.get(new ObjectId(1)).sizeBytes(), "the write never committed before the crash");
                List<String> problems = pool.checkInvariants();
                if (exclude) {
                    assertEquals(List.of(), problems);
                } else {
                    assertEquals(List.of(MIB / BLOCK + " blocks are marked used in the free-space map but nothing references"
                            + " them (leaked space)"), problems);
                    long freeBefore = pool.info().freeBytes();
                    assertEquals(Optional.of("rebuilt the free-space map: " + MIB / BLOCK + " leaked blocks freed, 0 blocks"
                            + " in use marked used"), pool.repairFreeSpace());
                    assertEquals(freeBefore + MIB, pool.info().freeBytes(), "fsck --repair gives the leaked space back");
                    assertEquals(List.of(), pool.checkInvariants());
                    assertEquals(Optional.empty(), pool.repairFreeSpace());
                }
            }
            try (Pool pool = open(copy.getFirst())) {
                assertEquals(List.of(), pool.checkInvariants(), "the repair was checkpointed");
            }
        }
    }

    /**
     * Free-space records that contradict the journal (here: a checkpoint inside a commit that stored
     * the transaction's blocks as used, then the commit made durable): a writable open refuses with
     * a clear error, a check reports it, and fsck --repair's open rebuilds the map from the metadata.
     */
    @Test
    void contradictoryFreeSpaceIsRefusedReportedAndRebuiltByRepair() {
        Path v = Pools.formatOne(dir, "p");
        List<Path> copy;
        byte[] data = random(new Random(2), (int) MIB);
        try (Pool pool = open(v)) {
            ObjectId a = create(pool);
            try (Txn t = pool.begin()) {
                t.write(a, 0, MemorySegment.ofArray(data));
                pool.checkpoint(List.of()); // the bug this models: the transaction's blocks stored as used
                t.commit();
            }
            pool.sync();
            copy = Pools.crashCopy(dir.resolve("crash"), v);
        }
        Path c = copy.getFirst();
        D4Exception.Corruption refused = org.junit.jupiter.api.Assertions.assertThrows(D4Exception.Corruption.class,
                () -> open(c));
        assertTrue(refused.getMessage().contains("referenced twice") && refused.getMessage().contains("fsck"),
                refused.getMessage());
        try (Pool check = Pool.open(List.of(c), Pools.QUIET.asReadOnly())) {
            List<String> problems = check.checkInvariants();
            assertTrue(problems.stream().anyMatch(p -> p.contains("referenced twice")), problems.toString());
        }
        try (Pool repair = Pool.open(List.of(c), Pools.QUIET.withFreeSpaceRebuilt())) {
            Optional<String> done = repair.repairFreeSpace();
            assertTrue(done.isPresent() && done.get().contains("inconsistent free-space records replaced"), done.toString());
            assertEquals(List.of(), repair.checkInvariants());
            assertArrayEquals(data, readAll(repair, new ObjectId(1)));
        }
        try (Pool pool = open(c)) {
            assertEquals(List.of(), pool.checkInvariants(), "the rebuilt map was stored");
            assertArrayEquals(data, readAll(pool, new ObjectId(1)));
        }
    }

    /** Many checkpoints and crashes in between: free space after each reopen is exactly what is referenced. */
    @Test
    void freeSpaceSurvivesCrashesBetweenCheckpointsWithoutLeaks() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(5);
        Path current = v;
        Map<Long, byte[]> model = new HashMap<>();
        for (int round = 0; round < 6; round++) {
            List<Path> copy;
            try (Pool pool = open(current)) {
                for (int i = 0; i < 40; i++) {
                    if (model.isEmpty() || r.nextInt(3) > 0) {
                        ObjectId id = create(pool);
                        byte[] data = random(r, 1 + r.nextInt(200_000));
                        write(pool, id, 0, data);
                        model.put(id.value(), data);
                    } else {
                        Long victim = model.keySet().stream().skip(r.nextInt(model.size())).findFirst().orElseThrow();
                        Pools.delete(pool, new ObjectId(victim));
                        model.remove(victim);
                    }
                    if (i % 13 == 0) {
                        Txn holdsTheWriteLock = pool.begin();
                        try {
                            pool.checkpoint();
                        } finally {
                            holdsTheWriteLock.close();
                        }
                    }
                }
                pool.sync();
                copy = Pools.crashCopy(dir.resolve("crash-" + round), current);
            }
            current = copy.getFirst();
            try (Pool pool = open(current)) {
                assertEquals(List.of(), pool.checkInvariants(), "after crash " + round);
                for (var e : model.entrySet()) {
                    assertArrayEquals(e.getValue(), readAll(pool, new ObjectId(e.getKey())), "object " + e.getKey());
                }
            }
        }
    }

    @Test
    void everySyncedChangeSurvivesACrash() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(21);
        byte[] a1 = random(r, 300_000);
        byte[] b1 = random(r, 3 * BLOCK + 1);
        byte[] patch = random(r, 5000);
        List<Path> copy;
        ObjectId a;
        ObjectId b;
        ObjectId gone;
        try (Pool pool = open(v)) {
            long gen = Pools.newestGeneration(v);
            a = create(pool, utf8("attrs-a"));
            b = create(pool);
            gone = create(pool);
            write(pool, a, 0, a1);
            write(pool, b, 0, b1);
            write(pool, gone, 0, random(r, 50_000));
            write(pool, a, 1000, patch);
            Pools.truncate(pool, b, 100);
            Pools.putEntry(pool, a, utf8("name"), utf8("value"));
            Pools.delete(pool, gone);
            try (Txn t = pool.begin()) {
                t.setAttrs(b, utf8("attrs-b"));
                t.putEntry(ObjectId.POOL, utf8("root"), utf8("" + a.value()));
                t.commit();
            }
            pool.sync();
            copy = Pools.crashCopy(dir.resolve("crash"), v);
            assertEquals(gen, Pools.newestGeneration(copy.getFirst()), "no checkpoint yet: the journal holds the changes");
        }
        System.arraycopy(patch, 0, a1, 1000, patch.length);
        try (Pool pool = open(copy.getFirst())) {
            assertArrayEquals(a1, readAll(pool, a));
            assertArrayEquals(Arrays.copyOf(b1, 100), readAll(pool, b));
            assertArrayEquals(utf8("attrs-a"), pool.get(a).attrs());
            assertArrayEquals(utf8("attrs-b"), pool.get(b).attrs());
            assertArrayEquals(utf8("value"), pool.entry(a, utf8("name")).orElseThrow());
            assertArrayEquals(utf8("" + a.value()), pool.entry(ObjectId.POOL, utf8("root")).orElseThrow());
            assertTrue(pool.find(gone).isEmpty());
            assertEquals(3, pool.info().objectCount());
            ObjectId next = create(pool);
            assertTrue(next.value() > gone.value(), "replay restores the id counter");
        }
        // The replay was checkpointed at open: a second open of the copy shows the same state.
        try (Pool pool = open(copy.getFirst())) {
            assertArrayEquals(a1, readAll(pool, a));
            assertEquals(4, pool.info().objectCount());
        }
    }

    @Test
    void unsyncedCommitIsAbsentAfterACrashAndThePoolOpensCleanly() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(22);
        byte[] base = random(r, 20_000);
        List<Path> copy;
        ObjectId a;
        try (Pool pool = open(v)) {
            a = create(pool);
            write(pool, a, 0, base);
            pool.sync();
            try (Txn t = pool.begin()) {
                t.write(a, 10, MemorySegment.ofArray(random(r, 30_000)));
                t.putEntry(a, utf8("k"), utf8("v"));
                t.create(utf8("new"));
                t.commit();
            }
            copy = Pools.crashCopy(dir.resolve("crash"), v);
        }
        try (Pool pool = open(copy.getFirst())) {
            assertArrayEquals(base, readAll(pool, a), "the unsynced write is not there, the synced one is");
            assertTrue(pool.entry(a, utf8("k")).isEmpty());
            assertEquals(2, pool.info().objectCount());
        }
    }

    /**
     * With a fast background flusher the crash copy may or may not hold the last transaction: either
     * way it holds every op of a transaction or none of them.
     */
    @Test
    void aCrashAtAnyMomentLeavesWholeTransactions() throws Exception {
        Path v = Pools.formatOne(dir, "p");
        PoolOptions fast = new PoolOptions(Pools.DRIVES, 2);
        Random r = new Random(23);
        int withLast = 0;
        int withoutLast = 0;
        try (Pool pool = Pool.open(List.of(v), fast)) {
            ObjectId a = create(pool);
            ObjectId b = create(pool);
            pool.sync();
            for (int round = 0; round < 12; round++) {
                byte[] data = random(r, 1 + r.nextInt(20_000));
                try (Txn t = pool.begin()) {
                    t.write(a, 0, MemorySegment.ofArray(data));
                    t.write(b, 0, MemorySegment.ofArray(data));
                    t.putEntry(a, utf8("round"), utf8("" + round));
                    t.putEntry(b, utf8("round"), utf8("" + round));
                    t.commit();
                }
                Thread.sleep(r.nextInt(6));
                List<Path> copy = Pools.crashCopy(dir.resolve("crash" + round), v);
                try (Pool c = open(copy.getFirst())) {
                    Optional<byte[]> ra = c.entry(a, utf8("round"));
                    Optional<byte[]> rb = c.entry(b, utf8("round"));
                    assertEquals(ra.map(String::new), rb.map(String::new), "both entries come from one transaction");
                    byte[] da = readAll(c, a);
                    assertArrayEquals(da, readAll(c, b), "both writes come from the same transaction");
                    if (ra.isPresent() && new String(ra.get()).equals("" + round)) {
                        withLast++;
                        assertArrayEquals(data, Arrays.copyOf(da, data.length));
                    } else {
                        withoutLast++;
                        int prev = ra.map(x -> Integer.parseInt(new String(x))).orElse(-1);
                        assertTrue(prev < round, "an older round: " + prev);
                    }
                }
            }
        }
        System.out.println("crash copies with the last transaction: " + withLast + ", without: " + withoutLast);
    }

    /**
     * Thousands of small transactions, synced in small groups: the journal passes half full several
     * times, so checkpoints run and the journal restarts. A crash copy then holds everything synced.
     */
    @Test
    void manySmallTransactionsThroughCheckpointsSurviveACrash() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(24);
        int objects = 16;
        byte[][] model = new byte[objects][];
        ObjectId[] ids = new ObjectId[objects];
        Map<String, String> entries = new HashMap<>();
        List<Path> copy;
        long startGen;
        try (Pool pool = open(v)) {
            startGen = Pools.newestGeneration(v);
            try (Txn t = pool.begin()) {
                for (int i = 0; i < objects; i++) {
                    ids[i] = t.create(new byte[0]);
                    model[i] = new byte[0];
                }
                t.commit();
            }
            for (int i = 0; i < 4000; i++) {
                int o = r.nextInt(objects);
                int off = r.nextInt(64 * 1024);
                byte[] data = random(r, 1 + r.nextInt(300));
                try (Txn t = pool.begin()) {
                    t.write(ids[o], off, MemorySegment.ofArray(data));
                    t.putEntry(ids[o], utf8("e" + (i % 100)), utf8("" + i));
                    t.commit();
                }
                model[o] = apply(model[o], off, data);
                entries.put(o + "/e" + (i % 100), "" + i);
                if (i % 3 == 2) {
                    pool.sync(); // one journal block per group: 4000 / 3 blocks pass half of 1024 blocks twice
                }
            }
            pool.sync();
            copy = Pools.crashCopy(dir.resolve("crash"), v);
            assertTrue(Pools.newestGeneration(copy.getFirst()) > startGen + 1,
                    "the journal filled past half at least twice: generation " + Pools.newestGeneration(copy.getFirst()));
        }
        verify(copy.getFirst(), ids, model, entries);
        verify(v, ids, model, entries);
    }

    /**
     * The same load with no sync of its own: records pile up in big group commits that span many
     * journal blocks (the checkpoints at half full make them durable), then one final sync.
     */
    @Test
    void manyTransactionsInLargeGroupCommitsSurviveACrash() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(25);
        int objects = 16;
        byte[][] model = new byte[objects][];
        ObjectId[] ids = new ObjectId[objects];
        Map<String, String> entries = new HashMap<>();
        List<Path> copy;
        try (Pool pool = open(v)) {
            try (Txn t = pool.begin()) {
                for (int i = 0; i < objects; i++) {
                    ids[i] = t.create(new byte[0]);
                    model[i] = new byte[0];
                }
                t.commit();
            }
            for (int i = 0; i < 3000; i++) {
                int o = r.nextInt(objects);
                int off = r.nextInt(64 * 1024);
                byte[] data = random(r, 1 + r.nextInt(300));
                try (Txn t = pool.begin()) {
                    t.write(ids[o], off, MemorySegment.ofArray(data));
                    t.putEntry(ids[o], utf8("e" + (i % 100)), utf8("" + i));
                    t.commit();
                }
                model[o] = apply(model[o], off, data);
                entries.put(o + "/e" + (i % 100), "" + i);
            }
            pool.sync();
            copy = Pools.crashCopy(dir.resolve("crash"), v);
        }
        verify(copy.getFirst(), ids, model, entries);
    }

    /**
     * The smallest case of the bug above: one batch of two records where the first ends 10 bytes
     * before a block boundary. Both transactions were committed and synced.
     */
    @Test
    void syncedRecordStartingNearTheEndOfAJournalBlockIsReplayed() {
        Path v = Pools.formatOne(dir, "p");
        List<Path> copy;
        try (Pool pool = open(v)) {
            // A fresh open starts the journal at offset 0. Record = 32-byte header + PutEntry op
            // (1 + 8 + 4 + key + 4 + value) = 49 + key + value bytes: 4086 bytes, 10 short of 4096.
            Pools.putEntry(pool, ObjectId.POOL, utf8("first"), new byte[4086 - 49 - 5]);
            Pools.putEntry(pool, ObjectId.POOL, utf8("second"), utf8("lost?"));
            pool.sync();
            copy = Pools.crashCopy(dir.resolve("crash"), v);
        }
        try (Pool pool = open(copy.getFirst())) {
            assertTrue(pool.entry(ObjectId.POOL, utf8("first")).isPresent(), "first record replayed");
            assertArrayEquals(utf8("lost?"), pool.entry(ObjectId.POOL, utf8("second")).orElse(null),
                    "the second synced transaction must survive the crash");
        }
    }

    @Test
    void blocksReleasedByAnUnsyncedDeleteAreNotReusedBeforeItIsDurable() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(26);
        byte[] old = random(r, (int) (4 * MIB));
        List<Path> copy;
        ObjectId x;
        try (Pool pool = open(v)) {
            x = create(pool);
            write(pool, x, 0, old);
            pool.sync();
            Pools.delete(pool, x); // committed, not durable
            // Fill most of the pool: if the deleted object's blocks were reused, its data would be overwritten.
            for (int i = 0; i < 12; i++) {
                ObjectId y = create(pool);
                write(pool, y, 0, random(r, (int) (4 * MIB)));
            }
            copy = Pools.crashCopy(dir.resolve("crash"), v);
        }
        try (Pool pool = open(copy.getFirst())) {
            assertTrue(pool.find(x).isPresent(), "the delete was never durable");
            assertArrayEquals(old, readAll(pool, x), "the deleted object's blocks were not reused before the delete was durable");
        }
    }

    @Test
    void overwrittenDataStaysReadableUntilTheOverwriteIsDurable() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(27);
        byte[] old = random(r, 200_000);
        List<Path> copy;
        ObjectId x;
        try (Pool pool = open(v)) {
            x = create(pool);
            write(pool, x, 0, old);
            pool.sync();
            for (int i = 0; i < 30; i++) {
                write(pool, x, 0, random(r, 200_000)); // copy-on-write, never synced
            }
            copy = Pools.crashCopy(dir.resolve("crash"), v);
        }
        try (Pool pool = open(copy.getFirst())) {
            assertArrayEquals(old, readAll(pool, x));
        }
    }

    @Test
    void allocatedAndPunchedRangesAreReplayedAfterACrash() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(31);
        byte[] data = random(r, 10 * BLOCK);
        List<Path> copy;
        ObjectId x;
        ObjectId y;
        long allocatedBefore;
        try (Pool pool = open(v)) {
            x = create(pool);
            y = create(pool);
            write(pool, x, 0, data);
            pool.sync(); // a checkpoint-free journal from here on: the crash copy replays what follows
            try (Txn t = pool.begin()) {
                t.punchHole(x, BLOCK + 10, 3 * BLOCK);
                t.allocate(y, 0, 5 * BLOCK, false);
                t.commit();
            }
            pool.sync();
            allocatedBefore = pool.get(x).allocatedBytes();
            copy = Pools.crashCopy(dir.resolve("crash"), v);
        }
        Arrays.fill(data, BLOCK + 10, 4 * BLOCK + 10, (byte) 0);
        try (Pool pool = open(copy.getFirst())) {
            assertArrayEquals(data, readAll(pool, x), "the punched range reads as zeros");
            assertEquals(allocatedBefore, pool.get(x).allocatedBytes());
            assertEquals(8L * BLOCK, allocatedBefore, "blocks 2 and 3 were released; the edges rewritten");
            assertArrayEquals(new byte[5 * BLOCK], readAll(pool, y));
            assertEquals(5L * BLOCK, pool.get(y).allocatedBytes());
        }
    }

    @Test
    void crashRightAfterACheckpointAtCloseReplaysNothingAndKeepsAll() {
        Path v = Pools.formatOne(dir, "p");
        byte[] data = random(new Random(28), 100_000);
        ObjectId x;
        try (Pool pool = open(v)) {
            x = create(pool);
            write(pool, x, 0, data);
        }
        long gen = Pools.newestGeneration(v);
        try (Pool pool = open(v)) {
            assertArrayEquals(data, readAll(pool, x));
            assertEquals(gen + 1, Pools.newestGeneration(v), "every open starts a new epoch with one checkpoint");
            List<Path> copy = Pools.crashCopy(dir.resolve("crash"), v);
            try (Pool c = open(copy.getFirst())) {
                assertArrayEquals(data, readAll(c, x));
            }
        }
    }

    @Test
    void aJournalRecordOfAMegabyteIsReplayed() {
        // Records over 512 KiB are read past the replay's window; under half the journal, no checkpoint.
        Path v = Pools.formatOne(dir, "p");
        List<Path> copy;
        ObjectId o;
        try (Pool pool = open(v)) {
            long gen = Pools.newestGeneration(v);
            o = create(pool);
            pool.sync();
            try (Txn t = pool.begin()) {
                for (int i = 0; i < 8000; i++) {
                    t.putEntry(o, utf8(String.format("k%06d", i)), utf8("v".repeat(100) + i)); // ~1 MB record
                }
                t.commit();
            }
            pool.sync();
            copy = Pools.crashCopy(dir.resolve("crash"), v);
            assertEquals(gen, Pools.newestGeneration(copy.getFirst()), "the record is in the journal only");
        }
        try (Pool pool = open(copy.getFirst())) {
            List<Entry> all = pool.entries(o, utf8("k"), null, Integer.MAX_VALUE);
            assertEquals(8000, all.size());
            assertArrayEquals(utf8("v".repeat(100) + 7999), all.getLast().value());
        }
    }

    @Test
    void aMultiVolumePoolRecoversFromACrashCopyOpenedInReverseOrder() {
        Path v0 = dir.resolve("v0.d4vol");
        Path v1 = dir.resolve("v1.d4vol");
        Pool.format("multi", List.of(new VolumeSpec(v0, 64 * MIB), new VolumeSpec(v1, 64 * MIB)));
        List<ObjectId> ids = new java.util.ArrayList<>();
        List<Path> copy;
        try (Pool pool = Pool.open(List.of(v0, v1), Pools.QUIET)) {
            for (int i = 0; i < 17; i++) {
                ObjectId id = create(pool);
                ids.add(id);
                write(pool, id, 0, random(new Random(100 + i), (int) (4 * MIB)));
            }
            pool.sync();
            assertTrue(pool.info().volumes().get(1).freeBytes() < pool.info().volumes().get(1).capacityBytes(),
                    "volume 1 holds data");
            copy = Pools.crashCopy(dir.resolve("crash"), v0, v1);
        }
        try (Pool pool = Pool.open(List.of(copy.get(1), copy.get(0)), Pools.QUIET)) {
            for (int i = 0; i < ids.size(); i++) {
                assertArrayEquals(random(new Random(100 + i), (int) (4 * MIB)), readAll(pool, ids.get(i)), "object " + i);
            }
        }
    }

    private static void verify(Path volume, ObjectId[] ids, byte[][] model, Map<String, String> entries) {
        try (Pool pool = open(volume)) {
            for (int i = 0; i < ids.length; i++) {
                byte[] got = readAll(pool, ids[i]);
                if (!Arrays.equals(model[i], got)) {
                    fail("object " + i + " of " + volume + " differs: size " + got.length + " vs " + model[i].length
                            + ", first difference at " + Arrays.mismatch(model[i], got));
                }
            }
            for (var e : entries.entrySet()) {
                int slash = e.getKey().indexOf('/');
                ObjectId owner = ids[Integer.parseInt(e.getKey().substring(0, slash))];
                byte[] got = pool.entry(owner, utf8(e.getKey().substring(slash + 1))).orElse(null);
                assertArrayEquals(utf8(e.getValue()), got, "entry " + e.getKey() + " of " + volume);
            }
            assertFalse(pool.failure().isPresent());
            assertEquals(0, read(pool, ids[0], 1L << 40, 10).length);
        }
    }

    static byte[] apply(byte[] model, long off, byte[] data) {
        int end = (int) (off + data.length);
        byte[] out = end > model.length ? Arrays.copyOf(model, end) : model;
        System.arraycopy(data, 0, out, (int) off, data.length);
        return out;
    }
}
