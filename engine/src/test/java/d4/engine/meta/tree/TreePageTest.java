package d4.engine.meta.tree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.Limits;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** The page layout of docs/format.md ("Metadata B+tree"), byte by byte, and the slotted-page operations. */
class TreePageTest {

    @Test
    void headerFieldsSitWhereTheFormatSays() {
        byte[] p = new byte[Page.BYTES];
        Page.init(p, Page.BRANCH, 3, 0x1122334455667788L);
        assertTrue(Page.insertCell(p, 0, Page.branchCell("m".getBytes(StandardCharsets.US_ASCII), 77)));
        Page.seal(p, 9, 1234);
        assertArrayEquals("D4PG".getBytes(StandardCharsets.US_ASCII), Arrays.copyOf(p, 4));
        assertEquals(1, p[4]); // version
        assertEquals(2, p[5]); // type: branch
        assertEquals(3, p[6]); // level
        assertEquals(0, p[7]); // reserved
        assertEquals(1, Page.u16(p, 8)); // count
        assertEquals(Page.BYTES - 11, Page.u16(p, 10)); // heap start: one 11-byte cell at the end
        assertEquals(9, Page.i64(p, 16)); // generation
        assertEquals(1234, Page.i64(p, 24)); // address
        assertEquals(0x1122334455667788L, Page.i64(p, 32)); // child 0
        assertEquals(Page.BYTES - 11, Page.u16(p, 40)); // slot 0
        int cell = Page.BYTES - 11;
        assertEquals(1, Page.u16(p, cell)); // key length
        assertEquals(77, Page.i64(p, cell + 2)); // child 1
        assertEquals('m', p[cell + 10]);
        // CRC32C of the page with its CRC field zeroed, little-endian at offset 12.
        byte[] zeroed = p.clone();
        Arrays.fill(zeroed, 12, 16, (byte) 0);
        CRC32C crc = new CRC32C();
        crc.update(zeroed);
        assertEquals((int) crc.getValue(), Page.i32(p, 12));
        assertNull(Page.diskProblem(p, 1234, 9));
    }

    @Test
    void leafCellsAndTheInlineLimit() {
        byte[] key = new byte[Limits.MAX_TREE_KEY_BYTES];
        assertTrue(Page.isInline(key.length, 8));
        assertEquals(false, Page.isInline(key.length, 9));
        assertEquals(1041, Page.MAX_LEAF_FOOTPRINT);
        byte[] c = Page.inlineCell("ab".getBytes(StandardCharsets.US_ASCII), new byte[] {5, 6, 7});
        assertArrayEquals(new byte[] {2, 0, 0, 3, 0, 0, 0, 'a', 'b', 5, 6, 7}, c);
        byte[] o = Page.overflowCell("ab".getBytes(StandardCharsets.US_ASCII), 5000, 0x0102);
        assertArrayEquals(new byte[] {2, 0, 1, (byte) 0x88, 0x13, 0, 0, 'a', 'b', 2, 1, 0, 0, 0, 0, 0, 0}, o);
    }

    @Test
    void insertAndRemoveKeepThePageCompactAndSorted() {
        Random r = new Random(4);
        byte[] p = new byte[Page.BYTES];
        Page.init(p, Page.LEAF, 0, 0);
        List<byte[]> keys = new ArrayList<>();
        for (int round = 0; round < 5000; round++) {
            if (r.nextInt(3) > 0 || keys.isEmpty()) {
                byte[] k = Trees.bytes(r, 1 + r.nextInt(30));
                int i = Page.search(p, k);
                if (i >= 0) {
                    continue;
                }
                if (Page.insertCell(p, -i - 1, Page.inlineCell(k, Trees.bytes(r, r.nextInt(100))))) {
                    keys.add(k);
                }
            } else {
                byte[] k = keys.remove(r.nextInt(keys.size()));
                Page.removeCell(p, Page.search(p, k));
            }
            assertNull(Page.structureProblem(p, true), "round " + round);
        }
        keys.sort(Arrays::compareUnsigned);
        for (int i = 0; i < keys.size(); i++) {
            assertArrayEquals(keys.get(i), Page.key(p, i));
        }
    }

    @Test
    void separatorsAreShortestPrefixes() {
        assertArrayEquals(new byte[] {1, 3}, Page.separator(new byte[] {1, 2, 9, 9}, new byte[] {1, 3, 0}));
        assertArrayEquals(new byte[] {1, 2, 0}, Page.separator(new byte[] {1, 2}, new byte[] {1, 2, 0, 0}));
        assertArrayEquals(new byte[] {(byte) 0x80}, Page.separator(new byte[] {0x7f}, new byte[] {(byte) 0x80}));
        assertArrayEquals(new byte[] {1, 3}, Tree.prefixEnd(new byte[] {1, 2}));
        assertArrayEquals(new byte[] {2}, Tree.prefixEnd(new byte[] {1, (byte) 0xff}));
        assertNull(Tree.prefixEnd(new byte[] {(byte) 0xff, (byte) 0xff}));
    }
}
