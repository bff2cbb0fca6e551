package d4.engine.meta.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.D4Exception;
import d4.engine.Entry;
import d4.engine.Limits;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damage on the drive is never silent: a flipped byte anywhere in any page, a blank page, a page
 * written to the wrong address all end in {@link D4Exception.Corruption} naming the page, from a read
 * and from verify().
 */
class TreeCorruptionTest {
    @TempDir
    Path dir;

    private FileStore store;
    private Checkpoint checkpoint;
    private TreeMap<byte[], byte[]> model;

    private void build() {
        store = new FileStore(dir.resolve("pages"));
        Random r = new Random(99);
        Tree tree = Tree.create(store, 1 << 20);
        model = Trees.newModel();
        for (int i = 0; i < 2500; i++) {
            byte[] k = Trees.withLongPrefix(Trees.objectKey(r.nextInt(1000), 'e', Trees.bytes(r, r.nextInt(12))));
            byte[] v = Trees.bytes(r, i % 100 == 0 ? 5000 + r.nextInt(20_000) : r.nextInt(60));
            tree.put(k, v);
            model.put(k, v);
        }
        checkpoint = tree.checkpoint(new TestAllocator(true), 1);
        assertTrue(tree.height() >= 3, "height " + tree.height());
    }

    @Test
    void aFlippedByteInAnyPageIsDetectedAndNamesThePage() {
        build();
        try {
            Random r = new Random(5);
            List<Long> pages = new ArrayList<>(Trees.addresses(Tree.open(store, checkpoint.rootAddress(), 1, 0)));
            assertTrue(pages.size() > 60, pages.size() + " pages");
            int overflowPages = 0;
            for (long address : pages) {
                byte[] good = store.rawRead(address);
                overflowPages += Page.type(good) == Page.OVERFLOW ? 1 : 0;
                byte[] bad = good.clone();
                int at = r.nextInt(Page.BYTES);
                bad[at] ^= (byte) (1 << r.nextInt(8));
                store.rawWrite(address, bad);
                String name = store.describe(address) + " is damaged";
                D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class, () -> readEverything(),
                        "flipped byte " + at + " of page " + address);
                assertTrue(e.getMessage().startsWith(name), e.getMessage());
                VerifyReport report = verifyOrThrow(address);
                assertEquals(address, report.problems().getFirst().address(), report.problems().toString());
                store.rawWrite(address, good);
            }
            assertTrue(overflowPages > 10, overflowPages + " overflow pages");
            readEverything();
        } finally {
            store.close();
        }
    }

    @Test
    void aBlankPageAndAMisdirectedWriteAreDetected() {
        build();
        try {
            List<Long> pages = new ArrayList<>(Trees.addresses(Tree.open(store, checkpoint.rootAddress(), 1, 0)));
            long victim = pages.get(pages.size() / 2);
            long other = pages.get(pages.size() / 3);
            byte[] good = store.rawRead(victim);

            store.rawWrite(victim, new byte[Page.BYTES]);
            D4Exception.Corruption blank = assertThrows(D4Exception.Corruption.class, this::readEverything);
            assertTrue(blank.getMessage().contains(store.describe(victim)) && blank.getMessage().contains("blank"),
                    blank.getMessage());

            store.rawWrite(victim, store.rawRead(other)); // a valid page, but another address's
            D4Exception.Corruption misdirected = assertThrows(D4Exception.Corruption.class, this::readEverything);
            assertTrue(misdirected.getMessage().contains(store.describe(victim))
                    && misdirected.getMessage().contains("holds the page of address " + other), misdirected.getMessage());
            assertTrue(verifyOrThrow(victim).problems().getFirst().what().contains("misdirected"));
            store.rawWrite(victim, good);
            readEverything();
        } finally {
            store.close();
        }
    }

    /** Opens the tree afresh (nothing cached) and reads every key and value. */
    private void readEverything() {
        Tree tree = Tree.open(store, checkpoint.rootAddress(), 1, 1 << 20);
        List<Entry> all = Trees.all(tree);
        assertEquals(model.size(), all.size());
        for (byte[] k : model.keySet()) {
            tree.get(k);
        }
    }

    private VerifyReport verifyOrThrow(long address) {
        Tree tree;
        try {
            tree = Tree.open(store, checkpoint.rootAddress(), 1, 0);
        } catch (D4Exception.Corruption e) {
            // The root itself is damaged: there is no tree to walk, and the error names the root.
            assertEquals(checkpoint.rootAddress(), address, e.getMessage());
            return new VerifyReport(List.of(new VerifyReport.Problem(address, e.getMessage())), 0, 0, 0, 0, 0, 0);
        }
        VerifyReport report = tree.verify();
        assertEquals(1, report.problems().size(), report.problems().toString());
        return report;
    }

    @Test
    void limitsAreInvalidArguments() {
        try (FileStore s = new FileStore(dir.resolve("limits"))) {
            Tree tree = Tree.create(s, 0);
            assertThrows(D4Exception.InvalidArgument.class, () -> tree.put(new byte[0], new byte[0]));
            assertThrows(D4Exception.InvalidArgument.class, () -> tree.put(new byte[Limits.MAX_TREE_KEY_BYTES + 1], new byte[0]));
            assertThrows(D4Exception.InvalidArgument.class, () -> tree.put(new byte[1], new byte[Limits.MAX_VALUE_BYTES + 1]));
            assertThrows(D4Exception.InvalidArgument.class, () -> tree.get(new byte[0]));
            assertThrows(D4Exception.InvalidArgument.class, () -> tree.scan(null, true, null, -1));
            assertThrows(D4Exception.InvalidArgument.class, () -> Tree.open(s, 0, 1, 0));
        }
    }
}
