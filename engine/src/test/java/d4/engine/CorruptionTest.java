package d4.engine;

import static d4.engine.Pools.BLOCK;
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
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.meta.MetaSlot;
import d4.engine.volume.Superblock;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorruptionTest {
    @TempDir
    Path dir;

    /** A block of recognizable bytes, found again in the volume file to locate the data on disk. */
    private static byte[] marker(String tag) {
        byte[] b = new byte[BLOCK];
        byte[] t = utf8("<<d4-test-marker-" + tag + ">>");
        for (int i = 0; i + t.length <= b.length; i += t.length) {
            System.arraycopy(t, 0, b, i, t.length);
        }
        return b;
    }

    @Test
    void aFlippedDataByteIsCorruptionOnReadAndOtherBlocksStillRead() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(31);
        byte[] head = random(r, 2 * BLOCK);
        byte[] mark = marker("flip");
        byte[] tail = random(r, 2 * BLOCK + 123);
        ObjectId id;
        try (Pool pool = open(v)) {
            id = create(pool);
            byte[] all = new byte[head.length + mark.length + tail.length];
            System.arraycopy(head, 0, all, 0, head.length);
            System.arraycopy(mark, 0, all, head.length, mark.length);
            System.arraycopy(tail, 0, all, head.length + mark.length, tail.length);
            write(pool, id, 0, all);
        }
        long at = Pools.indexOf(v, mark);
        assertTrue(at > 0 && at % BLOCK == 0, "the marker block is on disk at a block boundary: " + at);
        Pools.flipByte(v, at + 1234);
        try (Pool pool = open(v)) {
            D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class, () -> read(pool, id, 2 * BLOCK + 10, 10));
            assertTrue(e.getMessage().contains("object " + id.value()) && e.getMessage().contains(v.toString())
                    && e.getMessage().contains("block 2 "), e.getMessage());
            assertThrows(D4Exception.Corruption.class, () -> read(pool, id, 0, 5 * BLOCK), "a range over the damage");
            assertThrows(D4Exception.Corruption.class, () -> read(pool, id, 3 * BLOCK - 1, 1), "the last byte of the block");
            assertArrayEquals(head, read(pool, id, 0, 2 * BLOCK), "blocks before the damage");
            assertArrayEquals(tail, read(pool, id, 3 * BLOCK, tail.length), "blocks after the damage");
            // Rewriting the damaged block heals the object (copy-on-write to a fresh block).
            write(pool, id, 2 * BLOCK, mark);
            assertArrayEquals(mark, read(pool, id, 2 * BLOCK, BLOCK));
        }
    }

    @Test
    void verifyNamesTheDamagedRangeAndCountsIt() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(32);
        byte[] mark = marker("scrub");
        byte[] big = random(r, 3 * 1024 * 1024); // several verify chunks
        ObjectId damaged;
        ObjectId clean;
        try (Pool pool = open(v)) {
            damaged = create(pool);
            clean = create(pool);
            write(pool, damaged, 0, big);
            byte[] twoBlocks = java.util.Arrays.copyOf(mark, 2 * BLOCK); // one write: two adjacent blocks
            System.arraycopy(marker("scrub2"), 0, twoBlocks, BLOCK, BLOCK);
            write(pool, damaged, 2L * 1024 * 1024 + 5 * BLOCK, twoBlocks);
            write(pool, clean, 0, random(r, 10 * BLOCK));
            write(pool, clean, 100L * BLOCK, random(r, BLOCK)); // a hole between extents
        }
        long at = Pools.indexOf(v, mark);
        Pools.flipByte(v, at + 7);
        Pools.flipByte(v, at + BLOCK + 7); // the next block too: one merged range
        try (Pool pool = open(v)) {
            long[] paced = new long[1];
            List<Pool.DamagedRange> bad = pool.verify(damaged, n -> paced[0] += n);
            assertEquals(1, bad.size(), bad.toString());
            long from = 2L * 1024 * 1024 + 5 * BLOCK;
            assertEquals(from, bad.getFirst().fromByte());
            assertEquals(from + 2 * BLOCK, bad.getFirst().toByte());
            assertTrue(bad.getFirst().detail().contains(v.toString()), bad.getFirst().detail());
            assertEquals(3L * 1024 * 1024, paced[0], "every mapped byte was read once");
            assertEquals(2, pool.info().checksumFailures());
            assertEquals(List.of(), pool.verify(clean, n -> {}));
            assertEquals(List.of(), pool.verify(new ObjectId(9999), n -> {}), "a missing object has nothing to verify");
        }
    }

    @Test
    void aPartialOverwriteOfADamagedBlockReportsCorruptionInsteadOfMixingInBadBytes() {
        Path v = Pools.formatOne(dir, "p");
        byte[] mark = marker("partial");
        ObjectId id;
        try (Pool pool = open(v)) {
            id = create(pool);
            write(pool, id, 0, mark);
        }
        Pools.flipByte(v, Pools.indexOf(v, mark) + 4000);
        try (Pool pool = open(v)) {
            // The write must merge the old block's head: reading it fails its checksum.
            assertThrows(D4Exception.Corruption.class, () -> write(pool, id, 10, utf8("patch")));
            assertFalse(pool.failure().isPresent(), "a damaged block does not stop the pool");
            assertThrows(D4Exception.Corruption.class, () -> read(pool, id, 0, 10));
        }
    }

    @Test
    void damagedPrimarySuperblockIsRepairedFromTheCopy() {
        Path v = Pools.formatOne(dir, "p");
        byte[] data = random(new Random(32), 50_000);
        ObjectId id;
        try (Pool pool = open(v)) {
            id = create(pool);
            write(pool, id, 0, data);
        }
        long copyBlock = Pools.superblock(v).superblockCopyBlock();
        byte[] copy = Pools.readFile(v, copyBlock * BLOCK, BLOCK);
        Pools.flipByte(v, 40);
        assertThrows(D4Exception.Corruption.class, () -> Pools.superblock(v));
        try (Pool pool = open(v)) {
            assertArrayEquals(data, readAll(pool, id));
        }
        assertArrayEquals(copy, Pools.readFile(v, 0, BLOCK), "the primary was rewritten from the copy");
        assertEquals("p", Pools.superblock(v).poolName());
    }

    @Test
    void bothSuperblocksDamagedIsCorruptionNamingThePath() {
        Path v = Pools.formatOne(dir, "p");
        long copyBlock = Pools.superblock(v).superblockCopyBlock();
        Pools.flipByte(v, 100);
        Pools.writeFile(v, copyBlock * BLOCK, new byte[BLOCK]); // the copy is gone (zeros)
        D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class, () -> open(v));
        assertTrue(e.getMessage().contains(v.toString()) && e.getMessage().contains("both superblocks"), e.getMessage());
        // A failed open releases the volume: nothing stays locked.
        d4.engine.io.ChannelDrive.open(v, BLOCK).close();
    }

    /**
     * Observed behaviour: with the newest slot damaged, the older slot wins. After a clean close the
     * older slot's image is still intact and the journal still holds that epoch's records, so the
     * replay brings the pool to the same state; the open checkpoints again and rewrites the damaged
     * slot.
     */
    @Test
    void damagedNewestMetaSlotLetsTheOlderSlotWin() {
        Path v = Pools.formatOne(dir, "p");
        byte[] data = random(new Random(33), 70_000);
        ObjectId id;
        try (Pool pool = open(v)) {
            id = create(pool, utf8("a"));
            write(pool, id, 0, data);
            Pools.putEntry(pool, id, utf8("k"), utf8("v"));
        }
        MetaSlot a = Pools.slot(v, Superblock.META_SLOT_A_BLOCK);
        MetaSlot b = Pools.slot(v, Superblock.META_SLOT_B_BLOCK);
        assertNotNull(a);
        assertNotNull(b);
        long newestBlock = a.generation() > b.generation() ? Superblock.META_SLOT_A_BLOCK : Superblock.META_SLOT_B_BLOCK;
        long newest = Math.max(a.generation(), b.generation());
        Pools.flipByte(v, newestBlock * BLOCK + 30);
        assertNull(Pools.slot(v, newestBlock), "the slot is damaged now");
        try (Pool pool = open(v)) {
            assertArrayEquals(data, readAll(pool, id), "older checkpoint + its journal epoch give the full state");
            assertArrayEquals(utf8("v"), pool.entry(id, utf8("k")).orElseThrow());
            assertArrayEquals(utf8("a"), pool.get(id).attrs());
        }
        assertTrue(Pools.newestGeneration(v) >= newest, "the replay checkpointed again");
        assertNotNull(Pools.slot(v, Superblock.META_SLOT_A_BLOCK));
        assertNotNull(Pools.slot(v, Superblock.META_SLOT_B_BLOCK));
    }

    /**
     * Newest slot damaged after a crash that followed a mid-session checkpoint and more commits: the
     * older slot's journal epoch has been overwritten by the newer epoch's records. Accepted outcomes:
     * a Corruption at open, or an open with a consistent older state. Observed: the older slot wins
     * silently and the pool opens as it was at that older checkpoint (here: empty, as formatted), with
     * every change since lost and no warning.
     */
    @Test
    void damagedNewestMetaSlotAfterACrashMidEpoch() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(35);
        List<Path> copy;
        ObjectId early;
        ObjectId late;
        byte[] earlyData = random(r, 50_000);
        long genBefore;
        try (Pool pool = open(v)) {
            early = create(pool);
            write(pool, early, 0, earlyData);
            genBefore = Pools.newestGeneration(v);
            // Fill the journal past half with synced small transactions: a checkpoint runs.
            ObjectId filler = create(pool);
            int i = 0;
            while (Pools.newestGeneration(v) == genBefore) {
                Pools.putEntry(pool, filler, utf8("f" + (i++ % 50)), new byte[100]);
                pool.sync();
            }
            late = create(pool);
            write(pool, late, 0, random(r, 80_000));
            for (int k = 0; k < 20; k++) {
                write(pool, early, 0, random(r, 50_000)); // overwrites free the checkpointed blocks
            }
            pool.sync();
            copy = Pools.crashCopy(dir.resolve("crash"), v);
        }
        Path c = copy.getFirst();
        MetaSlot a = Pools.slot(c, Superblock.META_SLOT_A_BLOCK);
        MetaSlot b = Pools.slot(c, Superblock.META_SLOT_B_BLOCK);
        long newestBlock = a.generation() > b.generation() ? Superblock.META_SLOT_A_BLOCK : Superblock.META_SLOT_B_BLOCK;
        Pools.flipByte(c, newestBlock * BLOCK + 30);
        String observed;
        try (Pool pool = open(c)) {
            // Opening is acceptable only with a consistent state: every object there reads cleanly.
            for (long id = 0; id <= late.value(); id++) {
                ObjectId o = new ObjectId(id);
                if (pool.find(o).isPresent()) {
                    readAll(pool, o);
                }
            }
            observed = "opened with the older slot; early object present=" + pool.find(early).isPresent()
                    + ", late object present=" + pool.find(late).isPresent() + ", objects=" + pool.info().objectCount();
        } catch (D4Exception.Corruption e) {
            observed = "corruption at open: " + e.getMessage();
        }
        System.out.println("newest meta slot damaged after a mid-epoch crash: " + observed);
    }

    @Test
    void bothMetaSlotsDamagedIsCorruption() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            create(pool);
        }
        Pools.flipByte(v, Superblock.META_SLOT_A_BLOCK * BLOCK + 9);
        Pools.flipByte(v, Superblock.META_SLOT_B_BLOCK * BLOCK + 9);
        D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class, () -> open(v));
        assertTrue(e.getMessage().contains("meta slots") && e.getMessage().contains(v.toString()), e.getMessage());
    }

    @Test
    void damagedTreeRootPageIsCorruption() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            Pools.putEntry(pool, create(pool), utf8("k"), utf8("v"));
        }
        MetaSlot newest = Pools.newestSlot(v);
        Pools.flipByte(v, Pools.rootPageOffset(newest) + 20);
        D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class, () -> open(v));
        assertTrue(e.getMessage().contains("metadata page at block " + Pools.rootPageOffset(newest) / BLOCK + " of " + v)
                && e.getMessage().contains("run d4 fsck"), e.getMessage());
    }

    /**
     * A flipped byte in a leaf page below the root: the pool opens (the root is intact), every read
     * that needs the page fails with an error naming it, every other object reads back right, and
     * fsck's checks name the page — never silent wrong data.
     */
    @Test
    void aDamagedLeafPageIsNamedByTheReadsThatNeedItAndByFsck() {
        Path v = Pools.formatOne(dir, "p");
        int objects = 3000;
        List<Long> leaves = new java.util.ArrayList<>();
        try (Pool pool = open(v)) {
            for (int i = 0; i < objects; i++) {
                try (Txn t = pool.begin()) {
                    t.create(utf8("attributes of object " + i + " ".repeat(40)));
                    t.commit();
                }
            }
            assertTrue(pool.metadataStats().treeHeight() >= 2, pool.metadataStats().toString());
        }
        long root = Pools.newestSlot(v).treeRoot();
        try (Pool pool = open(v)) {
            pool.index().tree().forEachPageAddress(a -> {
                if (a != root) {
                    leaves.add(a);
                }
            });
        }
        long victim = leaves.get(leaves.size() / 2);
        long victimBlock = VolumePages.run(victim).startBlock();
        Pools.flipByte(v, victimBlock * BLOCK + 2000);
        String named = "metadata page at block " + victimBlock + " of " + v;
        try (Pool pool = open(v)) {
            int damaged = 0;
            for (long id = 1; id <= objects; id++) {
                try {
                    assertArrayEquals(utf8("attributes of object " + (id - 1) + " ".repeat(40)),
                            pool.get(new ObjectId(id)).attrs());
                } catch (D4Exception.Corruption e) {
                    assertTrue(e.getMessage().contains(named) && e.getMessage().contains("run d4 fsck"), e.getMessage());
                    damaged++;
                }
            }
            assertTrue(damaged > 0 && damaged < objects / 2, damaged + " objects sat in the damaged page");
            List<String> problems = pool.checkInvariants();
            assertTrue(problems.stream().anyMatch(p -> p.contains(named)), problems.toString());
            List<String> scrubbed = pool.verifyMetadata();
            assertTrue(scrubbed.stream().anyMatch(p -> p.contains(named)), scrubbed.toString());
        }
    }

    @Test
    void verifyMetadataReportsAFlippedCheckpointByteWhileOpen() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            Pools.putEntry(pool, create(pool), utf8("k"), utf8("v"));
        }
        try (Pool pool = open(v)) { // this open wrote a new checkpoint: the one verify re-reads
            assertEquals(List.of(), pool.verifyMetadata());
            MetaSlot newest = Pools.newestSlot(v);
            Pools.flipByte(v, Pools.rootPageOffset(newest) + 20);
            List<String> problems = pool.verifyMetadata();
            assertEquals(1, problems.size(), problems.toString());
            assertTrue(problems.getFirst().contains("metadata page at block " + Pools.rootPageOffset(newest) / BLOCK),
                    problems.toString());
        }
    }

    /**
     * A volume file cut short (a failed copy, a full host file system): open does not compare the
     * file's size with the superblock's, so the pool opens, and the first allocation past the end
     * fails with IllegalStateException ("d4 invariant violated") from ChannelDrive.checkRange.
     */
    @Test
    void aVolumeFileShorterThanItsSuperblockSaysFailsWithAD4Exception() throws Exception {
        Path v = Pools.formatOne(dir, "p");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(v.toFile(), "rw")) {
            f.setLength(32L << 20);
        }
        try (Pool pool = open(v)) {
            ObjectId id = create(pool);
            for (int i = 0; i < 60; i++) {
                write(pool, id, (long) i << 20, new byte[1 << 20]);
            }
        } catch (RuntimeException e) {
            assertInstanceOf(D4Exception.class, e, "a short volume file is an operating error: " + e);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Journal tails. The journal region starts at block 3 of volume 0; every sync writes one batch
    // starting on a block boundary, so with one small transaction per sync, record n is in block n-1.

    private static long journalBlock(Path v, int n) {
        return (Superblock.FIRST_FREE_BLOCK + n) * BLOCK;
    }

    private record Synced(Path copy, ObjectId id) {}

    /** Three synced transactions, each in its own journal block; returns a crash copy. */
    private Synced threeSyncedTransactions(Path v) {
        try (Pool pool = open(v)) {
            ObjectId id = create(pool); // record 1, journal block 0
            pool.sync();
            Pools.putEntry(pool, id, utf8("two"), utf8("2")); // record 2, block 1
            pool.sync();
            Pools.putEntry(pool, id, utf8("three"), utf8("3")); // record 3, block 2
            pool.sync();
            List<Path> copy = Pools.crashCopy(dir.resolve("crash"), v);
            return new Synced(copy.getFirst(), id);
        }
    }

    @Test
    void garbageAfterTheLastRecordIsIgnored() {
        Path v = Pools.formatOne(dir, "p");
        Synced s = threeSyncedTransactions(v);
        assertArrayEquals(new byte[BLOCK], Pools.readFile(s.copy(), journalBlock(v, 3), BLOCK), "block 3 is unused");
        Pools.writeFile(s.copy(), journalBlock(v, 3), random(new Random(34), 3 * BLOCK));
        try (Pool pool = open(s.copy())) {
            assertArrayEquals(utf8("2"), pool.entry(s.id(), utf8("two")).orElseThrow());
            assertArrayEquals(utf8("3"), pool.entry(s.id(), utf8("three")).orElseThrow());
        }
    }

    @Test
    void aTornLastRecordIsDroppedAndEarlierOnesKept() {
        Path v = Pools.formatOne(dir, "p");
        Synced s = threeSyncedTransactions(v);
        // Damage the body of record 3 (a torn write of the last batch).
        Pools.flipByte(s.copy(), journalBlock(v, 2) + 40);
        try (Pool pool = open(s.copy())) {
            assertTrue(pool.find(s.id()).isPresent());
            assertArrayEquals(utf8("2"), pool.entry(s.id(), utf8("two")).orElseThrow());
            assertTrue(pool.entry(s.id(), utf8("three")).isEmpty(), "the torn record is not applied");
        }
    }

    @Test
    void aTruncatedJournalTailIsIgnored() {
        Path v = Pools.formatOne(dir, "p");
        Synced s = threeSyncedTransactions(v);
        // The last batch never reached the disk: its block is zeros (half of it written: still torn).
        byte[] half = Pools.readFile(s.copy(), journalBlock(v, 2), BLOCK / 2);
        Pools.writeFile(s.copy(), journalBlock(v, 2), new byte[BLOCK]);
        Pools.writeFile(s.copy(), journalBlock(v, 2), Arrays.copyOf(half, 20));
        try (Pool pool = open(s.copy())) {
            assertArrayEquals(utf8("2"), pool.entry(s.id(), utf8("two")).orElseThrow());
            assertTrue(pool.entry(s.id(), utf8("three")).isEmpty());
        }
    }

    @Test
    void aDamagedRecordFollowedByIntactOnesIsCorruptionNotSilentLoss() {
        Path v = Pools.formatOne(dir, "p");
        Synced s = threeSyncedTransactions(v);
        Pools.flipByte(s.copy(), journalBlock(v, 1) + 40); // record 2 damaged, record 3 intact
        D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class, () -> open(s.copy()));
        assertTrue(e.getMessage().contains("journal record 2"), e.getMessage());
    }
}
