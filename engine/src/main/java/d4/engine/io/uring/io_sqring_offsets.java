package d4.engine.io.uring;

import static d4.engine.io.uring.liburing_h.C_INT;
import static d4.engine.io.uring.liburing_h.C_LONG_LONG;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;

/**
 * {@code struct io_sqring_offsets} (liburing/io_uring.h), 40 bytes: where the kernel placed each
 * SQ ring member, as byte offsets from the start of the SQ ring mapping.
 */
public final class io_sqring_offsets {
    private io_sqring_offsets() {}

    private static final StructLayout $LAYOUT = MemoryLayout.structLayout(
            C_INT.withName("head"),
            C_INT.withName("tail"),
            C_INT.withName("ring_mask"),
            C_INT.withName("ring_entries"),
            C_INT.withName("flags"),
            C_INT.withName("dropped"),
            C_INT.withName("array"),
            C_INT.withName("resv1"),
            C_LONG_LONG.withName("resv2")
    ).withName("io_sqring_offsets");

    private static final long head$OFFSET = 0;
    private static final long tail$OFFSET = 4;
    private static final long ring_mask$OFFSET = 8;
    private static final long ring_entries$OFFSET = 12;
    private static final long flags$OFFSET = 16;
    private static final long dropped$OFFSET = 20;
    private static final long array$OFFSET = 24;
    private static final long resv1$OFFSET = 28;
    private static final long resv2$OFFSET = 32;

    static {
        Layouts.size($LAYOUT, 40);
        Layouts.offset($LAYOUT, head$OFFSET, groupElement("head"));
        Layouts.offset($LAYOUT, tail$OFFSET, groupElement("tail"));
        Layouts.offset($LAYOUT, ring_mask$OFFSET, groupElement("ring_mask"));
        Layouts.offset($LAYOUT, ring_entries$OFFSET, groupElement("ring_entries"));
        Layouts.offset($LAYOUT, flags$OFFSET, groupElement("flags"));
        Layouts.offset($LAYOUT, dropped$OFFSET, groupElement("dropped"));
        Layouts.offset($LAYOUT, array$OFFSET, groupElement("array"));
        Layouts.offset($LAYOUT, resv1$OFFSET, groupElement("resv1"));
        Layouts.offset($LAYOUT, resv2$OFFSET, groupElement("resv2"));
    }

    public static StructLayout layout() { return $LAYOUT; }

    public static long sizeof() { return $LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator allocator) { return allocator.allocate($LAYOUT); }

    public static int head(MemorySegment struct) { return struct.get(C_INT, head$OFFSET); }

    public static void head(MemorySegment struct, int fieldValue) { struct.set(C_INT, head$OFFSET, fieldValue); }

    public static int tail(MemorySegment struct) { return struct.get(C_INT, tail$OFFSET); }

    public static void tail(MemorySegment struct, int fieldValue) { struct.set(C_INT, tail$OFFSET, fieldValue); }

    public static int ring_mask(MemorySegment struct) { return struct.get(C_INT, ring_mask$OFFSET); }

    public static void ring_mask(MemorySegment struct, int fieldValue) { struct.set(C_INT, ring_mask$OFFSET, fieldValue); }

    public static int ring_entries(MemorySegment struct) { return struct.get(C_INT, ring_entries$OFFSET); }

    public static void ring_entries(MemorySegment struct, int fieldValue) { struct.set(C_INT, ring_entries$OFFSET, fieldValue); }

    public static int flags(MemorySegment struct) { return struct.get(C_INT, flags$OFFSET); }

    public static void flags(MemorySegment struct, int fieldValue) { struct.set(C_INT, flags$OFFSET, fieldValue); }

    public static int dropped(MemorySegment struct) { return struct.get(C_INT, dropped$OFFSET); }

    public static void dropped(MemorySegment struct, int fieldValue) { struct.set(C_INT, dropped$OFFSET, fieldValue); }

    public static int array(MemorySegment struct) { return struct.get(C_INT, array$OFFSET); }

    public static void array(MemorySegment struct, int fieldValue) { struct.set(C_INT, array$OFFSET, fieldValue); }

    public static int resv1(MemorySegment struct) { return struct.get(C_INT, resv1$OFFSET); }

    public static void resv1(MemorySegment struct, int fieldValue) { struct.set(C_INT, resv1$OFFSET, fieldValue); }

    public static long resv2(MemorySegment struct) { return struct.get(C_LONG_LONG, resv2$OFFSET); }

    public static void resv2(MemorySegment struct, long fieldValue) { struct.set(C_LONG_LONG, resv2$OFFSET, fieldValue); }
}
