package d4.engine.io.uring;

import static d4.engine.io.uring.liburing_h.C_INT;
import static d4.engine.io.uring.liburing_h.C_LONG;
import static d4.engine.io.uring.liburing_h.C_POINTER;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;

/**
 * {@code struct io_uring_cq} (liburing.h 2.3), 88 bytes: liburing's view of the completion ring.
 * The k* members point into the ring shared with the kernel; ring_mask/ring_entries are copies.
 */
public final class io_uring_cq {
    private io_uring_cq() {}

    private static final StructLayout $LAYOUT = MemoryLayout.structLayout(
            C_POINTER.withName("khead"),
            C_POINTER.withName("ktail"),
            C_POINTER.withName("kring_mask"),
            C_POINTER.withName("kring_entries"),
            C_POINTER.withName("kflags"),
            C_POINTER.withName("koverflow"),
            C_POINTER.withName("cqes"),
            C_LONG.withName("ring_sz"),
            C_POINTER.withName("ring_ptr"),
            C_INT.withName("ring_mask"),
            C_INT.withName("ring_entries"),
            MemoryLayout.sequenceLayout(2, C_INT).withName("pad")
    ).withName("io_uring_cq");

    private static final long khead$OFFSET = 0;
    private static final long ktail$OFFSET = 8;
    private static final long kring_mask$OFFSET = 16;
    private static final long kring_entries$OFFSET = 24;
    private static final long kflags$OFFSET = 32;
    private static final long koverflow$OFFSET = 40;
    private static final long cqes$OFFSET = 48;
    private static final long ring_sz$OFFSET = 56;
    private static final long ring_ptr$OFFSET = 64;
    private static final long ring_mask$OFFSET = 72;
    private static final long ring_entries$OFFSET = 76;
    private static final long pad$OFFSET = 80;

    static {
        Layouts.size($LAYOUT, 88);
        Layouts.offset($LAYOUT, khead$OFFSET, groupElement("khead"));
        Layouts.offset($LAYOUT, ktail$OFFSET, groupElement("ktail"));
        Layouts.offset($LAYOUT, kring_mask$OFFSET, groupElement("kring_mask"));
        Layouts.offset($LAYOUT, kring_entries$OFFSET, groupElement("kring_entries"));
        Layouts.offset($LAYOUT, kflags$OFFSET, groupElement("kflags"));
        Layouts.offset($LAYOUT, koverflow$OFFSET, groupElement("koverflow"));
        Layouts.offset($LAYOUT, cqes$OFFSET, groupElement("cqes"));
        Layouts.offset($LAYOUT, ring_sz$OFFSET, groupElement("ring_sz"));
        Layouts.offset($LAYOUT, ring_ptr$OFFSET, groupElement("ring_ptr"));
        Layouts.offset($LAYOUT, ring_mask$OFFSET, groupElement("ring_mask"));
        Layouts.offset($LAYOUT, ring_entries$OFFSET, groupElement("ring_entries"));
        Layouts.offset($LAYOUT, pad$OFFSET, groupElement("pad"));
    }

    public static StructLayout layout() { return $LAYOUT; }

    public static long sizeof() { return $LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator allocator) { return allocator.allocate($LAYOUT); }

    /** The pointer, as a zero-length segment: reinterpret it to the pointee's size before reading. */
    public static MemorySegment khead(MemorySegment struct) { return struct.get(C_POINTER, khead$OFFSET); }

    public static void khead(MemorySegment struct, MemorySegment fieldValue) { struct.set(C_POINTER, khead$OFFSET, fieldValue); }

    /** The pointer, as a zero-length segment: reinterpret it to the pointee's size before reading. */
    public static MemorySegment ktail(MemorySegment struct) { return struct.get(C_POINTER, ktail$OFFSET); }

    public static void ktail(MemorySegment struct, MemorySegment fieldValue) { struct.set(C_POINTER, ktail$OFFSET, fieldValue); }

    /** The pointer, as a zero-length segment: reinterpret it to the pointee's size before reading. */
    public static MemorySegment kring_mask(MemorySegment struct) { return struct.get(C_POINTER, kring_mask$OFFSET); }

    public static void kring_mask(MemorySegment struct, MemorySegment fieldValue) { struct.set(C_POINTER, kring_mask$OFFSET, fieldValue); }

    /** The pointer, as a zero-length segment: reinterpret it to the pointee's size before reading. */
    public static MemorySegment kring_entries(MemorySegment struct) { return struct.get(C_POINTER, kring_entries$OFFSET); }

    public static void kring_entries(MemorySegment struct, MemorySegment fieldValue) { struct.set(C_POINTER, kring_entries$OFFSET, fieldValue); }

    /** The pointer, as a zero-length segment: reinterpret it to the pointee's size before reading. */
    public static MemorySegment kflags(MemorySegment struct) { return struct.get(C_POINTER, kflags$OFFSET); }

    public static void kflags(MemorySegment struct, MemorySegment fieldValue) { struct.set(C_POINTER, kflags$OFFSET, fieldValue); }

    /** The pointer, as a zero-length segment: reinterpret it to the pointee's size before reading. */
    public static MemorySegment koverflow(MemorySegment struct) { return struct.get(C_POINTER, koverflow$OFFSET); }

    public static void koverflow(MemorySegment struct, MemorySegment fieldValue) { struct.set(C_POINTER, koverflow$OFFSET, fieldValue); }

    /** The pointer, as a zero-length segment: reinterpret it to the pointee's size before reading. */
    public static MemorySegment cqes(MemorySegment struct) { return struct.get(C_POINTER, cqes$OFFSET); }

    public static void cqes(MemorySegment struct, MemorySegment fieldValue) { struct.set(C_POINTER, cqes$OFFSET, fieldValue); }

    public static long ring_sz(MemorySegment struct) { return struct.get(C_LONG, ring_sz$OFFSET); }

    public static void ring_sz(MemorySegment struct, long fieldValue) { struct.set(C_LONG, ring_sz$OFFSET, fieldValue); }

    /** The pointer, as a zero-length segment: reinterpret it to the pointee's size before reading. */
    public static MemorySegment ring_ptr(MemorySegment struct) { return struct.get(C_POINTER, ring_ptr$OFFSET); }

    public static void ring_ptr(MemorySegment struct, MemorySegment fieldValue) { struct.set(C_POINTER, ring_ptr$OFFSET, fieldValue); }

    public static int ring_mask(MemorySegment struct) { return struct.get(C_INT, ring_mask$OFFSET); }

    public static void ring_mask(MemorySegment struct, int fieldValue) { struct.set(C_INT, ring_mask$OFFSET, fieldValue); }

    public static int ring_entries(MemorySegment struct) { return struct.get(C_INT, ring_entries$OFFSET); }

    public static void ring_entries(MemorySegment struct, int fieldValue) { struct.set(C_INT, ring_entries$OFFSET, fieldValue); }
}
