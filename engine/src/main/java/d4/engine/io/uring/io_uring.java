package d4.engine.io.uring;

import static d4.engine.io.uring.liburing_h.C_CHAR;
import static d4.engine.io.uring.liburing_h.C_INT;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;

/**
 * {@code struct io_uring} (liburing.h 2.3), 216 bytes: sq 0 (104), cq 104 (88), flags 192,
 * ring_fd 196, features 200, enter_ring_fd 204, int_flags 208, pad[3] 209, pad2 212. Allocated by the
 * caller and filled by io_uring_queue_init_params.
 */
public final class io_uring {
    private io_uring() {}

    private static final StructLayout $LAYOUT = MemoryLayout.structLayout(
            io_uring_sq.layout().withName("sq"),
            io_uring_cq.layout().withName("cq"),
            C_INT.withName("flags"),
            C_INT.withName("ring_fd"),
            C_INT.withName("features"),
            C_INT.withName("enter_ring_fd"),
            C_CHAR.withName("int_flags"),
            MemoryLayout.sequenceLayout(3, C_CHAR).withName("pad"),
            C_INT.withName("pad2")
    ).withName("io_uring");

    private static final long sq$OFFSET = 0;
    private static final long cq$OFFSET = 104;
    private static final long flags$OFFSET = 192;
    private static final long ring_fd$OFFSET = 196;
    private static final long features$OFFSET = 200;
    private static final long enter_ring_fd$OFFSET = 204;
    private static final long int_flags$OFFSET = 208;

    static {
        Layouts.size($LAYOUT, 216);
        Layouts.offset($LAYOUT, sq$OFFSET, groupElement("sq"));
        Layouts.offset($LAYOUT, cq$OFFSET, groupElement("cq"));
        Layouts.offset($LAYOUT, flags$OFFSET, groupElement("flags"));
        Layouts.offset($LAYOUT, ring_fd$OFFSET, groupElement("ring_fd"));
        Layouts.offset($LAYOUT, features$OFFSET, groupElement("features"));
        Layouts.offset($LAYOUT, enter_ring_fd$OFFSET, groupElement("enter_ring_fd"));
        Layouts.offset($LAYOUT, int_flags$OFFSET, groupElement("int_flags"));
        Layouts.offset($LAYOUT, 209, groupElement("pad"));
        Layouts.offset($LAYOUT, 212, groupElement("pad2"));
    }

    public static StructLayout layout() { return $LAYOUT; }

    public static long sizeof() { return $LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator allocator) { return allocator.allocate($LAYOUT); }

    public static long sq$offset() { return sq$OFFSET; }

    public static long cq$offset() { return cq$OFFSET; }

    /** The embedded {@code struct io_uring_sq}, as a slice of {@code struct}. */
    public static MemorySegment sq(MemorySegment struct) { return struct.asSlice(sq$OFFSET, io_uring_sq.layout()); }

    /** The embedded {@code struct io_uring_cq}, as a slice of {@code struct}. */
    public static MemorySegment cq(MemorySegment struct) { return struct.asSlice(cq$OFFSET, io_uring_cq.layout()); }

    /** The IORING_SETUP_* flags the ring was set up with. */
    public static int flags(MemorySegment struct) { return struct.get(C_INT, flags$OFFSET); }

    public static void flags(MemorySegment struct, int fieldValue) { struct.set(C_INT, flags$OFFSET, fieldValue); }

    public static int ring_fd(MemorySegment struct) { return struct.get(C_INT, ring_fd$OFFSET); }

    public static void ring_fd(MemorySegment struct, int fieldValue) { struct.set(C_INT, ring_fd$OFFSET, fieldValue); }

    /** The IORING_FEAT_* bits the kernel reported. */
    public static int features(MemorySegment struct) { return struct.get(C_INT, features$OFFSET); }

    public static void features(MemorySegment struct, int fieldValue) { struct.set(C_INT, features$OFFSET, fieldValue); }

    public static int enter_ring_fd(MemorySegment struct) { return struct.get(C_INT, enter_ring_fd$OFFSET); }

    public static void enter_ring_fd(MemorySegment struct, int fieldValue) { struct.set(C_INT, enter_ring_fd$OFFSET, fieldValue); }

    public static byte int_flags(MemorySegment struct) { return struct.get(C_CHAR, int_flags$OFFSET); }

    public static void int_flags(MemorySegment struct, byte fieldValue) { struct.set(C_CHAR, int_flags$OFFSET, fieldValue); }
}
