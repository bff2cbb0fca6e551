package d4.engine.meta.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.D4Exception;
import d4.engine.Limits;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crashes between a checkpoint and its publication: the tree at the published root must read exactly
 * as it was, because a checkpoint never writes where that root reaches. And a checkpoint that fails
 * half-way (no pages left, a write error) must leave the tree in memory as it was, ready to retry.
 */
class TreeCrashTest {
    @TempDir
    Path dir;

    private final Random r = new Random(20240611);

    @Test
    void anUnpublishedCheckpointLeavesThePublishedTreeIntact() {
        try (FileStore store = new FileStore(dir.resolve("pages"))) {
            TestAllocator allocator = new TestAllocator(false); // the file keeps every page ever written
            Tree tree = Tree.create(store, 1 << 20);
            TreeMap<byte[], byte[]> model = Trees.newModel();
            churn(tree, model, 3000);
            Checkpoint first = tree.checkpoint(allocator, 1);
            allocator.publish(first);
            store.protect(allocator.inUse);
            TreeMap<byte[], byte[]> atFirst = copy(model);

            churn(tree, model, 3000);
            Checkpoint second = tree.checkpoint(allocator, 2); // written, never published: the crash
            TreeMap<byte[], byte[]> atSecond = copy(model);
            churn(tree, model, 1000);
            Checkpoint third = tree.checkpoint(allocator, 3);

            Tree reopened = Tree.open(store, first.rootAddress(), 1, 64 * Limits.BLOCK_BYTES);
            Trees.assertTreeIs(atFirst, reopened, "the published root after the crash");
            assertTrue(reopened.verify().ok(), reopened.verify().problems().toString());
            Trees.assertTreeIs(atSecond, Tree.open(store, second.rootAddress(), 2, 1 << 20), "the second root");
            Trees.assertTreeIs(model, Tree.open(store, third.rootAddress(), 3, 1 << 20), "the third root");
            for (var e : store.writesPerAddress.entrySet()) {
                assertEquals(1, e.getValue(), "page " + e.getKey() + " was written more than once");
            }
            assertTrue(second.released().size() > 100, "the second checkpoint replaced pages of the first");
        }
    }

    @Test
    void checkpointsNeverWriteWhereThePublishedRootReaches() {
        try (FileStore store = new FileStore(dir.resolve("pages"))) {
            TestAllocator allocator = new TestAllocator(true); // released pages are reused once published
            Tree tree = Tree.create(store, 16 * Limits.BLOCK_BYTES);
            TreeMap<byte[], byte[]> model = Trees.newModel();
            long generation = 0;
            Checkpoint published = null;
            for (int round = 0; round < 12; round++) {
                churn(tree, model, 700);
                published = tree.checkpoint(allocator, ++generation);
                allocator.publish(published);
                store.protect(allocator.inUse); // the store fails any write to these from now on
                assertEquals(allocator.inUse, Trees.addresses(tree));
            }
            TreeMap<byte[], byte[]> atPublished = copy(model);
            churn(tree, model, 2000);
            tree.checkpoint(allocator, generation + 1);
            churn(tree, model, 500);
            assertTrue(allocator.highWater() < store.writes, "addresses were reused");

            Tree reopened = Tree.open(store, published.rootAddress(), generation, 1 << 20);
            Trees.assertTreeIs(atPublished, reopened, "the published root after the crash");
            assertTrue(reopened.verify().ok(), reopened.verify().problems().toString());
        }
    }

    @Test
    void aCheckpointThatRunsOutOfPagesChangesNothing() {
        try (FileStore store = new FileStore(dir.resolve("pages"))) {
            TestAllocator allocator = new TestAllocator(true);
            Tree tree = Tree.create(store, 1 << 20);
            TreeMap<byte[], byte[]> model = Trees.newModel();
            churn(tree, model, 2000);
            allocator.publish(tree.checkpoint(allocator, 1));
            Set<Long> published = new HashSet<>(allocator.inUse);
            churn(tree, model, 1000);
            int dirty = tree.dirtyPages();

            allocator.failAfter = dirty / 2;
            assertThrows(D4Exception.NoSpace.class, () -> tree.checkpoint(allocator, 2));
            assertEquals(published, allocator.inUse, "the failed checkpoint gave back every page it took");
            assertEquals(dirty, tree.dirtyPages());
            Trees.assertTreeIs(model, tree, "after the failed checkpoint");

            allocator.failAfter = -1;
            retryAndCheck(store, allocator, tree, model);
        }
    }

    @Test
    void aCheckpointWhoseWriteFailsChangesNothing() {
        try (FileStore store = new FileStore(dir.resolve("pages"))) {
            TestAllocator allocator = new TestAllocator(true);
            Tree tree = Tree.create(store, 1 << 20);
            TreeMap<byte[], byte[]> model = Trees.newModel();
            churn(tree, model, 2000);
            allocator.publish(tree.checkpoint(allocator, 1));
            Set<Long> published = new HashSet<>(allocator.inUse);
            churn(tree, model, 1000);
            int dirty = tree.dirtyPages();

            store.failAtWrite = store.writes + dirty / 2;
            assertThrows(D4Exception.DriveFailure.class, () -> tree.checkpoint(allocator, 2));
            assertEquals(published, allocator.inUse, "the failed checkpoint gave back every page it took");
            assertEquals(dirty, tree.dirtyPages());
            Trees.assertTreeIs(model, tree, "after the failed checkpoint");

            retryAndCheck(store, allocator, tree, model);
        }
    }

    @Test
    void aCheckpointWithNothingDirtyWritesNothing() {
        try (FileStore store = new FileStore(dir.resolve("pages"))) {
            TestAllocator allocator = new TestAllocator(true);
            Tree tree = Tree.create(store, 1 << 20);
            tree.put(new byte[] {1}, new byte[] {2});
            Checkpoint first = tree.checkpoint(allocator, 1);
            allocator.publish(first);
            long writes = store.writes;
            Checkpoint second = tree.checkpoint(allocator, 2);
            assertEquals(first.rootAddress(), second.rootAddress());
            assertEquals(0, second.pagesWritten());
            assertEquals(List.of(), second.released());
            assertEquals(writes, store.writes);
            assertEquals(2, tree.generation());
            assertTrue(Tree.open(store, second.rootAddress(), 2, 0).get(new byte[] {1}).isPresent());
        }
    }

    private static void retryAndCheck(FileStore store, TestAllocator allocator, Tree tree, TreeMap<byte[], byte[]> model) {
        Checkpoint c = tree.checkpoint(allocator, 2);
        allocator.publish(c);
        assertEquals(allocator.inUse, Trees.addresses(tree));
        assertTrue(tree.verify().ok(), tree.verify().problems().toString());
        Trees.assertTreeIs(model, Tree.open(store, c.rootAddress(), 2, 1 << 20), "reopened after the retry");
    }

    /** Puts (new keys, overwrites, large values) and removes. */
    private void churn(Tree tree, TreeMap<byte[], byte[]> model, int ops) {
        List<byte[]> keys = new ArrayList<>(model.keySet());
        for (int i = 0; i < ops; i++) {
            int dice = r.nextInt(10);
            if (dice < 3 && !keys.isEmpty()) {
                byte[] k = keys.get(r.nextInt(keys.size()));
                if (model.remove(k) != null) {
                    assertTrue(tree.remove(k));
                }
                continue;
            }
            byte[] k = dice < 5 && !keys.isEmpty() ? keys.get(r.nextInt(keys.size()))
                    : Trees.objectKey(r.nextInt(5000), 'e', Trees.bytes(r, r.nextInt(20)));
            byte[] v = Trees.bytes(r, r.nextInt(20) == 0 ? r.nextInt(Limits.MAX_VALUE_BYTES + 1) : r.nextInt(200));
            tree.put(k, v);
            model.put(k, v);
            keys.add(k);
        }
    }

    private static TreeMap<byte[], byte[]> copy(TreeMap<byte[], byte[]> m) {
        TreeMap<byte[], byte[]> c = Trees.newModel();
        c.putAll(m);
        return c;
    }
}
