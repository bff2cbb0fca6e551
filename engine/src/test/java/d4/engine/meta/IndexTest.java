package d4.engine.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.D4Exception;
import d4.engine.Limits;
import d4.engine.alloc.Run;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class IndexTest {
    private static Extent extent(long logical, long physical, int length) {
        int[] crcs = new int[length];
        for (int i = 0; i < length; i++) {
            crcs[i] = (int) (physical * 31 + i);
        }
        return new Extent(logical, 0, physical, length, crcs);
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Pages in a map: the index's tests need the tree, not a drive. */
    private static final class MemoryStore implements d4.engine.meta.tree.PageStore {
        final java.util.Map<Long, byte[]> pages = new java.util.HashMap<>();

        @Override
        public void read(long address, java.lang.foreign.MemorySegment dst) {
            byte[] p = pages.get(address);
            if (p == null) {
                throw new D4Exception.DriveFailure("no page " + address, null);
            }
            java.lang.foreign.MemorySegment.copy(java.lang.foreign.MemorySegment.ofArray(p), 0, dst, 0, p.length);
        }

        @Override
        public void write(long address, java.lang.foreign.MemorySegment src) {
            pages.put(address, src.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
    }

    private final MemoryStore store = new MemoryStore();
    private long nextAddress = 1;

    private Index newIndex() {
        return Index.create(d4.engine.meta.tree.Tree.create(store, 1 << 20));
    }

    /** Checkpoints the index's tree and opens it again from the store, as a pool open does. */
    private Index reopen(Index index, long generation) {
        d4.engine.meta.tree.Checkpoint ck = index.tree().checkpoint(new d4.engine.meta.tree.PageAllocator() {
            @Override
            public long allocate() {
                return nextAddress++;
            }

            @Override
            public void release(long address) {}
        }, generation);
        return Index.open(d4.engine.meta.tree.Tree.open(store, ck.rootAddress(), generation, 1 << 20));
    }

    private static List<Run> apply(Index index, Op op) {
        List<Run> freed = new ArrayList<>();
        index.apply(op, freed::add);
        return freed;
    }

    @Test
    void emptyIndexHasOnlyThePoolObject() {
        Index index = newIndex();
        assertEquals(1, index.objectCount());
        assertTrue(index.exists(0));
        assertEquals(1, index.nextObjectId());
        assertEquals(1, index.reserveObjectId());
        assertEquals(2, index.nextObjectId());
        assertThrows(D4Exception.ObjectNotFound.class, () -> index.info(5));
    }

    @Test
    void overwritingThePartOfAnExtentReleasesExactlyThatPart() {
        Index index = newIndex();
        apply(index, new Op.CreateObject(1, new byte[0]));
        apply(index, new Op.PutExtent(1, extent(0, 1000, 10)));
        apply(index, new Op.SetSize(1, 10 * Limits.BLOCK_BYTES));
        assertEquals(10L * Limits.BLOCK_BYTES, index.info(1).allocatedBytes());
        List<Run> freed = apply(index, new Op.PutExtent(1, extent(3, 5000, 2)));
        assertEquals(List.of(new Run(0, 1003, 2)), freed);
        List<Extent> ex = index.extents(1, 0, 10);
        assertEquals(3, ex.size());
        assertEquals(1000, ex.get(0).physicalBlock());
        assertEquals(3, ex.get(0).lengthBlocks());
        assertEquals(5000, ex.get(1).physicalBlock());
        assertEquals(5, ex.get(2).logicalBlock());
        assertEquals(1005, ex.get(2).physicalBlock());
        assertEquals(1000 * 31 + 5, ex.get(2).crcOf(5), "the split keeps each block's CRC");
        assertEquals(10L * Limits.BLOCK_BYTES, index.info(1).allocatedBytes());
        // extents() returns only what overlaps the range.
        assertEquals(1, index.extents(1, 3, 4).size());
        assertEquals(2, index.extents(1, 4, 6).size());
        assertTrue(index.extents(1, 10, 20).isEmpty());
    }

    @Test
    void physicallyAdjacentExtentsMerge() {
        Index index = newIndex();
        apply(index, new Op.CreateObject(1, new byte[0]));
        apply(index, new Op.PutExtent(1, extent(0, 100, 4)));
        apply(index, new Op.PutExtent(1, new Extent(4, 0, 104, 2, new int[] {7, 8})));
        List<Extent> ex = index.extents(1, 0, 100);
        assertEquals(1, ex.size());
        assertEquals(6, ex.getFirst().lengthBlocks());
        assertEquals(8, ex.getFirst().crcOf(5));
        // Not adjacent physically: no merge.
        apply(index, new Op.PutExtent(1, extent(6, 200, 1)));
        assertEquals(2, index.extents(1, 0, 100).size());
    }

    @Test
    void setSizeReleasesBlocksWhollyPastTheEnd() {
        Index index = newIndex();
        apply(index, new Op.CreateObject(1, new byte[0]));
        apply(index, new Op.PutExtent(1, extent(0, 100, 8)));
        assertEquals(List.of(), apply(index, new Op.SetSize(1, 2 * Limits.BLOCK_BYTES)),
                "a size that grows (0 to 2 blocks) keeps blocks past it, as fallocate KEEP_SIZE leaves them");
        apply(index, new Op.SetSize(1, 8 * Limits.BLOCK_BYTES));
        List<Run> freed = apply(index, new Op.SetSize(1, 3 * Limits.BLOCK_BYTES + 1));
        assertEquals(List.of(new Run(0, 104, 4)), freed);
        assertEquals(3L * Limits.BLOCK_BYTES + 1, index.sizeBytes(1));
        assertEquals(4L * Limits.BLOCK_BYTES, index.info(1).allocatedBytes());
        assertEquals(List.of(new Run(0, 100, 4)), apply(index, new Op.DeleteObject(1)));
        assertFalse(index.exists(1));
    }

    @Test
    void opsThatDoNotFitTheStateAreRefusedBeforeChangingAnything() {
        Index index = newIndex();
        apply(index, new Op.CreateObject(1, b("a")));
        assertThrows(IllegalStateException.class, () -> apply(index, new Op.CreateObject(1, b("b"))));
        assertArrayEquals(b("a"), index.info(1).attrs());
        assertThrows(IllegalStateException.class, () -> apply(index, new Op.SetSize(9, 1)));
        assertThrows(IllegalStateException.class, () -> apply(index, new Op.RemoveEntry(1, b("missing"))));
        assertThrows(IllegalStateException.class, () -> apply(index, new Op.DeleteObject(0)));
        assertTrue(index.exists(0));
        assertEquals(2, index.objectCount());
    }

    @Test
    void checkpointedIndexReadsBackTheSame() {
        Index index = newIndex();
        for (long id = 1; id <= 50; id++) {
            apply(index, new Op.CreateObject(id, b("attrs" + id)));
            apply(index, new Op.PutExtent(id, extent(id, 1000 * id, (int) (id % 5) + 1)));
            apply(index, new Op.SetSize(id, (id + 6) * Limits.BLOCK_BYTES - id));
            for (int k = 0; k < id % 4; k++) {
                apply(index, new Op.PutEntry(id, b("k" + k), b("v" + k + "/" + id)));
            }
        }
        apply(index, new Op.PutEntry(0, new byte[] {(byte) 0xff, 0}, new byte[0]));
        apply(index, new Op.DeleteObject(17));
        Index back = reopen(index, 1);
        assertEquals(50, back.objectCount());
        assertEquals(index.nextObjectId(), back.nextObjectId());
        assertEquals(List.of(), back.check());
        for (long id = 0; id <= 50; id++) {
            assertEquals(id != 17, back.exists(id), "object " + id);
            if (!back.exists(id)) {
                continue;
            }
            assertEquals(id == 0 ? 0 : (id + 6) * Limits.BLOCK_BYTES - id, back.info(id).sizeBytes());
            assertEquals(id == 0 ? 0 : ((id % 5) + 1) * Limits.BLOCK_BYTES, back.info(id).allocatedBytes());
            assertArrayEquals(id == 0 ? new byte[0] : b("attrs" + id), back.info(id).attrs());
            List<Extent> e = back.extents(id, 0, 1000);
            assertEquals(id == 0 ? 0 : 1, e.size());
            if (id > 0) {
                assertEquals(extent(id, 1000 * id, (int) (id % 5) + 1).run(), e.getFirst().run());
                assertArrayEquals(extent(id, 1000 * id, (int) (id % 5) + 1).crcs(), e.getFirst().crcs());
            }
            var entries = back.entries(id, new byte[0], null, 100);
            assertEquals(id == 0 ? 1 : id % 4, entries.size(), "entries of " + id);
            for (int k = 0; id > 0 && k < entries.size(); k++) {
                assertArrayEquals(b("k" + k), entries.get(k).key());
                assertArrayEquals(b("v" + k + "/" + id), entries.get(k).value());
            }
        }
        // Deleting an object removes its extents and entries from the tree, and frees its blocks.
        List<Run> freed = apply(back, new Op.DeleteObject(3));
        assertEquals(List.of(new Run(0, 3000, 4)), freed);
        assertEquals(List.of(), back.entries(3, new byte[0], null, 10));
        assertFalse(back.objectIds().contains(3L));
        assertFalse(back.objectIds().contains(17L));
        assertEquals(49, back.objectIds().size());
        assertEquals(49, back.objectCount());
        assertEquals(List.of(), back.check());
    }

    @Test
    void theLongestExtentRecordStaysInlineInItsLeaf() {
        Index index = newIndex();
        apply(index, new Op.CreateObject(1, new byte[0]));
        int n = Limits.MAX_EXTENT_BLOCKS;
        apply(index, new Op.PutExtent(1, new Extent(0, 0, 5000, n, new int[n], 1, 9000)));
        apply(index, new Op.PutExtent(1, new Extent(n, 0, 7000, n, new int[n])));
        Index back = reopen(index, 1);
        assertEquals(0, back.tree().verify().overflowPages(), "no overflow page for extent records");
        assertEquals(2, back.extents(1, 0, 2L * n).size());
    }

    @Test
    void aTreeWithoutPoolHeaderIsCorruption() {
        d4.engine.meta.tree.Tree tree = d4.engine.meta.tree.Tree.create(store, 1 << 20);
        tree.put(new byte[] {1, 2, 3}, new byte[] {4});
        long root = tree.checkpoint(new d4.engine.meta.tree.PageAllocator() {
            @Override
            public long allocate() {
                return nextAddress++;
            }

            @Override
            public void release(long address) {}
        }, 1).rootAddress();
        D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class,
                () -> Index.open(d4.engine.meta.tree.Tree.open(store, root, 1, 1 << 20)));
        assertTrue(e.getMessage().contains("pool header") && e.getMessage().contains("fsck"), e.getMessage());
    }

    @Test
    void checkFindsRecordsThatContradictEachOther() {
        Index index = newIndex();
        apply(index, new Op.CreateObject(1, b("x")));
        apply(index, new Op.PutExtent(1, extent(0, 100, 2)));
        apply(index, new Op.PutExtent(1, extent(5, 200, 2)));
        assertEquals(List.of(), index.check());
        d4.engine.meta.tree.Tree tree = index.tree();
        // An extent overlapping its neighbour, written behind the index's back.
        byte[] overlapping = new byte[0];
        d4.engine.Encoder enc = new d4.engine.Encoder(64);
        Op.encodeExtent(enc, extent(1, 300, 1));
        tree.put(Index.extentKey(1, 1), enc.toByteArray());
        // Entries of an object that does not exist, and a record of an unknown type.
        tree.put(Index.entryKey(9, b("orphan")), overlapping);
        tree.put(new byte[] {0, 0, 0, 0, 0, 0, 0, 1, 7}, new byte[0]);
        List<String> problems = index.check();
        assertTrue(problems.stream().anyMatch(p -> p.contains("extent at block 1 overlaps")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("counts 4 allocated blocks but its extents hold 5")),
                problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("entry record of object 9")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("unknown type 7")), problems.toString());
        // An extent whose value does not match its key cannot be read back as data.
        tree.put(Index.extentKey(1, 40), enc.toByteArray());
        D4Exception.Corruption c = assertThrows(D4Exception.Corruption.class, () -> index.extents(1, 40, 41));
        assertTrue(c.getMessage().contains("does not match its key"), c.getMessage());
    }

    @Test
    void spaceChunksRoundTripAndAllZeroChunksTakeNoRecord() {
        Index index = newIndex();
        byte[] bits = new byte[Index.SPACE_CHUNK_BYTES];
        bits[0] = 1;
        bits[511] = (byte) 0x80;
        index.putSpaceChunk(0, 3, bits);
        index.putSpaceChunk(1, 0, bits);
        index.putSpaceChunk(0, 4, new byte[Index.SPACE_CHUNK_BYTES]);
        Index back = reopen(index, 1);
        List<String> seen = new ArrayList<>();
        back.forEachSpaceChunk((v, c, b) -> {
            assertArrayEquals(bits, b);
            seen.add(v + ":" + c);
        });
        assertEquals(List.of("0:3", "1:0"), seen);
        back.putSpaceChunk(0, 3, null);
        seen.clear();
        back.forEachSpaceChunk((v, c, b) -> seen.add(v + ":" + c));
        assertEquals(List.of("1:0"), seen);
        assertEquals(List.of(), back.check(), "space records are not objects");
    }
}
