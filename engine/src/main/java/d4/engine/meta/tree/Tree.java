package d4.engine.meta.tree;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import d4.engine.D4Exception;
import d4.engine.Entry;
import d4.engine.Invariant;
import d4.engine.Limits;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.LongConsumer;

/**
 * A copy-on-write B+tree of byte keys and byte values on 4 KiB pages (format: docs/format.md, "Metadata B+tree").
 *
 * <p>Keys are 1..{@value Limits#MAX_TREE_KEY_BYTES} bytes, ordered as unsigned bytes; values are
 * 0..{@link Limits#MAX_VALUE_BYTES} bytes, the larger ones in overflow chains. Changes ({@link #put},
 * {@link #remove}) copy the pages they touch into memory ("dirty" pages, pinned) and never write to the
 * store; {@link #checkpoint} writes every dirty page to a new address, bottom-up, and returns the new
 * root, so the tree on disk at the last published root stays intact until the caller publishes the
 * next one. Clean pages are read on demand through a Caffeine cache bounded by bytes; every page read
 * from the store is checked (CRC, identity, structure) before anything uses it.
 *
 * <p>Thread safety: one writer or many readers, excluded by the caller's read-write lock (the pool's).
 * {@link #put}, {@link #remove}, {@link #checkpoint} run under the write lock; {@link #get},
 * {@link #scan}, {@link #scanPrefix}, {@link #floor}, {@link #verify}, {@link #forEachPageAddress} may
 * run from several threads at once under the read lock (the cache is concurrent, and readers change
 * nothing else). The lock's hand-offs publish the writer's plain fields to the readers.
 *
 * <p>Errors: a damaged page read from the store is a {@link D4Exception.Corruption} naming the page.
 * {@link #put} and {@link #remove} read the path to the key before they change anything, but a
 * removal may still meet a damaged sibling while rebalancing, after the key is gone from its leaf:
 * the tree in memory is then valid but holds a change the caller was told failed, so the caller must
 * stop writing (as the pool does after any failed commit) and reopen from the published root.
 */
public final class Tree {
    private static final long[] INLINE = new long[0];

    private final PageStore store;
    private final Cache<Long, byte[]> cache;
    private final Function<Long, byte[]> loader = this::load;
    /** Pages read from the store through the cache (misses), for benchmarks and status. */
    private final java.util.concurrent.atomic.LongAdder pageReads = new java.util.concurrent.atomic.LongAdder();
    private final DirtyPages dirty = new DirtyPages();
    /** Pages of the last checkpoint's tree that the current tree no longer uses (copied or dropped). */
    private final List<Long> obsolete = new ArrayList<>();

    /** The root: an address, or a dirty page id once changed since the last checkpoint. */
    private long root;
    /** Levels from the root to the leaves; the root's level is height - 1. */
    private int height;
    /** The generation of the last checkpoint (or of the opened root): no page read may be newer. */
    private long generation;
    /** The address of the last checkpoint's root (or of the opened root); 0 before the first. */
    private long checkpointedRoot;
    /**
     * The page at {@link #checkpointedRoot}, pinned: every operation starts there, and pinning it saves
     * a cache lookup (and the boxing of its key) per operation.
     */
    private byte[] checkpointedRootPage;

    private record Split(byte[] separator, long right) {}

    private Tree(PageStore store, long cacheBytes) {
        if (cacheBytes < 0) {
            throw new D4Exception.InvalidArgument("a page cache of " + cacheBytes + " bytes");
        }
        this.store = store;
        this.cache = Caffeine.newBuilder()
                .maximumWeight(cacheBytes)
                .weigher((Long address, byte[] page) -> page.length)
                // Maintenance on the calling thread: no pool threads, and tests are deterministic.
                .executor(Runnable::run)
                .build();
    }

    /** An empty tree: one empty leaf in memory, written by the first checkpoint. */
    public static Tree create(PageStore store, long cacheBytes) {
        Tree t = new Tree(store, cacheBytes);
        byte[] leaf = new byte[Page.BYTES];
        Page.init(leaf, Page.LEAF, 0, 0);
        t.root = t.dirty.add(leaf);
        t.height = 1;
        return t;
    }

    /** The tree whose root a meta slot published, with that slot's generation. Reads (and checks) the root. */
    public static Tree open(PageStore store, long rootAddress, long generation, long cacheBytes) {
        if (rootAddress <= 0 || generation < 1) {
            throw new D4Exception.InvalidArgument("a tree root at " + rootAddress + " of generation " + generation);
        }
        Tree t = new Tree(store, cacheBytes);
        t.generation = generation;
        t.root = rootAddress;
        byte[] p = t.page(rootAddress);
        t.checkpointedRoot = rootAddress;
        t.checkpointedRootPage = p;
        if (Page.type(p) == Page.OVERFLOW) {
            throw t.corruption(rootAddress, "the tree's root is an overflow page");
        }
        t.height = Page.level(p) + 1;
        return t;
    }

    // ------------------------------------------------------------------------------------------
    // Reads

    /** The value of {@code key}. Allocates nothing but the value (and the Optional) when pages are cached. */
    public Optional<byte[]> get(byte[] key) {
        checkKey(key);
        long pointer = root;
        for (int level = height - 1; ; level--) {
            byte[] p = node(pointer, level);
            if (level == 0) {
                int i = Page.search(p, key);
                return i < 0 ? Optional.empty() : Optional.of(value(p, i));
            }
            pointer = Page.child(p, Page.childIndex(p, key));
        }
    }

    /**
     * Up to {@code limit} entries in key order, from {@code from} (null: the first key; included when
     * {@code inclusive}, else only keys after it) to {@code toExclusive} (null: no end).
     */
    public List<Entry> scan(byte[] from, boolean inclusive, byte[] toExclusive, int limit) {
        if (limit < 0) {
            throw new D4Exception.InvalidArgument("a scan limit of " + limit);
        }
        List<Entry> out = new ArrayList<>(Math.min(limit, 64));
        if (limit == 0) {
            return out;
        }
        byte[][] pages = new byte[height][];
        int[] index = new int[height];
        long pointer = root;
        for (int level = height - 1; level >= 0; level--) {
            byte[] p = node(pointer, level);
            pages[level] = p;
            if (level > 0) {
                index[level] = from == null ? 0 : Page.childIndex(p, from);
                pointer = Page.child(p, index[level]);
            } else if (from == null) {
                index[0] = 0;
            } else {
                int i = Page.search(p, from);
                index[0] = i >= 0 ? (inclusive ? i : i + 1) : -i - 1;
            }
        }
        while (true) {
            byte[] leaf = pages[0];
            for (; index[0] < Page.count(leaf); index[0]++) {
                if (toExclusive != null && Page.compareKey(leaf, index[0], toExclusive) >= 0) {
                    return out;
                }
                out.add(new Entry(Page.key(leaf, index[0]), value(leaf, index[0])));
                if (out.size() == limit) {
                    return out;
                }
            }
            // No sibling links (copy-on-write would have to rewrite neighbours): climb to the next subtree.
            int level = 1;
            while (level < height && index[level] >= Page.count(pages[level])) {
                level++;
            }
            if (level == height) {
                return out;
            }
            // The separator before the next subtree bounds it from below: past the end, stop without reading it.
            if (toExclusive != null && Page.compareKey(pages[level], index[level], toExclusive) >= 0) {
                return out;
            }
            index[level]++;
            for (; level > 0; level--) {
                pages[level - 1] = node(Page.child(pages[level], index[level]), level - 1);
                index[level - 1] = 0;
            }
        }
    }

    /**
     * Up to {@code limit} entries whose key starts with {@code prefix}, after {@code afterKey}
     * (exclusive; null: from the first): {@code Pool.entries} maps onto this.
     */
    public List<Entry> scanPrefix(byte[] prefix, byte[] afterKey, int limit) {
        boolean fromPrefix = afterKey == null || Arrays.compareUnsigned(afterKey, prefix) < 0;
        return scan(fromPrefix ? prefix : afterKey, fromPrefix, prefixEnd(prefix), limit);
    }

    /** The smallest key above every key that starts with {@code prefix}, or null when there is none. */
    public static byte[] prefixEnd(byte[] prefix) {
        for (int i = prefix.length - 1; i >= 0; i--) {
            if (prefix[i] != (byte) 0xff) {
                byte[] end = Arrays.copyOf(prefix, i + 1);
                end[i]++;
                return end;
            }
        }
        return null;
    }

    /** The entry with the greatest key &lt;= {@code key} (for maps keyed by a start, like extents). */
    public Optional<Entry> floor(byte[] key) {
        checkKey(key);
        byte[][] pages = new byte[height][];
        int[] index = new int[height];
        long pointer = root;
        for (int level = height - 1; level > 0; level--) {
            byte[] p = node(pointer, level);
            pages[level] = p;
            index[level] = Page.childIndex(p, key);
            pointer = Page.child(p, index[level]);
        }
        byte[] leaf = node(pointer, 0);
        int i = Page.search(leaf, key);
        i = i >= 0 ? i : -i - 2;
        while (i < 0) {
            // Everything in this leaf is above the key: the answer is the last key of the previous leaf.
            int level = 1;
            while (level < height && index[level] == 0) {
                level++;
            }
            if (level == height) {
                return Optional.empty();
            }
            index[level]--;
            for (; level > 0; level--) {
                pages[level - 1] = node(Page.child(pages[level], index[level]), level - 1);
                index[level - 1] = level - 1 > 0 ? Page.count(pages[level - 1]) : 0;
            }
            leaf = pages[0];
            i = Page.count(leaf) - 1;
        }
        return Optional.of(new Entry(Page.key(leaf, i), value(leaf, i)));
    }

    // ------------------------------------------------------------------------------------------
    // Changes (under the caller's write lock)

    /** Inserts or replaces. */
    public void put(byte[] key, byte[] value) {
        checkKey(key);
        if (value == null || value.length > Limits.MAX_VALUE_BYTES) {
            throw new D4Exception.InvalidArgument("a value of " + (value == null ? "null" : value.length + " bytes")
                    + ": values are 0.." + Limits.MAX_VALUE_BYTES + " bytes");
        }
        // Everything that reads pages comes first, so that a damaged page stops the change before it starts.
        long[] oldChain = chainOf(key);
        byte[] cell = Page.isInline(key.length, value.length)
                ? Page.inlineCell(key, value)
                : Page.overflowCell(key, value.length, writeOverflow(value));
        Split s = change(dirtyRoot(), height - 1, key, cell);
        if (s != null) {
            grow(s);
        }
        if (oldChain != null) {
            drop(oldChain);
        }
    }

    /** Removes {@code key}; false when it was not there (and nothing changed). */
    public boolean remove(byte[] key) {
        checkKey(key);
        long[] oldChain = chainOf(key);
        if (oldChain == null) {
            return false;
        }
        Split s = change(dirtyRoot(), height - 1, key, null);
        if (s != null) {
            grow(s); // a refilled sibling's longer separator can split the parent, up to the root
        }
        shrink();
        drop(oldChain);
        return true;
    }

    private long dirtyRoot() {
        node(root, height - 1);
        root = cow(root);
        return root;
    }

    /**
     * Applies the change below dirty page {@code id} at {@code level}: puts {@code cell}, or removes
     * {@code key} when cell is null. Returns the split the parent must take in, or null.
     */
    private Split change(long id, int level, byte[] key, byte[] cell) {
        byte[] p = dirty.get(id);
        if (level == 0) {
            return changeLeaf(p, key, cell);
        }
        int c = Page.childIndex(p, key);
        long child = dirtyChild(p, c, level - 1);
        Split s = change(child, level - 1, key, cell);
        if (s != null) {
            return insertSeparator(p, level, c, s);
        }
        // Only removals rebalance: refilling the tiny right page of an append split at the next insert
        // would undo what the append split is for.
        if (cell == null && Page.usedBytes(dirty.get(child)) < Page.UNDERFULL_BYTES) {
            return rebalance(p, level, c);
        }
        return null;
    }

    private Split changeLeaf(byte[] p, byte[] key, byte[] cell) {
        int i = Page.search(p, key);
        if (cell == null) {
            Invariant.check(i >= 0, "removal of a key the leaf does not hold");
            Page.removeCell(p, i);
            return null;
        }
        if (i >= 0) {
            Page.removeCell(p, i);
        } else {
            i = -i - 1;
        }
        if (Page.insertCell(p, i, cell)) {
            return null;
        }
        List<byte[]> cells = Page.cells(p);
        cells.add(i, cell);
        // Append split: a key above all others (ascending inserts) leaves the full page full and starts
        // a new one, so that sequential inserts fill pages completely instead of half.
        int m = i == cells.size() - 1 ? i : balancedSplit(cells);
        long right = dirty.add(new byte[Page.BYTES]);
        Page.build(dirty.get(right), Page.LEAF, 0, 0, cells, m, cells.size());
        Page.build(p, Page.LEAF, 0, 0, cells, 0, m);
        return new Split(leafSeparator(cells, m), right);
    }

    /** Inserts the separator of child c + 1 (the right half of a split child c) into branch p. */
    private Split insertSeparator(byte[] p, int level, int c, Split s) {
        byte[] cell = Page.branchCell(s.separator(), s.right());
        if (Page.insertCell(p, c, cell)) {
            return null;
        }
        List<byte[]> cells = Page.cells(p);
        cells.add(c, cell);
        int n = cells.size();
        // A branch split moves its middle separator up: left keeps [0, m), right gets (m, n) and, as
        // its first child, the child of separator m.
        int m = c == n - 1 ? n - 2 : balancedPromote(cells);
        long leftFirst = Page.link(p);
        long right = dirty.add(new byte[Page.BYTES]);
        Page.build(dirty.get(right), Page.BRANCH, level, Page.cellChild(cells.get(m)), cells, m + 1, n);
        Page.build(p, Page.BRANCH, level, leftFirst, cells, 0, m);
        return new Split(Page.cellKey(cells.get(m), Page.BRANCH), right);
    }

    /**
     * Child c of branch p fell below a quarter full after a removal: merge it with a sibling when both
     * fit one page, else share their cells evenly. Returns a split when p's new separator did not fit.
     */
    private Split rebalance(byte[] p, int level, int c) {
        Invariant.check(Page.count(p) >= 1, "rebalance under a branch of %d separators", Page.count(p));
        int l = c > 0 ? c - 1 : 0;
        int childLevel = level - 1;
        int type = childLevel == 0 ? Page.LEAF : Page.BRANCH;
        long leftId = dirtyChild(p, l, childLevel);
        long rightId = dirtyChild(p, l + 1, childLevel);
        byte[] left = dirty.get(leftId);
        byte[] right = dirty.get(rightId);
        long leftFirst = Page.link(left);
        List<byte[]> cells = Page.cells(left);
        if (type == Page.BRANCH) {
            // The parent's separator comes down between the two halves, with the right page's first child.
            cells.add(Page.branchCell(Page.key(p, l), Page.link(right)));
        }
        cells.addAll(Page.cells(right));
        int n = cells.size();
        if (Page.footprint(cells, 0, n) <= Page.USABLE_BYTES) {
            Page.build(left, type, childLevel, leftFirst, cells, 0, n);
            dirty.remove(rightId);
            Page.removeCell(p, l);
            return null;
        }
        byte[] separator;
        if (type == Page.LEAF) {
            int m = balancedSplit(cells);
            Page.build(left, Page.LEAF, 0, 0, cells, 0, m);
            Page.build(right, Page.LEAF, 0, 0, cells, m, n);
            separator = leafSeparator(cells, m);
        } else {
            int m = balancedPromote(cells);
            Page.build(left, Page.BRANCH, childLevel, leftFirst, cells, 0, m);
            Page.build(right, Page.BRANCH, childLevel, Page.cellChild(cells.get(m)), cells, m + 1, n);
            separator = Page.cellKey(cells.get(m), Page.BRANCH);
        }
        Page.removeCell(p, l);
        return insertSeparator(p, level, l, new Split(separator, rightId));
    }

    private static byte[] leafSeparator(List<byte[]> cells, int m) {
        return Page.separator(Page.cellKey(cells.get(m - 1), Page.LEAF), Page.cellKey(cells.get(m), Page.LEAF));
    }

    /** The m in [1, n) that splits the leaf cells into [0, m) and [m, n) most evenly by bytes. */
    private static int balancedSplit(List<byte[]> cells) {
        int total = Page.footprint(cells, 0, cells.size());
        int best = -1;
        int bestWorse = Integer.MAX_VALUE;
        int left = 0;
        for (int m = 1; m < cells.size(); m++) {
            left += Page.SLOT_BYTES + cells.get(m - 1).length;
            int worse = Math.max(left, total - left);
            if (worse < bestWorse) {
                bestWorse = worse;
                best = m;
            }
        }
        Invariant.check(best > 0 && bestWorse <= Page.USABLE_BYTES, "leaf split into halves of %d bytes", bestWorse);
        return best;
    }

    /** The m in [1, n - 1) whose separator moves up, leaving [0, m) and (m, n) most even by bytes. */
    private static int balancedPromote(List<byte[]> cells) {
        int n = cells.size();
        int total = Page.footprint(cells, 0, n);
        int best = -1;
        int bestWorse = Integer.MAX_VALUE;
        int left = 0;
        for (int m = 1; m < n - 1; m++) {
            left += Page.SLOT_BYTES + cells.get(m - 1).length;
            int right = total - left - Page.SLOT_BYTES - cells.get(m).length;
            int worse = Math.max(left, right);
            if (worse < bestWorse) {
                bestWorse = worse;
                best = m;
            }
        }
        Invariant.check(best > 0 && bestWorse <= Page.USABLE_BYTES, "branch split into halves of %d bytes", bestWorse);
        return best;
    }

    /** A new root above the old one and the right half of its split. */
    private void grow(Split s) {
        Invariant.check(height <= Page.MAX_LEVEL, "a tree of height %d", height + 1);
        byte[] p = new byte[Page.BYTES];
        Page.init(p, Page.BRANCH, height, root);
        Invariant.check(Page.insertCell(p, 0, Page.branchCell(s.separator(), s.right())), "separator into a new root");
        root = dirty.add(p);
        height++;
    }

    /** A root branch left with a single child hands the root to that child. */
    private void shrink() {
        while (height > 1 && DirtyPages.isDirty(root) && Page.count(dirty.get(root)) == 0) {
            long only = Page.link(dirty.get(root));
            dirty.remove(root);
            root = only;
            height--;
        }
    }

    /** Child c of dirty branch p, checked, copied into memory and pointed at by p. */
    private long dirtyChild(byte[] p, int c, int childLevel) {
        long pointer = Page.child(p, c);
        node(pointer, childLevel);
        long id = cow(pointer);
        Page.child(p, c, id);
        return id;
    }

    /** Copy-on-write: the dirty copy of a clean page (a dirty page is its own copy). */
    private long cow(long pointer) {
        if (DirtyPages.isDirty(pointer)) {
            return pointer;
        }
        byte[] copy = page(pointer).clone();
        Page.i32(copy, Page.CRC_AT, 0);
        Page.i64(copy, Page.GENERATION_AT, 0);
        Page.i64(copy, Page.ADDRESS_AT, 0);
        obsolete.add(pointer);
        cache.invalidate(pointer); // unreachable from now on: leave the room to live pages
        return dirty.add(copy);
    }

    /** Builds the overflow chain of a value as dirty pages, last page first; returns the first. */
    private long writeOverflow(byte[] value) {
        int pages = (value.length + Page.USABLE_BYTES - 1) / Page.USABLE_BYTES;
        long next = 0;
        for (int k = pages - 1; k >= 0; k--) {
            int from = k * Page.USABLE_BYTES;
            int n = Math.min(Page.USABLE_BYTES, value.length - from);
            byte[] p = new byte[Page.BYTES];
            Page.init(p, Page.OVERFLOW, 0, next);
            Page.u16(p, Page.COUNT_AT, n);
            System.arraycopy(value, from, p, Page.HEADER_BYTES, n);
            next = dirty.add(p);
        }
        return next;
    }

    /**
     * The overflow pages of {@code key}'s value: null when the key is absent, empty when the value is
     * inline. Reads (and checks) the whole chain.
     */
    private long[] chainOf(byte[] key) {
        long pointer = root;
        for (int level = height - 1; level > 0; level--) {
            byte[] p = node(pointer, level);
            pointer = Page.child(p, Page.childIndex(p, key));
        }
        byte[] leaf = node(pointer, 0);
        int i = Page.search(leaf, key);
        if (i < 0) {
            return null;
        }
        if (Page.kind(leaf, i) == Page.KIND_INLINE) {
            return INLINE;
        }
        int length = Page.valueLength(leaf, i);
        long[] chain = new long[(length + Page.USABLE_BYTES - 1) / Page.USABLE_BYTES];
        long next = Page.overflowFirst(leaf, i);
        for (int k = 0; k < chain.length; k++) {
            if (next == 0) {
                throw corruption(k == 0 ? pointer : chain[k - 1], "the overflow chain ends early");
            }
            chain[k] = next;
            next = Page.link(overflowPage(next));
        }
        if (next != 0) {
            throw corruption(chain[chain.length - 1], "the overflow chain goes on past the value's end");
        }
        return chain;
    }

    /** Forgets overflow pages: dirty ones vanish, clean ones wait for the next checkpoint's release list. */
    private void drop(long[] chain) {
        for (long pointer : chain) {
            if (DirtyPages.isDirty(pointer)) {
                dirty.remove(pointer);
            } else {
                obsolete.add(pointer);
                cache.invalidate(pointer);
            }
        }
    }

    /**
     * Makes every page whose address {@code where} accepts dirty (its content unchanged), so that the
     * next checkpoint writes it somewhere else: for each leaf on such a page or below one, its first
     * key is put again with its value (copying the path from the root), and a value whose overflow
     * chain has such a page is put again (a new chain). Used to move the tree off a volume. Returns
     * how many keys were put again. Under the write lock.
     */
    public int rewritePagesWhere(java.util.function.LongPredicate where) {
        List<byte[]> keys = new ArrayList<>();
        boolean[] emptyRootMatches = {false};
        collectRewrites(root, height - 1, false, where, keys, emptyRootMatches);
        for (byte[] key : keys) {
            byte[] value = get(key).orElseThrow();
            put(key, value);
        }
        if (emptyRootMatches[0]) {
            // An empty root leaf has no key to put again: a key put and removed copies it all the same.
            byte[] probe = {0};
            put(probe, new byte[0]);
            remove(probe);
        }
        return keys.size();
    }

    private void collectRewrites(long pointer, int level, boolean above, java.util.function.LongPredicate where,
            List<byte[]> keys, boolean[] emptyRootMatches) {
        boolean here = above || !DirtyPages.isDirty(pointer) && where.test(pointer);
        byte[] p = node(pointer, level);
        if (level > 0) {
            for (int c = 0; c <= Page.count(p); c++) {
                collectRewrites(Page.child(p, c), level - 1, here, where, keys, emptyRootMatches);
            }
            return;
        }
        if (Page.count(p) == 0) {
            emptyRootMatches[0] |= here;
            return;
        }
        for (int i = 0; i < Page.count(p); i++) {
            boolean rewrite = here && i == 0;
            if (!rewrite && Page.kind(p, i) == Page.KIND_OVERFLOW) {
                for (long o = Page.overflowFirst(p, i); o != 0 && !rewrite; o = Page.link(overflowPage(o))) {
                    rewrite = !DirtyPages.isDirty(o) && where.test(o);
                }
            }
            if (rewrite) {
                keys.add(Page.key(p, i));
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Checkpoint

    /**
     * Writes every dirty page to a newly allocated address, children before parents, and returns the
     * new root with the pages the previous root used and this one does not. Nothing the last published
     * root references is written to. Publishing the root (meta slot) and freeing {@code released} after
     * that is the caller's job. On an exception nothing changes in memory and every address allocated
     * here has been given back to the allocator.
     */
    public Checkpoint checkpoint(PageAllocator allocator, long generation) {
        Invariant.check(generation > this.generation, "checkpoint of generation %d after generation %d", generation,
                this.generation);
        if (dirty.count() == 0) {
            Invariant.check(obsolete.isEmpty(), "pages released with nothing dirty");
            this.generation = generation;
            return new Checkpoint(root, generation, 0, List.of());
        }
        Invariant.check(DirtyPages.isDirty(root), "dirty pages under a clean root");
        long[] order = new long[dirty.count()];
        int n = postOrder(root, order, 0);
        Invariant.check(n == dirty.count(), "%d dirty pages of which %d are reachable", dirty.count(), n);
        long[] addresses = new long[dirty.slots()];
        List<byte[]> images = new ArrayList<>(n);
        long[] written = new long[n];
        int allocated = 0;
        try {
            for (; allocated < n; allocated++) {
                long address = allocator.allocate();
                Invariant.check(address > 0, "the allocator handed out address %d", address);
                addresses[DirtyPages.slot(order[allocated])] = address;
            }
            for (int i = 0; i < n; i++) {
                long address = addresses[DirtyPages.slot(order[i])];
                byte[] image = dirty.get(order[i]).clone();
                patchPointers(image, addresses);
                Page.seal(image, generation, address);
                String problem = Page.diskProblem(image, address, generation);
                if (problem != null) {
                    Invariant.check(false, "about to write a bad page: " + problem);
                }
                written[i] = address;
                images.add(image);
            }
            // All at once: the store may coalesce neighbouring addresses into large writes.
            store.writeAll(written, images);
        } catch (RuntimeException e) {
            for (int i = 0; i < allocated; i++) {
                try {
                    allocator.release(addresses[DirtyPages.slot(order[i])]);
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        // Everything is written: only now does the tree in memory move to the new pages.
        long newRoot = addresses[DirtyPages.slot(root)];
        dirty.clear();
        for (int i = 0; i < n; i++) {
            cache.put(Page.address(images.get(i)), images.get(i));
        }
        root = newRoot;
        checkpointedRoot = newRoot;
        checkpointedRootPage = images.get(n - 1); // post order: the root is written last
        Invariant.check(Page.address(checkpointedRootPage) == newRoot, "the root was not written last");
        this.generation = generation;
        List<Long> released = List.copyOf(obsolete);
        obsolete.clear();
        return new Checkpoint(newRoot, generation, n, released);
    }

    /** Appends the dirty pages reachable from {@code pointer} to {@code order}, every page after those it points at. */
    private int postOrder(long pointer, long[] order, int n) {
        if (!DirtyPages.isDirty(pointer)) {
            return n;
        }
        byte[] p = dirty.get(pointer);
        switch (Page.type(p)) {
            case Page.BRANCH -> {
                for (int c = 0; c <= Page.count(p); c++) {
                    n = postOrder(Page.child(p, c), order, n);
                }
            }
            case Page.LEAF -> {
                for (int i = 0; i < Page.count(p); i++) {
                    if (Page.kind(p, i) == Page.KIND_OVERFLOW) {
                        n = postOrder(Page.overflowFirst(p, i), order, n);
                    }
                }
            }
            default -> n = postOrder(Page.link(p), order, n);
        }
        Invariant.check(n < order.length, "a dirty page is reachable twice (%d of %d)", n, order.length);
        order[n] = pointer;
        return n + 1;
    }

    private static void patchPointers(byte[] p, long[] addresses) {
        switch (Page.type(p)) {
            case Page.BRANCH -> {
                for (int c = 0; c <= Page.count(p); c++) {
                    if (DirtyPages.isDirty(Page.child(p, c))) {
                        Page.child(p, c, addresses[DirtyPages.slot(Page.child(p, c))]);
                    }
                }
            }
            case Page.LEAF -> {
                for (int i = 0; i < Page.count(p); i++) {
                    if (Page.kind(p, i) == Page.KIND_OVERFLOW && DirtyPages.isDirty(Page.overflowFirst(p, i))) {
                        Page.i64(p, Page.valueOffset(p, i), addresses[DirtyPages.slot(Page.overflowFirst(p, i))]);
                    }
                }
            }
            default -> {
                if (DirtyPages.isDirty(Page.link(p))) {
                    Page.link(p, addresses[DirtyPages.slot(Page.link(p))]);
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // fsck

    /**
     * Reads every reachable page from the store (not the cache; dirty pages from memory) and checks
     * checksums, identity, structure, key order within and across pages, separators against children,
     * equal leaf depth, generations, overflow chains and that no page is referenced twice. Reports
     * every problem found instead of stopping at the first; a damaged page's subtree is skipped.
     */
    public VerifyReport verify() {
        return new Verifier(store, dirty, generation).run(root, height);
    }

    /** The last checkpoint's root (what the meta slot publishes), to verify later without the caller's lock. */
    public record Published(long root, long generation, int height) {}

    /** The tree the last checkpoint wrote (or that was opened). Under the caller's lock. */
    public Published published() {
        Invariant.check(checkpointedRoot != 0, "a tree that was never checkpointed has nothing published");
        return new Published(checkpointedRoot, generation, Page.level(checkpointedRootPage) + 1);
    }

    /**
     * {@link #verify()} of a published tree, reading only from the store: may run without the caller's
     * lock as long as the caller keeps that tree's pages from being freed (no newer checkpoint is
     * published meanwhile).
     */
    public VerifyReport verify(Published tree) {
        return new Verifier(store, new DirtyPages(), tree.generation()).run(tree.root(), tree.height());
    }

    /**
     * Every page address of the tree the last checkpoint wrote (or that was opened): those still in use
     * plus those the current changes replaced, which stay in use until the next checkpoint is durable.
     * fsck's free-space cross-check and a free-space rebuild use it; it reads every page.
     */
    public void forEachPageAddress(LongConsumer consumer) {
        visit(root, height - 1, consumer);
        for (long address : obsolete) {
            consumer.accept(address);
        }
    }

    private void visit(long pointer, int level, LongConsumer consumer) {
        byte[] p = peek(pointer);
        checkShape(p, pointer, level);
        if (!DirtyPages.isDirty(pointer)) {
            consumer.accept(pointer);
        }
        if (level > 0) {
            for (int c = 0; c <= Page.count(p); c++) {
                visit(Page.child(p, c), level - 1, consumer);
            }
            return;
        }
        for (int i = 0; i < Page.count(p); i++) {
            if (Page.kind(p, i) == Page.KIND_OVERFLOW) {
                int left = Page.valueLength(p, i) / Page.USABLE_BYTES + 1; // a longer chain loops or is damaged
                for (long o = Page.overflowFirst(p, i); o != 0; ) {
                    if (left-- == 0) {
                        throw corruption(o, "the overflow chain is longer than its value");
                    }
                    byte[] page = peek(o);
                    if (Page.type(page) != Page.OVERFLOW) {
                        throw corruption(o, "it is a " + Page.typeName(Page.type(page)) + " inside an overflow chain");
                    }
                    if (!DirtyPages.isDirty(o)) {
                        consumer.accept(o);
                    }
                    o = Page.link(page);
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // State

    /** Pages changed since the last checkpoint (pinned in memory; a checkpoint writes this many). */
    public int dirtyPages() {
        return dirty.count();
    }

    /** Pages read from the store because the cache did not hold them, since the tree was opened. */
    public long pageReads() {
        return pageReads.sum();
    }

    /** Bytes of clean pages held by the cache. */
    public long cachedBytes() {
        cache.cleanUp();
        return cache.policy().eviction().orElseThrow().weightedSize().orElse(0);
    }

    public int height() {
        return height;
    }

    /** The generation of the last checkpoint (or of the opened root); 0 for a new tree never checkpointed. */
    public long generation() {
        return generation;
    }

    /** The root address of the last checkpoint (or the opened root); 0 for a new tree never checkpointed. */
    public long rootAddress() {
        return checkpointedRoot;
    }

    // ------------------------------------------------------------------------------------------
    // Pages

    private byte[] page(long pointer) {
        if (DirtyPages.isDirty(pointer)) {
            return dirty.get(pointer);
        }
        Invariant.check(pointer != 0, "a null page pointer was followed");
        if (pointer == checkpointedRoot) {
            return checkpointedRootPage;
        }
        return cache.get(pointer, loader);
    }

    /** A page without adding it to the cache (whole-tree walks would only evict the hot pages). */
    private byte[] peek(long pointer) {
        if (DirtyPages.isDirty(pointer)) {
            return dirty.get(pointer);
        }
        byte[] p = cache.getIfPresent(pointer);
        return p != null ? p : load(pointer);
    }

    /** The cache's loader: every page read from the store is checked before anyone sees it. */
    private byte[] load(Long address) {
        byte[] p = new byte[Page.BYTES];
        store.read(address, MemorySegment.ofArray(p));
        pageReads.increment();
        String problem = Page.diskProblem(p, address, generation);
        if (problem != null) {
            throw corruption(address, problem);
        }
        return p;
    }

    /** The leaf (level 0) or branch at {@code pointer}, which the tree's shape says is at {@code level}. */
    private byte[] node(long pointer, int level) {
        byte[] p = page(pointer);
        checkShape(p, pointer, level);
        return p;
    }

    private void checkShape(byte[] p, long pointer, int level) {
        int want = level == 0 ? Page.LEAF : Page.BRANCH;
        if (Page.type(p) != want || Page.level(p) != level) {
            throw corruption(pointer, "it is a " + Page.typeName(Page.type(p)) + " of level " + Page.level(p)
                    + " where the tree needs a " + Page.typeName(want) + " of level " + level);
        }
    }

    private byte[] overflowPage(long pointer) {
        byte[] p = page(pointer);
        if (Page.type(p) != Page.OVERFLOW) {
            throw corruption(pointer, "it is a " + Page.typeName(Page.type(p)) + " inside an overflow chain");
        }
        return p;
    }

    private byte[] value(byte[] leaf, int i) {
        int length = Page.valueLength(leaf, i);
        if (Page.kind(leaf, i) == Page.KIND_INLINE) {
            int at = Page.valueOffset(leaf, i);
            return Arrays.copyOfRange(leaf, at, at + length);
        }
        byte[] out = new byte[length];
        long pointer = Page.overflowFirst(leaf, i);
        int done = 0;
        while (done < length) {
            byte[] o = overflowPage(pointer);
            int n = Page.count(o);
            int due = Math.min(Page.USABLE_BYTES, length - done);
            if (n != due) {
                throw corruption(pointer, "the overflow page holds " + n + " bytes of a value where " + due + " are due");
            }
            System.arraycopy(o, Page.HEADER_BYTES, out, done, n);
            done += n;
            long next = Page.link(o);
            if (done < length ? next == 0 : next != 0) {
                throw corruption(pointer, done < length ? "the overflow chain ends " + (length - done) + " bytes early"
                        : "the overflow chain goes on past the value's end");
            }
            pointer = next;
        }
        return out;
    }

    private D4Exception.Corruption corruption(long pointer, String what) {
        String page = DirtyPages.isDirty(pointer) ? "unwritten metadata page #" + -pointer : store.describe(pointer);
        return new D4Exception.Corruption(page + " is damaged: " + what + "; run d4 fsck");
    }

    private static void checkKey(byte[] key) {
        if (key == null || key.length < 1 || key.length > Limits.MAX_TREE_KEY_BYTES) {
            throw new D4Exception.InvalidArgument("a key of " + (key == null ? "null" : key.length + " bytes")
                    + ": keys are 1.." + Limits.MAX_TREE_KEY_BYTES + " bytes");
        }
    }

    /** A key for messages: hex, shortened. */
    static String show(byte[] key) {
        HexFormat hex = HexFormat.of();
        return key.length <= 24 ? hex.formatHex(key) : hex.formatHex(key, 0, 24) + "…(" + key.length + " bytes)";
    }
}
