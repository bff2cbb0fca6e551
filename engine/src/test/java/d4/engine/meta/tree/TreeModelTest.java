package d4.engine.meta.tree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.Entry;
import d4.engine.Limits;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random puts, removes, lookups, scans, checkpoints, crashes and reopens against a TreeMap. Keys
 * follow the engine's layout (object id, type, sub-key) plus keys of up to 1024 bytes sharing a long
 * prefix; values run from empty through the inline limit to 65600 bytes (overflow chains). After every
 * published checkpoint, verify() must be clean and the allocator's pages in use must be exactly the
 * pages the tree references (no leak, nothing freed twice). Fixed seeds; a failure names seed and step.
 */
class TreeModelTest {
    @TempDir
    Path dir;

    private Random r;
    private TreeMap<byte[], byte[]> model;
    private TreeMap<byte[], byte[]> published;
    private FileStore store;
    private TestAllocator allocator;
    private Tree tree;
    private long generation;
    private long cacheBytes;
    private byte[] longPrefix;
    private int checkpoints;
    private int crashes;
    private long lastPublishedRoot;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5, 42, 4711})
    void randomOpsMatchTheModel(long seed) {
        run(seed, 4000);
    }

    private void run(long seed, int steps) {
        r = new Random(seed);
        model = Trees.newModel();
        published = Trees.newModel();
        store = new FileStore(dir.resolve("pages-" + seed));
        allocator = new TestAllocator(true);
        // Odd seeds: a cache of four pages, so that nearly every page access is a read from the file.
        cacheBytes = seed % 2 == 1 ? 4 * Limits.BLOCK_BYTES : 1 << 20;
        tree = Tree.create(store, cacheBytes);
        generation = 0;
        lastPublishedRoot = 0;
        longPrefix = Trees.bytes(r, 1000);
        String last = "";
        int step = 0;
        try {
            for (step = 0; step < steps; step++) {
                last = step();
            }
            checkpointAndPublish();
            Trees.assertTreeIs(model, tree, "final");
            reopen();
            Trees.assertTreeIs(model, tree, "final reopen");
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError("seed " + seed + ", step " + step + " (the step before: " + last + "): " + e.getMessage(), e);
        } finally {
            store.close();
        }
        assertTrue(checkpoints > 10 && crashes > 2, checkpoints + " checkpoints, " + crashes + " crashes");
    }

    private String step() {
        int dice = r.nextInt(100);
        if (dice < 45) {
            byte[] key = key();
            byte[] value = value(key.length);
            tree.put(key, value);
            model.put(key, value);
            return "put " + Tree.show(key) + " (" + value.length + " bytes)";
        }
        if (dice < 65) {
            if (model.isEmpty()) {
                return "nothing to remove";
            }
            byte[] key = existingKey();
            assertTrue(tree.remove(key), "remove of a present key");
            model.remove(key);
            return "remove " + Tree.show(key);
        }
        if (dice < 70) {
            byte[] key = key();
            assertEquals(model.remove(key) != null, tree.remove(key), "remove of " + Tree.show(key));
            return "remove maybe " + Tree.show(key);
        }
        if (dice < 80) {
            byte[] key = r.nextBoolean() && !model.isEmpty() ? existingKey() : key();
            Optional<byte[]> got = tree.get(key);
            byte[] want = model.get(key);
            assertEquals(want != null, got.isPresent(), "get " + Tree.show(key));
            if (want != null) {
                assertArrayEquals(want, got.orElseThrow(), "get " + Tree.show(key));
            }
            return "get " + Tree.show(key);
        }
        if (dice < 88) {
            return scan();
        }
        if (dice < 92) {
            return scanPrefix();
        }
        if (dice < 95) {
            byte[] key = r.nextBoolean() && !model.isEmpty() ? existingKey() : key();
            Map.Entry<byte[], byte[]> want = model.floorEntry(key);
            Optional<Entry> got = tree.floor(key);
            assertEquals(want != null, got.isPresent(), "floor " + Tree.show(key));
            if (want != null) {
                assertArrayEquals(want.getKey(), got.orElseThrow().key(), "floor key of " + Tree.show(key));
                assertArrayEquals(want.getValue(), got.orElseThrow().value(), "floor value of " + Tree.show(key));
            }
            return "floor " + Tree.show(key);
        }
        if (dice < 98) {
            checkpointAndPublish();
            return "checkpoint";
        }
        if (dice < 99) {
            // A checkpoint whose root never reaches the meta slot: the next open sees the previous root.
            generation++;
            tree.checkpoint(allocator, generation);
            allocator.crash();
            crashes++;
            generation--;
            model = copy(published);
            reopen();
            Trees.assertTreeIs(model, tree, "after a crash");
            return "crash";
        }
        checkpointAndPublish();
        reopen();
        Trees.assertTreeIs(model, tree, "after reopen");
        return "reopen";
    }

    private void checkpointAndPublish() {
        generation++;
        Checkpoint c = tree.checkpoint(allocator, generation);
        assertEquals(0, tree.dirtyPages());
        allocator.publish(c);
        lastPublishedRoot = c.rootAddress();
        store.protect(allocator.inUse);
        published = copy(model);
        checkpoints++;
        VerifyReport report = tree.verify();
        assertTrue(report.ok(), report.problems().toString());
        assertEquals(model.size(), report.entries(), "entries counted by verify");
        assertEquals(allocator.inUse, Trees.addresses(tree), "pages in use = pages the tree references");
    }

    private void reopen() {
        tree = lastPublishedRoot == 0
                ? Tree.create(store, cacheBytes) // crashed before the first checkpoint was published
                : Tree.open(store, lastPublishedRoot, generation, cacheBytes);
    }

    private String scan() {
        byte[] from = r.nextInt(10) == 0 ? null : r.nextBoolean() && !model.isEmpty() ? existingKey() : key();
        boolean inclusive = r.nextBoolean();
        byte[] to = switch (r.nextInt(3)) {
            case 0 -> null;
            case 1 -> from == null ? null : Tree.prefixEnd(Arrays.copyOf(from, Math.min(from.length, 1 + r.nextInt(10))));
            default -> key();
        };
        int limit = 1 + r.nextInt(r.nextBoolean() ? 5 : 200);
        List<Map.Entry<byte[], byte[]>> want = new ArrayList<>();
        for (Map.Entry<byte[], byte[]> e : (from == null ? model : model.tailMap(from, inclusive)).entrySet()) {
            if (want.size() == limit || to != null && Arrays.compareUnsigned(e.getKey(), to) >= 0) {
                break;
            }
            want.add(e);
        }
        String what = "scan from " + (from == null ? "start" : Tree.show(from)) + (inclusive ? " incl" : " excl") + " to "
                + (to == null ? "end" : Tree.show(to)) + " limit " + limit;
        Trees.assertSameEntries(want, tree.scan(from, inclusive, to, limit), what);
        return what;
    }

    private String scanPrefix() {
        byte[] base = model.isEmpty() ? key() : existingKey();
        byte[] prefix = Arrays.copyOf(base, 1 + r.nextInt(Math.min(base.length, 12)));
        byte[] after = switch (r.nextInt(3)) {
            case 0 -> null;
            case 1 -> model.isEmpty() ? null : existingKey();
            default -> key();
        };
        int limit = 1 + r.nextInt(60);
        List<Map.Entry<byte[], byte[]>> want = new ArrayList<>();
        for (Map.Entry<byte[], byte[]> e : model.entrySet()) {
            byte[] k = e.getKey();
            boolean starts = k.length >= prefix.length && Arrays.equals(k, 0, prefix.length, prefix, 0, prefix.length);
            if (starts && (after == null || Arrays.compareUnsigned(k, after) > 0) && want.size() < limit) {
                want.add(e);
            }
        }
        String what = "scanPrefix " + Tree.show(prefix) + " after " + (after == null ? "-" : Tree.show(after)) + " limit "
                + limit;
        Trees.assertSameEntries(want, tree.scanPrefix(prefix, after, limit), what);
        return what;
    }

    private byte[] key() {
        return r.nextInt(100) < 15 && !model.isEmpty() ? existingKey() : freshKey();
    }

    private byte[] freshKey() {
        int dice = r.nextInt(100);
        if (dice < 12) {
            // Many keys sharing a 1000-byte prefix: separators must still tell them apart.
            byte[] k = Arrays.copyOf(longPrefix, longPrefix.length + r.nextInt(25));
            for (int i = longPrefix.length; i < k.length; i++) {
                k[i] = (byte) r.nextInt(4);
            }
            return k;
        }
        if (dice < 18) {
            byte[] k = Trees.bytes(r, Limits.MAX_TREE_KEY_BYTES);
            k[0] = (byte) (0xf0 + r.nextInt(16));
            return k;
        }
        long id = r.nextInt(10) == 0 ? r.nextLong() : r.nextInt(200);
        char type = "adex".charAt(r.nextInt(4));
        byte[] sub = new byte[r.nextInt(24)];
        for (int i = 0; i < sub.length; i++) {
            sub[i] = (byte) ('a' + r.nextInt(3));
        }
        return Trees.objectKey(id, type, sub);
    }

    /** A key of the model, near a random point. */
    private byte[] existingKey() {
        byte[] probe = freshKey();
        Map.Entry<byte[], byte[]> e = model.ceilingEntry(probe);
        return (e != null ? e : model.floorEntry(probe)).getKey();
    }

    private byte[] value(int keyLength) {
        int dice = r.nextInt(100);
        int n;
        if (dice < 55) {
            n = r.nextInt(41);
        } else if (dice < 75) {
            n = 40 + r.nextInt(1100);
        } else if (dice < 87) {
            // Right at the inline limit: the last inline size and the first overflow size.
            n = Math.max(0, Page.MAX_INLINE_PAYLOAD - keyLength + (r.nextBoolean() ? 0 : 1));
        } else if (dice < 90) {
            n = Limits.MAX_VALUE_BYTES;
        } else if (dice < 93) {
            n = Page.USABLE_BYTES * (1 + r.nextInt(3));
        } else {
            n = 1100 + r.nextInt(Limits.MAX_VALUE_BYTES - 1100);
        }
        return Trees.bytes(r, n);
    }

    private static TreeMap<byte[], byte[]> copy(TreeMap<byte[], byte[]> m) {
        TreeMap<byte[], byte[]> c = Trees.newModel();
        c.putAll(m);
        return c;
    }
}
