package d4.engine.meta.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.D4Exception;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * verify() (fsck) finds damage that checksums cannot see, because the damaged page was written with a
 * valid checksum (a bug, or a page from elsewhere): keys out of order, a wrong level, children outside
 * their separators, a page used twice, a broken overflow chain, a child newer than its parent. It
 * reports every problem with its page instead of stopping at the first.
 */
class TreeVerifyTest {
    @TempDir
    Path dir;

    private FileStore store;
    private long root;
    /** A branch of level 1 (its children are leaves). */
    private long branch;

    @BeforeEach
    void build() {
        store = new FileStore(dir.resolve("pages"));
        Random r = new Random(3);
        Tree tree = Tree.create(store, 1 << 20);
        for (int i = 0; i < 2500; i++) {
            byte[] v = Trees.bytes(r, i % 50 == 0 ? 9000 : r.nextInt(60));
            tree.put(Trees.withLongPrefix(Trees.objectKey(r.nextInt(1000), 'e', Trees.bytes(r, r.nextInt(12)))), v);
        }
        root = tree.checkpoint(new TestAllocator(true), 1).rootAddress();
        assertTrue(tree.height() >= 3, "height " + tree.height());
        assertTrue(tree.verify().ok());
        long p = root;
        byte[] b = store.rawRead(p);
        while (Page.level(b) > 1) {
            p = Page.child(b, 1);
            b = store.rawRead(p);
        }
        branch = p;
        assertTrue(Page.count(b) >= 3);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void keysOutOfOrderInALeaf() {
        long leaf = child(branch, 1);
        rewrite(leaf, p -> {
            int first = Page.u16(p, Page.HEADER_BYTES);
            Page.u16(p, Page.HEADER_BYTES, Page.u16(p, Page.HEADER_BYTES + 2));
            Page.u16(p, Page.HEADER_BYTES + 2, first);
        });
        List<VerifyReport.Problem> problems = verify(3);
        assertEquals(List.of(leaf), problems.stream().map(VerifyReport.Problem::address).toList());
        assertTrue(problems.getFirst().what().contains("keys out of order"), problems.toString());
        byte[] key = Page.key(store.rawRead(leaf), 0);
        D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class, () -> open(3).get(key));
        assertTrue(e.getMessage().contains(store.describe(leaf)), e.getMessage());
    }

    @Test
    void aBranchAtTheWrongLevel() {
        rewrite(branch, p -> p[Page.LEVEL_AT] = 2);
        List<VerifyReport.Problem> problems = verify(3);
        assertEquals(List.of(branch), problems.stream().map(VerifyReport.Problem::address).toList());
        assertTrue(problems.getFirst().what().contains("of level 2 where its parent"), problems.toString());
        byte[] key = Page.key(store.rawRead(child(branch, 0)), 0);
        assertThrows(D4Exception.Corruption.class, () -> open(3).get(key));
    }

    @Test
    void childrenOutsideTheirSeparators() {
        long second = child(branch, 1);
        long third = child(branch, 2);
        rewrite(branch, p -> {
            Page.child(p, 1, third);
            Page.child(p, 2, second);
        });
        List<VerifyReport.Problem> problems = verify(3);
        assertTrue(problems.size() >= 2, problems.toString());
        assertTrue(problems.stream().anyMatch(x -> x.address() == second), problems.toString());
        assertTrue(problems.stream().anyMatch(x -> x.address() == third), problems.toString());
        assertTrue(problems.stream().allMatch(x -> x.what().contains("separator")), problems.toString());
    }

    @Test
    void aPageReferencedTwice() {
        long second = child(branch, 1);
        rewrite(branch, p -> Page.child(p, 2, second));
        List<VerifyReport.Problem> problems = verify(3);
        assertTrue(problems.stream().anyMatch(x -> x.address() == second && x.what().contains("referenced more than once")),
                problems.toString());
    }

    @Test
    void aBrokenOverflowChainAndANewerChildAtOnce() {
        long leaf = 0;
        int cell = -1;
        long parent = 0;
        for (long b : branchesAtLevel1(root)) {
            for (int c = 0; c <= Page.count(store.rawRead(b)) && cell < 0; c++) {
                leaf = child(b, c);
                parent = b;
                byte[] p = store.rawRead(leaf);
                for (int i = 0; i < Page.count(p) && cell < 0; i++) {
                    cell = Page.kind(p, i) == Page.KIND_OVERFLOW ? i : -1;
                }
            }
        }
        assertTrue(cell >= 0, "a leaf with an overflow value");
        branch = parent;
        long overflow = Page.overflowFirst(store.rawRead(leaf), cell);
        rewrite(overflow, p -> Page.u16(p, Page.COUNT_AT, Page.count(p) - 1));
        long sibling = child(branch, 0) == leaf ? child(branch, 1) : child(branch, 0);
        byte[] s = store.rawRead(sibling);
        Page.seal(s, 2, sibling); // generation 2 under a parent of generation 1
        store.rawWrite(sibling, s);

        List<VerifyReport.Problem> problems = verify(3);
        assertEquals(2, problems.size(), problems.toString());
        assertTrue(problems.stream().anyMatch(x -> x.address() == overflow && x.what().contains("are due")), problems.toString());
        assertTrue(problems.stream().anyMatch(x -> x.address() == sibling && x.what().contains("written by generation 2")),
                problems.toString());
    }

    @Test
    void aPageNewerThanTheTreeIsAStalePage() {
        long leaf = child(branch, 0);
        byte[] p = store.rawRead(leaf);
        Page.seal(p, 5, leaf);
        store.rawWrite(leaf, p);
        List<VerifyReport.Problem> problems = verify(3);
        assertEquals(List.of(leaf), problems.stream().map(VerifyReport.Problem::address).toList());
        assertTrue(problems.getFirst().what().contains("generation 5"), problems.toString());
    }

    private List<Long> branchesAtLevel1(long address) {
        byte[] p = store.rawRead(address);
        if (Page.level(p) == 1) {
            return List.of(address);
        }
        List<Long> out = new java.util.ArrayList<>();
        for (int c = 0; c <= Page.count(p); c++) {
            out.addAll(branchesAtLevel1(Page.child(p, c)));
        }
        return out;
    }

    private long child(long branchAddress, int c) {
        return Page.child(store.rawRead(branchAddress), c);
    }

    /** Changes a page and writes it back with a valid checksum, as a buggy writer would. */
    private void rewrite(long address, Consumer<byte[]> change) {
        byte[] p = store.rawRead(address);
        change.accept(p);
        Page.seal(p, Page.generation(p), address);
        store.rawWrite(address, p);
    }

    private Tree open(long generation) {
        return Tree.open(store, root, generation, 1 << 20);
    }

    private List<VerifyReport.Problem> verify(long generation) {
        VerifyReport report = open(generation).verify();
        assertTrue(!report.ok());
        return report.problems();
    }
}
