package d4.engine.meta.tree;

import d4.engine.Invariant;
import d4.engine.Limits;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The byte layout of one tree page and every operation on page bytes (docs/format.md, "Metadata B+tree").
 *
 * <p>A page is a plain {@code byte[4096]}: lookups binary-search the bytes in place, so a page read
 * from the store is never decoded into objects. Leaf and branch pages are slotted: a header, an array
 * of u16 cell offsets in key order growing up from the header, and the cells packed at the end of the
 * page. Pages are kept compact at all times (a removed cell's bytes are closed up at once), so the
 * free space is always the one gap between the slot array and the first cell.
 *
 * <p>In memory a pointer (a child or an overflow link) is either a page address (&gt; 0), or, inside a
 * dirty page only, the negative id of another dirty page that has no address yet; 0 means none.
 */
final class Page {
    private Page() {}

    static final int BYTES = Limits.BLOCK_BYTES;
    /** Bytes "D4PG" read as a little-endian u32. */
    static final int MAGIC = 0x47503444;
    static final int VERSION = 1;

    static final int LEAF = 1;
    static final int BRANCH = 2;
    static final int OVERFLOW = 3;

    static final int MAGIC_AT = 0;
    static final int VERSION_AT = 4;
    static final int TYPE_AT = 5;
    static final int LEVEL_AT = 6;
    static final int RESERVED_AT = 7;
    static final int COUNT_AT = 8;
    static final int HEAP_AT = 10;
    static final int CRC_AT = 12;
    static final int GENERATION_AT = 16;
    static final int ADDRESS_AT = 24;
    static final int LINK_AT = 32;
    static final int HEADER_BYTES = 40;

    /** Bytes for slots and cells (leaf, branch) or for value bytes (overflow). */
    static final int USABLE_BYTES = BYTES - HEADER_BYTES;
    static final int SLOT_BYTES = 2;
    /** u16 key length, u8 kind, i32 value length. */
    static final int LEAF_CELL_HEADER_BYTES = 7;
    /** u16 key length, i64 child. */
    static final int BRANCH_CELL_HEADER_BYTES = 10;
    static final int KIND_INLINE = 0;
    static final int KIND_OVERFLOW = 1;
    static final int POINTER_BYTES = 8;

    /**
     * A value is stored in its leaf cell when key + value take at most this many bytes, otherwise in
     * an overflow chain. With it, no leaf cell (slot included) is larger than {@link #MAX_LEAF_FOOTPRINT}
     * = 1041 bytes, a quarter of a page: a page holds at least three of the largest cells, so a split
     * of a full page always yields two halves of at least two entries each.
     */
    static final int MAX_INLINE_PAYLOAD = Limits.MAX_TREE_KEY_BYTES + POINTER_BYTES;
    static final int MAX_LEAF_FOOTPRINT = SLOT_BYTES + LEAF_CELL_HEADER_BYTES + MAX_INLINE_PAYLOAD;
    static final int MAX_BRANCH_FOOTPRINT = SLOT_BYTES + BRANCH_CELL_HEADER_BYTES + Limits.MAX_TREE_KEY_BYTES;
    /** Pages below this fill (slots + cells) are merged or refilled after a removal. */
    static final int UNDERFULL_BYTES = USABLE_BYTES / 4;
    /** Overflow pages a value of the largest size needs. */
    static final int MAX_OVERFLOW_PAGES = (Limits.MAX_VALUE_BYTES + USABLE_BYTES - 1) / USABLE_BYTES;
    /** A tree of this height would hold more pages than any address can name. */
    static final int MAX_LEVEL = 63;

    private static final VarHandle U16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final byte[] ZERO_CRC = new byte[4];

    static {
        Invariant.check(3 * MAX_LEAF_FOOTPRINT <= USABLE_BYTES && 3 * MAX_BRANCH_FOOTPRINT <= USABLE_BYTES,
                "a page holds three of the largest cells");
        Invariant.check(MAX_OVERFLOW_PAGES * (long) USABLE_BYTES >= Limits.MAX_VALUE_BYTES, "overflow of %d pages",
                MAX_OVERFLOW_PAGES);
    }

    // ------------------------------------------------------------------------------------------
    // Little-endian fields

    static int u16(byte[] p, int at) {
        return (short) U16.get(p, at) & 0xffff;
    }

    static void u16(byte[] p, int at, int v) {
        U16.set(p, at, (short) v);
    }

    static int i32(byte[] p, int at) {
        return (int) I32.get(p, at);
    }

    static void i32(byte[] p, int at, int v) {
        I32.set(p, at, v);
    }

    static long i64(byte[] p, int at) {
        return (long) I64.get(p, at);
    }

    static void i64(byte[] p, int at, long v) {
        I64.set(p, at, v);
    }

    // ------------------------------------------------------------------------------------------
    // Header

    static int type(byte[] p) {
        return p[TYPE_AT] & 0xff;
    }

    static int level(byte[] p) {
        return p[LEVEL_AT] & 0xff;
    }

    static int count(byte[] p) {
        return u16(p, COUNT_AT);
    }

    static int heap(byte[] p) {
        return u16(p, HEAP_AT);
    }

    static long generation(byte[] p) {
        return i64(p, GENERATION_AT);
    }

    static long address(byte[] p) {
        return i64(p, ADDRESS_AT);
    }

    static long link(byte[] p) {
        return i64(p, LINK_AT);
    }

    static void link(byte[] p, long pointer) {
        i64(p, LINK_AT, pointer);
    }

    static String typeName(int type) {
        return switch (type) {
            case LEAF -> "leaf";
            case BRANCH -> "branch";
            case OVERFLOW -> "overflow page";
            default -> "page of unknown type " + type;
        };
    }

    /** Clears {@code p} into an empty page of the type; generation, address and CRC stay 0 until a checkpoint. */
    static void init(byte[] p, int type, int level, long link) {
        Arrays.fill(p, (byte) 0);
        i32(p, MAGIC_AT, MAGIC);
        p[VERSION_AT] = VERSION;
        p[TYPE_AT] = (byte) type;
        p[LEVEL_AT] = (byte) level;
        u16(p, HEAP_AT, type == OVERFLOW ? 0 : BYTES);
        link(p, link);
    }

    static int crc(byte[] p) {
        CRC32C c = new CRC32C();
        c.update(p, 0, CRC_AT);
        c.update(ZERO_CRC, 0, ZERO_CRC.length);
        c.update(p, CRC_AT + 4, BYTES - CRC_AT - 4);
        return (int) c.getValue();
    }

    /** Stamps the page with the generation and address that write it, then its CRC (computed last). */
    static void seal(byte[] p, long generation, long address) {
        i64(p, GENERATION_AT, generation);
        i64(p, ADDRESS_AT, address);
        i32(p, CRC_AT, crc(p));
    }

    // ------------------------------------------------------------------------------------------
    // Slots, keys, search

    static int slot(byte[] p, int i) {
        return u16(p, HEADER_BYTES + SLOT_BYTES * i);
    }

    private static void slot(byte[] p, int i, int offset) {
        u16(p, HEADER_BYTES + SLOT_BYTES * i, offset);
    }

    private static int cellHeaderBytes(byte[] p) {
        return type(p) == LEAF ? LEAF_CELL_HEADER_BYTES : BRANCH_CELL_HEADER_BYTES;
    }

    static int keyLength(byte[] p, int i) {
        return u16(p, slot(p, i));
    }

    static int keyOffset(byte[] p, int i) {
        return slot(p, i) + cellHeaderBytes(p);
    }

    static byte[] key(byte[] p, int i) {
        int at = keyOffset(p, i);
        return Arrays.copyOfRange(p, at, at + keyLength(p, i));
    }

    /** Compares key i of the page with {@code key}, as unsigned bytes. */
    static int compareKey(byte[] p, int i, byte[] key) {
        int at = keyOffset(p, i);
        return Arrays.compareUnsigned(p, at, at + keyLength(p, i), key, 0, key.length);
    }

    /** The index of {@code key} in the page, or -(insertion point) - 1. Binary search on the page bytes. */
    static int search(byte[] p, byte[] key) {
        int header = cellHeaderBytes(p);
        int lo = 0;
        int hi = count(p) - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int o = slot(p, mid);
            int c = Arrays.compareUnsigned(p, o + header, o + header + u16(p, o), key, 0, key.length);
            if (c < 0) {
                lo = mid + 1;
            } else if (c > 0) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -(lo + 1);
    }

    /** The child of a branch whose subtree may hold {@code key}: the number of separators &lt;= key. */
    static int childIndex(byte[] p, byte[] key) {
        int i = search(p, key);
        return i >= 0 ? i + 1 : -i - 1;
    }

    /** Child c of a branch (0..count): child 0 is in the header, child c &gt; 0 in the cell of separator c - 1. */
    static long child(byte[] p, int c) {
        return c == 0 ? link(p) : i64(p, slot(p, c - 1) + 2);
    }

    static void child(byte[] p, int c, long pointer) {
        if (c == 0) {
            link(p, pointer);
        } else {
            i64(p, slot(p, c - 1) + 2, pointer);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Leaf cells

    static int kind(byte[] p, int i) {
        return p[slot(p, i) + 2] & 0xff;
    }

    static int valueLength(byte[] p, int i) {
        return i32(p, slot(p, i) + 3);
    }

    /** Offset of an inline value, or of the first overflow page's address. */
    static int valueOffset(byte[] p, int i) {
        int o = slot(p, i);
        return o + LEAF_CELL_HEADER_BYTES + u16(p, o);
    }

    static long overflowFirst(byte[] p, int i) {
        return i64(p, valueOffset(p, i));
    }

    static boolean isInline(int keyLength, int valueLength) {
        return keyLength + valueLength <= MAX_INLINE_PAYLOAD;
    }

    static byte[] inlineCell(byte[] key, byte[] value) {
        byte[] c = new byte[LEAF_CELL_HEADER_BYTES + key.length + value.length];
        u16(c, 0, key.length);
        c[2] = KIND_INLINE;
        i32(c, 3, value.length);
        System.arraycopy(key, 0, c, LEAF_CELL_HEADER_BYTES, key.length);
        System.arraycopy(value, 0, c, LEAF_CELL_HEADER_BYTES + key.length, value.length);
        return c;
    }

    static byte[] overflowCell(byte[] key, int valueLength, long first) {
        byte[] c = new byte[LEAF_CELL_HEADER_BYTES + key.length + POINTER_BYTES];
        u16(c, 0, key.length);
        c[2] = KIND_OVERFLOW;
        i32(c, 3, valueLength);
        System.arraycopy(key, 0, c, LEAF_CELL_HEADER_BYTES, key.length);
        i64(c, LEAF_CELL_HEADER_BYTES + key.length, first);
        return c;
    }

    static byte[] branchCell(byte[] key, long child) {
        byte[] c = new byte[BRANCH_CELL_HEADER_BYTES + key.length];
        u16(c, 0, key.length);
        i64(c, 2, child);
        System.arraycopy(key, 0, c, BRANCH_CELL_HEADER_BYTES, key.length);
        return c;
    }

    /** The key of a detached cell (from {@link #cells} or the cell builders). */
    static byte[] cellKey(byte[] cell, int type) {
        int header = type == LEAF ? LEAF_CELL_HEADER_BYTES : BRANCH_CELL_HEADER_BYTES;
        return Arrays.copyOfRange(cell, header, header + u16(cell, 0));
    }

    static long cellChild(byte[] cell) {
        return i64(cell, 2);
    }

    // ------------------------------------------------------------------------------------------
    // Cell storage

    private static int cellLength(byte[] p, int o, int type) {
        int k = u16(p, o);
        if (type == BRANCH) {
            return BRANCH_CELL_HEADER_BYTES + k;
        }
        return LEAF_CELL_HEADER_BYTES + k + (p[o + 2] == KIND_INLINE ? i32(p, o + 3) : POINTER_BYTES);
    }

    /** Bytes taken by slots and cells. */
    static int usedBytes(byte[] p) {
        return SLOT_BYTES * count(p) + BYTES - heap(p);
    }

    /** Copies of every cell, in key order. */
    static List<byte[]> cells(byte[] p) {
        int n = count(p);
        int type = type(p);
        List<byte[]> out = new ArrayList<>(n + 1);
        for (int i = 0; i < n; i++) {
            int o = slot(p, i);
            out.add(Arrays.copyOfRange(p, o, o + cellLength(p, o, type)));
        }
        return out;
    }

    /** Bytes the cells [from, to) take in a page, slots included. */
    static int footprint(List<byte[]> cells, int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) {
            sum += SLOT_BYTES + cells.get(i).length;
        }
        return sum;
    }

    /** Inserts a cell as the i-th; false (page unchanged) when it does not fit. */
    static boolean insertCell(byte[] p, int i, byte[] cell) {
        int n = count(p);
        int heap = heap(p);
        int slotsEnd = HEADER_BYTES + SLOT_BYTES * n;
        if (heap - slotsEnd < SLOT_BYTES + cell.length) {
            return false;
        }
        Invariant.check(i >= 0 && i <= n, "insert of cell %d into a page of %d", i, n);
        heap -= cell.length;
        System.arraycopy(cell, 0, p, heap, cell.length);
        int at = HEADER_BYTES + SLOT_BYTES * i;
        System.arraycopy(p, at, p, at + SLOT_BYTES, slotsEnd - at);
        slot(p, i, heap);
        u16(p, COUNT_AT, n + 1);
        u16(p, HEAP_AT, heap);
        return true;
    }

    /** Removes the i-th cell and closes up its bytes, so that the page stays compact. */
    static void removeCell(byte[] p, int i) {
        int n = count(p);
        Invariant.check(i >= 0 && i < n, "removal of cell %d from a page of %d", i, n);
        int heap = heap(p);
        int o = slot(p, i);
        int length = cellLength(p, o, type(p));
        // Cells below the removed one move up by its length; their slots follow.
        System.arraycopy(p, heap, p, heap + length, o - heap);
        Arrays.fill(p, heap, heap + length, (byte) 0);
        int at = HEADER_BYTES + SLOT_BYTES * i;
        int slotsEnd = HEADER_BYTES + SLOT_BYTES * n;
        System.arraycopy(p, at + SLOT_BYTES, p, at, slotsEnd - at - SLOT_BYTES);
        u16(p, slotsEnd - SLOT_BYTES, 0);
        for (int j = 0; j < n - 1; j++) {
            int s = slot(p, j);
            if (s < o) {
                slot(p, j, s + length);
            }
        }
        u16(p, COUNT_AT, n - 1);
        u16(p, HEAP_AT, heap + length);
    }

    /** Rewrites {@code p} as a page of the type holding cells [from, to) in order. */
    static void build(byte[] p, int type, int level, long link, List<byte[]> cells, int from, int to) {
        Invariant.check(footprint(cells, from, to) <= USABLE_BYTES, "build of a page from %d bytes of cells",
                footprint(cells, from, to));
        init(p, type, level, link);
        int heap = BYTES;
        for (int i = from; i < to; i++) {
            byte[] c = cells.get(i);
            heap -= c.length;
            System.arraycopy(c, 0, p, heap, c.length);
            slot(p, i - from, heap);
        }
        u16(p, COUNT_AT, to - from);
        u16(p, HEAP_AT, heap);
    }

    /**
     * The shortest key s with left &lt; s &lt;= right (a prefix of right): separators stay short, so
     * branches hold many of them even when keys share long prefixes.
     */
    static byte[] separator(byte[] left, byte[] right) {
        Invariant.check(Arrays.compareUnsigned(left, right) < 0, "separator of keys out of order");
        int common = Arrays.mismatch(left, right);
        Invariant.check(common >= 0 && common < right.length, "separator of keys out of order");
        return Arrays.copyOf(right, common + 1);
    }

    // ------------------------------------------------------------------------------------------
    // Checks: after every read from the store, before every write, and by verify

    /**
     * The first thing wrong with a page read from {@code address}, or null. Checks what every reader
     * relies on: identity (magic, CRC, version, address, generation), then the structure.
     */
    static String diskProblem(byte[] p, long address, long maxGeneration) {
        int magic = i32(p, MAGIC_AT);
        if (magic != MAGIC) {
            return isZero(p) ? "the page is blank (never written, or lost)"
                    : "no page magic (found 0x" + Integer.toHexString(magic) + ", want 0x" + Integer.toHexString(MAGIC) + ")";
        }
        int stored = i32(p, CRC_AT);
        int computed = crc(p);
        if (stored != computed) {
            return "checksum mismatch (stored 0x" + Integer.toHexString(stored) + ", computed 0x"
                    + Integer.toHexString(computed) + ")";
        }
        if (p[VERSION_AT] != VERSION) {
            return "page format version " + (p[VERSION_AT] & 0xff) + ", this d4 reads version " + VERSION;
        }
        if (address(p) != address) {
            return "the page holds the page of address " + address(p) + " (a misdirected or lost write)";
        }
        long generation = generation(p);
        if (generation < 1 || generation > maxGeneration) {
            return "written by generation " + generation + ", outside 1.." + maxGeneration
                    + " (a stale page from an unpublished checkpoint, or damage)";
        }
        return structureProblem(p, true);
    }

    /**
     * The first structural problem of a page, or null. {@code onDisk}: pointers must be addresses
     * (a dirty page in memory may point at other dirty pages through negative ids).
     */
    static String structureProblem(byte[] p, boolean onDisk) {
        if (i32(p, MAGIC_AT) != MAGIC || p[VERSION_AT] != VERSION) {
            return "no page magic or an unknown version";
        }
        int type = type(p);
        int level = level(p);
        int n = count(p);
        if (p[RESERVED_AT] != 0) {
            return "reserved byte 7 is " + (p[RESERVED_AT] & 0xff) + ", not 0";
        }
        switch (type) {
            case OVERFLOW -> {
                if (level != 0 || n < 1 || n > USABLE_BYTES || heap(p) != 0 || onDisk && link(p) < 0) {
                    return "impossible overflow header (level " + level + ", " + n + " bytes, heap " + heap(p)
                            + ", next " + link(p) + ")";
                }
                return null;
            }
            case LEAF -> {
                if (level != 0 || link(p) != 0) {
                    return "leaf with level " + level + " and link " + link(p) + " (both must be 0)";
                }
            }
            case BRANCH -> {
                if (level < 1 || level > MAX_LEVEL) {
                    return "branch with impossible level " + level;
                }
                if (link(p) == 0 || onDisk && link(p) < 0) {
                    return "branch whose first child pointer is " + link(p);
                }
            }
            default -> {
                return "unknown page type " + type;
            }
        }
        int heap = heap(p);
        if (heap > BYTES || heap < HEADER_BYTES + SLOT_BYTES * n) {
            return "cell area starts at " + heap + ", which " + n + " slots and the header overlap";
        }
        int header = type == LEAF ? LEAF_CELL_HEADER_BYTES : BRANCH_CELL_HEADER_BYTES;
        long[] extents = new long[n]; // (offset << 32 | length), sorted below to check that cells tile
        int total = 0;
        for (int i = 0; i < n; i++) {
            int o = slot(p, i);
            if (o < heap || o + header > BYTES) {
                return "slot " + i + " points at " + o + ", outside the cell area [" + heap + ", " + BYTES + ")";
            }
            int k = u16(p, o);
            if (k < 1 || k > Limits.MAX_TREE_KEY_BYTES) {
                return "cell " + i + " has a key of " + k + " bytes";
            }
            if (type == LEAF) {
                int kind = p[o + 2];
                int v = i32(p, o + 3);
                if (kind == KIND_INLINE) {
                    if (v < 0 || !isInline(k, v)) {
                        return "cell " + i + " holds an inline value of " + v + " bytes (key " + k + " bytes)";
                    }
                } else if (kind == KIND_OVERFLOW) {
                    if (isInline(k, v) || v > Limits.MAX_VALUE_BYTES) {
                        return "cell " + i + " holds an overflow value of " + v + " bytes (key " + k + " bytes)";
                    }
                } else {
                    return "cell " + i + " has unknown kind " + kind;
                }
            }
            int length = cellLength(p, o, type);
            if (o + length > BYTES) {
                return "cell " + i + " at " + o + " of " + length + " bytes runs past the page end";
            }
            if (type == BRANCH || p[o + 2] == KIND_OVERFLOW) {
                long pointer = type == BRANCH ? i64(p, o + 2) : i64(p, o + length - POINTER_BYTES);
                if (pointer == 0 || onDisk && pointer < 0) {
                    return "cell " + i + " holds the pointer " + pointer;
                }
            }
            if (i > 0) {
                int prev = slot(p, i - 1);
                if (Arrays.compareUnsigned(p, prev + header, prev + header + u16(p, prev), p, o + header, o + header + k) >= 0) {
                    return "keys out of order at cell " + i;
                }
            }
            extents[i] = (long) o << 32 | length;
            total += length;
        }
        if (total != BYTES - heap) {
            return "cells take " + total + " bytes but the cell area is " + (BYTES - heap);
        }
        Arrays.sort(extents);
        for (int i = 1; i < n; i++) {
            if ((extents[i - 1] >>> 32) + (extents[i - 1] & 0xffffffffL) > extents[i] >>> 32) {
                return "cells overlap at offset " + (extents[i] >>> 32);
            }
        }
        return null;
    }

    private static boolean isZero(byte[] p) {
        for (byte b : p) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }
}
