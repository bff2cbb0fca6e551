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
 * {@code struct io_uring_sq} (liburing.h 2.3), 104 bytes: liburing's view of the submission ring.
 * The k* members point into the ring shared with the kernel (mmap'd by io_uring_queue_init);
 * sqe_head/sqe_tail and ring_mask/ring_entries are liburing's own copies.
 */
public final class io_uring_sq {
    private io_uring_sq() {}

    private static final StructLayout $LAYOUT = MemoryLayout.structLayout(
            C_POINTER.withName("khead"),
            C_POINTER.withName("ktail"),
            C_POINTER.withName("kring_mask"),
            C_POINTER.withName("kring_entries"),
            C_POINTER.withName("kflags"),
            C_POINTER.withName("kdropped"),
            C_POINTER.withName("array"),
            C_POINTER.withName("sqes"),
            C_INT.withName("sqe_head"),
            C_INT.withName("sqe_tail"),
            C_LONG.withName("ring_sz"),
            C_POINTER.withName("ring_ptr"),
            C_INT.withName("ring_mask"),
            C_INT.withName("ring_entries"),
            MemoryLayout.sequenceLayout(2, C_INT).withName("pad")
    ).withName("io_uring_sq");

    private static final long khead$OFFSET = 0;
    private static final long ktail$OFFSET = 8;
    private static final long kring_mask$OFFSET = 16;
    private static final long kring_entries$OFFSET = 24;
    private static final long kflags$OFFSET = 32;
    private static final long kdropped$OFFSET = 40;
    private static final long array$OFFSET = 48;
    private static final long sqes$OFFSET = 56;
    private static final long sqe_head$OFFSET = 64;
    private static final long sqe_tail$OFFSET = 68;
    private static final long ring_sz$OFFSET = 72;
    private static final long ring_ptr$OFFSET = 80;
    private static final long ring_mask$OFFSET = 88;
    private static final long ring_entries$OFFSET = 92;
    private static final long pad$OFFSET = 96;

    static {
        Layouts.size($LAYOUT, 104);
        Layouts.offset($LAYOUT, khead$OFFSET, groupElement("khead"));
        Layouts.offset($LAYOUT, ktail$OFFSET, groupElement("ktail"));
        Layouts.offset($LAYOUT, kring_mask$OFFSET, groupElement("kring_mask"));
        Layouts.offset($LAYOUT, kring_entries$OFFSET, groupElement("kring_entries"));
        Layouts.offset($LAYOUT, kflags$OFFSET, groupElement("kflags"));
        Layouts.offset($LAYOUT, kdropped$OFFSET, groupElement("kdropped"));
        Layouts.offset($LAYOUT, array$OFFSET, groupElement("array"));
        Layouts.offset($LAYOUT, sqes$OFFSET, groupElement("sqes"));
        Layouts.offset($LAYOUT, sqe_head$OFFSET, groupElement("sqe_head"));
        Layouts.offset($LAYOUT, sqe_tail$OFFSET, groupElement("sqe_tail"));
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
    public static MemorySegment kdropped(MemorySegment struct) { return struct.get(C_POINTER, kdropped$OFFSET); }

    public static void kdropped(MemorySegment struct, MemorySegment fieldValue) { struct.set(C_POINTER, kdropped$OFFSET, fieldValue); }

    /** The pointer, as a zero-length segment: reinterpret it to the pointee's size before reading. */
    public static MemorySegment array(MemorySegment struct) { return struct.get(C_POINTER, array$OFFSET); }

    public static void array(MemorySegment struct, MemorySegment fieldValue) { struct.set(C_POINTER, array$OFFSET, fieldValue); }

    /** The pointer, as a zero-length segment: reinterpret it to the pointee's size before reading. */
    public static MemorySegment sqes(MemorySegment struct) { return struct.get(C_POINTER, sqes$OFFSET); }

    public static void sqes(MemorySegment struct, MemorySegment fieldValue) { struct.set(C_POINTER, sqes$OFFSET, fieldValue); }

    public static int sqe_head(MemorySegment struct) { return struct.get(C_INT, sqe_head$OFFSET); }

    public static void sqe_head(MemorySegment struct, int fieldValue) { struct.set(C_INT, sqe_head$OFFSET, fieldValue); }

    public static int sqe_tail(MemorySegment struct) { return struct.get(C_INT, sqe_tail$OFFSET); }

    public static void sqe_tail(MemorySegment struct, int fieldValue) { struct.set(C_INT, sqe_tail$OFFSET, fieldValue); }

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
