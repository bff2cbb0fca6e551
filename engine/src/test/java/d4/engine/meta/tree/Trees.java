package d4.engine.meta.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;

import d4.engine.Entry;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/** Helpers shared by the tree tests. */
final class Trees {
    private Trees() {}

    static TreeMap<byte[], byte[]> newModel() {
        return new TreeMap<>(Arrays::compareUnsigned);
    }

    /** The later engine layout: 8-byte big-endian object id, a type byte, a sub-key. */
    static byte[] objectKey(long id, char type, byte[] sub) {
        return ByteBuffer.allocate(9 + sub.length).putLong(id).put((byte) type).put(sub).array();
    }

    /**
     * The key behind a 300-byte prefix that every such key shares: separators are then long, branches
     * hold few of them, and a few thousand entries make a tree of three levels or more.
     */
    static byte[] withLongPrefix(byte[] key) {
        byte[] k = new byte[300 + key.length];
        Arrays.fill(k, 0, 300, (byte) 'p');
        System.arraycopy(key, 0, k, 300, key.length);
        return k;
    }

    static byte[] bytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    static Set<Long> addresses(Tree t) {
        Set<Long> out = new HashSet<>();
        t.forEachPageAddress(a -> {
            if (!out.add(a)) {
                throw new AssertionError("page " + a + " listed twice");
            }
        });
        return out;
    }

    static List<Entry> all(Tree t) {
        return t.scan(null, true, null, Integer.MAX_VALUE);
    }

    static void assertSameEntries(List<Map.Entry<byte[], byte[]>> want, List<Entry> got, String where) {
        List<String> w = new ArrayList<>();
        for (Map.Entry<byte[], byte[]> e : want) {
            w.add(Tree.show(e.getKey()) + "=" + e.getValue().length + ":" + Arrays.hashCode(e.getValue()));
        }
        List<String> g = new ArrayList<>();
        for (Entry e : got) {
            g.add(Tree.show(e.key()) + "=" + e.value().length + ":" + Arrays.hashCode(e.value()));
        }
        assertEquals(w, g, where);
        for (int i = 0; i < want.size(); i++) {
            if (!Arrays.equals(want.get(i).getKey(), got.get(i).key()) || !Arrays.equals(want.get(i).getValue(), got.get(i).value())) {
                throw new AssertionError(where + ": entry " + i + " differs");
            }
        }
    }

    static void assertTreeIs(TreeMap<byte[], byte[]> model, Tree t, String where) {
        assertSameEntries(new ArrayList<>(model.entrySet()), all(t), where);
    }
}
