package d4.engine.meta.tree;

import d4.engine.Invariant;
import java.util.Arrays;

/**
 * The pages changed since the last checkpoint: pinned in memory (never evicted) until a checkpoint
 * writes them. A dirty page has no address yet; it is named by a negative id, -(slot + 1), which is
 * what its parent's pointer holds until the checkpoint patches in the address. Looking one up is an
 * array access (no boxing on the read path).
 */
final class DirtyPages {
    private byte[][] pages = new byte[64][];
    private int[] freeSlots = new int[64];
    private int freeCount;
    private int highWater;
    private int count;

    /** Adds a page image; returns its id (&lt; 0). */
    long add(byte[] page) {
        Invariant.check(page.length == Page.BYTES, "dirty page of %d bytes", page.length);
        int slot;
        if (freeCount > 0) {
            slot = freeSlots[--freeCount];
        } else {
            if (highWater == pages.length) {
                pages = Arrays.copyOf(pages, pages.length * 2);
            }
            slot = highWater++;
        }
        pages[slot] = page;
        count++;
        return -(slot + 1L);
    }

    static boolean isDirty(long pointer) {
        return pointer < 0;
    }

    static int slot(long id) {
        return (int) (-id - 1);
    }

    byte[] get(long id) {
        int slot = slot(id);
        byte[] page = slot < highWater ? pages[slot] : null;
        Invariant.check(page != null, "dirty page %d does not exist", id);
        return page;
    }

    void remove(long id) {
        get(id);
        int slot = slot(id);
        pages[slot] = null;
        if (freeCount == freeSlots.length) {
            freeSlots = Arrays.copyOf(freeSlots, freeSlots.length * 2);
        }
        freeSlots[freeCount++] = slot;
        count--;
    }

    int count() {
        return count;
    }

    /** One more than the largest slot in use so far (sizes per-slot tables at a checkpoint). */
    int slots() {
        return highWater;
    }

    void clear() {
        Arrays.fill(pages, 0, highWater, null);
        highWater = 0;
        freeCount = 0;
        count = 0;
    }
}
