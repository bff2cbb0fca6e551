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

    private static List<Run> apply(Index index, Op op) {
        List<Run> freed = new ArrayList<>();
        index.apply(op, freed::add);
        return freed;
    }

    @Test
    void emptyIndexHasOnlyThePoolObject() {
        Index index = Index.empty();
        assertEquals(1, index.objectCount());
        assertTrue(index.exists(0));
        assertEquals(1, index.nextObjectId());
        assertEquals(1, index.reserveObjectId());
        assertEquals(2, index.nextObjectId());
        assertThrows(D4Exception.ObjectNotFound.class, () -> index.info(5));
    }

    @Test
    void overwritingThePartOfAnExtentReleasesExactlyThatPart() {
        Index index = Index.empty();
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
        Index index = Index.empty();
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
        Index index = Index.empty();
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
        Index index = Index.empty();
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
    void checkpointImageRoundTrip() {
        Index index = Index.empty();
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
        byte[] image = index.encode();
        byte[] padded = Arrays.copyOf(image, image.length + 100);
        Index back = Index.decode(padded, image.length);
        assertEquals(index.objectCount(), back.objectCount());
        assertEquals(index.nextObjectId(), back.nextObjectId());
        for (long id = 0; id <= 50; id++) {
            assertEquals(index.exists(id), back.exists(id), "object " + id);
            if (!index.exists(id)) {
                continue;
            }
            assertEquals(index.info(id).sizeBytes(), back.info(id).sizeBytes());
            assertEquals(index.info(id).allocatedBytes(), back.info(id).allocatedBytes());
            assertArrayEquals(index.info(id).attrs(), back.info(id).attrs());
            List<Extent> e1 = index.extents(id, 0, 1000);
            List<Extent> e2 = back.extents(id, 0, 1000);
            assertEquals(e1.size(), e2.size());
            for (int i = 0; i < e1.size(); i++) {
                assertEquals(e1.get(i).run(), e2.get(i).run());
                assertArrayEquals(e1.get(i).crcs(), e2.get(i).crcs());
            }
            var l1 = index.entries(id, new byte[0], null, 100);
            var l2 = back.entries(id, new byte[0], null, 100);
            assertEquals(l1.size(), l2.size());
            for (int i = 0; i < l1.size(); i++) {
                assertArrayEquals(l1.get(i).key(), l2.get(i).key());
                assertArrayEquals(l1.get(i).value(), l2.get(i).value());
            }
        }
    }

    @Test
    void damagedImagesAreCorruption() {
        Index index = Index.empty();
        apply(index, new Op.CreateObject(1, b("x")));
        apply(index, new Op.PutExtent(1, extent(0, 100, 2)));
        byte[] image = index.encode();
        byte[] noMagic = image.clone();
        noMagic[0] = 'X';
        assertThrows(D4Exception.Corruption.class, () -> Index.decode(noMagic, noMagic.length));
        assertThrows(D4Exception.Corruption.class, () -> Index.decode(image, image.length - 3), "truncated");
        byte[] longer = Arrays.copyOf(image, image.length + 4);
        assertThrows(D4Exception.Corruption.class, () -> Index.decode(longer, longer.length), "trailing bytes");
        // An id counter below an existing id.
        byte[] lowCounter = image.clone();
        lowCounter[8] = 1;
        assertThrows(D4Exception.Corruption.class, () -> Index.decode(lowCounter, lowCounter.length));
    }
}
