package d4.engine.meta.tree;

import d4.engine.D4Exception;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One fsck walk of a tree ({@link Tree#verify()}): reads every reachable page from the store, never
 * the cache (fsck must see what is on the drive), and records problems instead of throwing, so one
 * run reports all the damage it can reach.
 */
final class Verifier {
    private static final long NO_LIMIT = Long.MAX_VALUE;

    private final PageStore store;
    private final DirtyPages dirty;
    private final long maxGeneration;
    private final List<VerifyReport.Problem> problems = new ArrayList<>();
    private final Set<Long> seen = new HashSet<>();
    private long entries;
    private long leaves;
    private long branches;
    private long overflows;
    private long leafBytes;

    Verifier(PageStore store, DirtyPages dirty, long maxGeneration) {
        this.store = store;
        this.dirty = dirty;
        this.maxGeneration = maxGeneration;
    }

    VerifyReport run(long root, int height) {
        walk(root, height - 1, null, null, NO_LIMIT, 0);
        return new VerifyReport(problems, height, entries, leaves, branches, overflows, leafBytes);
    }

    /**
     * Checks the subtree at {@code pointer}, whose keys must lie in [lo, hi) (null: unbounded) and whose
     * pages may not be newer than {@code maxParentGeneration}.
     */
    private void walk(long pointer, int level, byte[] lo, byte[] hi, long maxParentGeneration, long parent) {
        byte[] p = read(pointer, parent);
        if (p == null) {
            return;
        }
        int want = level == 0 ? Page.LEAF : Page.BRANCH;
        if (Page.type(p) != want || Page.level(p) != level) {
            problem(pointer, "is a " + Page.typeName(Page.type(p)) + " of level " + Page.level(p) + " where "
                    + (parent == 0 ? "the root" : "its parent " + name(parent)) + " needs a " + Page.typeName(want)
                    + " of level " + level + " (all leaves must be at the same depth)");
            return;
        }
        long generation = checkGeneration(p, pointer, maxParentGeneration, parent);
        int n = Page.count(p);
        if (n > 0 && lo != null && Page.compareKey(p, 0, lo) < 0) {
            problem(pointer, "its first key " + Tree.show(Page.key(p, 0)) + " is below the separator " + Tree.show(lo)
                    + " that leads to it from " + name(parent));
        }
        if (n > 0 && hi != null && Page.compareKey(p, n - 1, hi) >= 0) {
            problem(pointer, "its last key " + Tree.show(Page.key(p, n - 1)) + " is not below the next separator "
                    + Tree.show(hi) + " in " + name(parent));
        }
        if (level == 0) {
            leaves++;
            entries += n;
            leafBytes += Page.usedBytes(p);
            for (int i = 0; i < n; i++) {
                if (Page.kind(p, i) == Page.KIND_OVERFLOW) {
                    chain(Page.overflowFirst(p, i), Page.valueLength(p, i), pointer, i, generation);
                }
            }
            return;
        }
        branches++;
        if (n == 0) {
            problem(pointer, "is a branch with a single child (no separator)");
        }
        byte[] below = lo;
        for (int c = 0; c <= n; c++) {
            byte[] above = c < n ? Page.key(p, c) : hi;
            walk(Page.child(p, c), level - 1, below, above, generation, pointer);
            below = above;
        }
    }

    private void chain(long first, int length, long leaf, int cell, long leafGeneration) {
        long pointer = first;
        long previous = leaf;
        int done = 0;
        while (done < length) {
            if (pointer == 0) {
                problem(previous, "the overflow chain of cell " + cell + " of " + name(leaf) + " ends after " + done
                        + " of " + length + " bytes");
                return;
            }
            byte[] p = read(pointer, previous);
            if (p == null) {
                return;
            }
            if (Page.type(p) != Page.OVERFLOW) {
                problem(pointer, "is a " + Page.typeName(Page.type(p)) + " inside the overflow chain of cell " + cell
                        + " of " + name(leaf));
                return;
            }
            overflows++;
            checkGeneration(p, pointer, leafGeneration, leaf);
            int due = Math.min(Page.USABLE_BYTES, length - done);
            if (Page.count(p) != due) {
                problem(pointer, "holds " + Page.count(p) + " bytes of the value of cell " + cell + " of " + name(leaf)
                        + " where " + due + " are due");
                return;
            }
            done += due;
            previous = pointer;
            pointer = Page.link(p);
        }
        if (pointer != 0) {
            problem(previous, "the overflow chain of cell " + cell + " of " + name(leaf) + " goes on past the value's "
                    + length + " bytes");
        }
    }

    /** The page's generation (dirty pages: unbounded), after checking it is not newer than its parent. */
    private long checkGeneration(byte[] p, long pointer, long maxParentGeneration, long parent) {
        if (DirtyPages.isDirty(pointer)) {
            return NO_LIMIT;
        }
        long generation = Page.generation(p);
        if (generation > maxParentGeneration) {
            problem(pointer, "was written by generation " + generation + ", after " + name(parent) + " (generation "
                    + maxParentGeneration + ") that points at it: copy-on-write rewrites parents after children");
        }
        return generation;
    }

    /** The page at {@code pointer}, or null (problem recorded) when it cannot be trusted. */
    private byte[] read(long pointer, long from) {
        if (pointer == 0) {
            problem(from, "holds a null page pointer");
            return null;
        }
        if (DirtyPages.isDirty(pointer)) {
            byte[] p = dirty.get(pointer);
            String problem = Page.structureProblem(p, false);
            if (problem != null) {
                problem(pointer, problem);
                return null;
            }
            return p;
        }
        if (!seen.add(pointer)) {
            problem(pointer, "is referenced more than once (again from " + name(from) + ")");
            return null;
        }
        byte[] p = new byte[Page.BYTES];
        try {
            store.read(pointer, MemorySegment.ofArray(p));
        } catch (D4Exception e) {
            problem(pointer, "cannot be read: " + e.getMessage());
            return null;
        }
        String problem = Page.diskProblem(p, pointer, maxGeneration);
        if (problem != null) {
            problem(pointer, problem);
            return null;
        }
        return p;
    }

    private void problem(long pointer, String what) {
        problems.add(new VerifyReport.Problem(pointer, name(pointer) + ": " + what));
    }

    private String name(long pointer) {
        return DirtyPages.isDirty(pointer) ? "unwritten metadata page #" + -pointer : store.describe(pointer);
    }
}
