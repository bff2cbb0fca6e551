package d4.engine.meta.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.Limits;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Space: no page leaks (released + allocated balance, and deleting everything leaves only the root),
 * splits keep pages well filled, and removals shrink the tree instead of leaving it as large as it was.
 */
class TreeSpaceTest {
    @TempDir
    Path dir;

    @Test
    void deletingEverythingLeavesOnlyTheRootAndPagesBalance() {
        try (FileStore store = new FileStore(dir.resolve("pages"))) {
            TestAllocator allocator = new TestAllocator(true);
            Random r = new Random(11);
            Tree tree = Tree.create(store, 256 * Limits.BLOCK_BYTES);
            List<byte[]> keys = new ArrayList<>();
            long generation = 0;
            for (int i = 0; i < 8000; i++) {
                byte[] k = i % 97 == 0 ? Trees.bytes(r, Limits.MAX_TREE_KEY_BYTES) : Trees.objectKey(r.nextInt(4000), 'e',
                        Trees.bytes(r, r.nextInt(30)));
                int n = i % 41 == 0 ? r.nextInt(Limits.MAX_VALUE_BYTES + 1) : r.nextInt(300);
                tree.put(k, Trees.bytes(r, n));
                keys.add(k);
                if (i % 1000 == 999) {
                    publish(tree, allocator, store, ++generation);
                }
            }
            publish(tree, allocator, store, ++generation);
            assertTrue(tree.height() >= 3, "height " + tree.height());
            Collections.shuffle(keys, r);
            for (int i = 0; i < keys.size(); i++) {
                tree.remove(keys.get(i));
                if (i % 1500 == 1499) {
                    publish(tree, allocator, store, ++generation);
                }
            }
            Checkpoint last = publish(tree, allocator, store, ++generation);
            assertEquals(Set.of(last.rootAddress()), Trees.addresses(tree), "only the root is left");
            assertEquals(1, tree.height());
            assertEquals(Set.of(last.rootAddress()), allocator.inUse);
            assertEquals(allocator.allocations - 1, allocator.releases, "every page allocated but the root was released");
            assertEquals(List.of(), Trees.all(Tree.open(store, last.rootAddress(), generation, 0)));
        }
    }

    private static Checkpoint publish(Tree tree, TestAllocator allocator, FileStore store, long generation) {
        Checkpoint c = tree.checkpoint(allocator, generation);
        allocator.publish(c);
        store.protect(allocator.inUse);
        assertEquals(allocator.inUse, Trees.addresses(tree), "pages in use = pages the tree references");
        assertEquals(allocator.allocations - allocator.inUse.size(), allocator.releases);
        VerifyReport report = tree.verify();
        assertTrue(report.ok(), report.problems().toString());
        return c;
    }

    @Test
    void ascendingInsertsFillPagesAlmostFully() {
        try (FileStore store = new FileStore(dir.resolve("pages"))) {
            Tree tree = Tree.create(store, 1 << 20);
            Random r = new Random(1);
            // New objects get ascending ids: their records are appended at the end of the tree.
            for (int id = 0; id < 20_000; id++) {
                tree.put(Trees.objectKey(id, 'a', new byte[0]), Trees.bytes(r, 40 + r.nextInt(60)));
            }
            VerifyReport report = tree.verify();
            assertTrue(report.ok());
            assertTrue(report.leafFill() > 0.95, "leaf fill " + report.leafFill());
        }
    }

    @Test
    void randomInsertsKeepPagesAtLeastHalfFull() {
        try (FileStore store = new FileStore(dir.resolve("pages"))) {
            Tree tree = Tree.create(store, 1 << 20);
            Random r = new Random(2);
            for (int i = 0; i < 20_000; i++) {
                tree.put(Trees.objectKey(r.nextInt(1 << 30), 'a', new byte[0]), Trees.bytes(r, 40 + r.nextInt(60)));
            }
            VerifyReport report = tree.verify();
            assertTrue(report.ok());
            assertTrue(report.leafFill() > 0.6, "leaf fill " + report.leafFill());
        }
    }

    @Test
    void removalsShrinkTheTree() {
        try (FileStore store = new FileStore(dir.resolve("pages"))) {
            Tree tree = Tree.create(store, 1 << 20);
            Random r = new Random(3);
            List<byte[]> keys = new ArrayList<>();
            for (int i = 0; i < 20_000; i++) {
                byte[] k = Trees.objectKey(r.nextInt(1 << 30), 'a', Trees.bytes(r, r.nextInt(20)));
                tree.put(k, Trees.bytes(r, 40 + r.nextInt(60)));
                keys.add(k);
            }
            VerifyReport full = tree.verify();
            Collections.shuffle(keys, r);
            for (byte[] k : keys.subList(0, keys.size() * 9 / 10)) {
                tree.remove(k);
            }
            VerifyReport after = tree.verify();
            assertTrue(after.ok(), after.problems().toString());
            assertTrue(after.pages() * 5 < full.pages(), full.pages() + " pages, then " + after.pages());
            assertTrue(after.leafFill() > 0.3, "leaf fill " + after.leafFill());
        }
    }
}
