package d4.engine.io.uring;

import static d4.engine.io.uring.liburing_h.C_INT;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;

/**
 * {@code struct io_uring_params} (liburing/io_uring.h), 120 bytes: sq_entries 0, cq_entries 4,
 * flags 8, sq_thread_cpu 12, sq_thread_idle 16, features 20, wq_fd 24, resv[3] 28, sq_off 40,
 * cq_off 80. Passed in to io_uring_queue_init_params and filled in by the kernel.
 */
public final class io_uring_params {
    private io_uring_params() {}

    private static final StructLayout $LAYOUT = MemoryLayout.structLayout(
            C_INT.withName("sq_entries"),
            C_INT.withName("cq_entries"),
            C_INT.withName("flags"),
            C_INT.withName("sq_thread_cpu"),
            C_INT.withName("sq_thread_idle"),
            C_INT.withName("features"),
            C_INT.withName("wq_fd"),
            MemoryLayout.sequenceLayout(3, C_INT).withName("resv"),
            io_sqring_offsets.layout().withName("sq_off"),
            io_cqring_offsets.layout().withName("cq_off")
    ).withName("io_uring_params");

    private static final long sq_entries$OFFSET = 0;
    private static final long cq_entries$OFFSET = 4;
    private static final long flags$OFFSET = 8;
    private static final long sq_thread_cpu$OFFSET = 12;
    private static final long sq_thread_idle$OFFSET = 16;
    private static final long features$OFFSET = 20;
    private static final long wq_fd$OFFSET = 24;
    private static final long sq_off$OFFSET = 40;
    private static final long cq_off$OFFSET = 80;

    static {
        Layouts.size($LAYOUT, 120);
        Layouts.offset($LAYOUT, sq_entries$OFFSET, groupElement("sq_entries"));
        Layouts.offset($LAYOUT, cq_entries$OFFSET, groupElement("cq_entries"));
        Layouts.offset($LAYOUT, flags$OFFSET, groupElement("flags"));
        Layouts.offset($LAYOUT, sq_thread_cpu$OFFSET, groupElement("sq_thread_cpu"));
        Layouts.offset($LAYOUT, sq_thread_idle$OFFSET, groupElement("sq_thread_idle"));
        Layouts.offset($LAYOUT, features$OFFSET, groupElement("features"));
        Layouts.offset($LAYOUT, wq_fd$OFFSET, groupElement("wq_fd"));
        Layouts.offset($LAYOUT, 28, groupElement("resv"));
        Layouts.offset($LAYOUT, sq_off$OFFSET, groupElement("sq_off"));
        Layouts.offset($LAYOUT, cq_off$OFFSET, groupElement("cq_off"));
    }

    public static StructLayout layout() { return $LAYOUT; }

    public static long sizeof() { return $LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator allocator) { return allocator.allocate($LAYOUT); }

    public static int sq_entries(MemorySegment struct) { return struct.get(C_INT, sq_entries$OFFSET); }

    public static void sq_entries(MemorySegment struct, int fieldValue) { struct.set(C_INT, sq_entries$OFFSET, fieldValue); }

    public static int cq_entries(MemorySegment struct) { return struct.get(C_INT, cq_entries$OFFSET); }

    public static void cq_entries(MemorySegment struct, int fieldValue) { struct.set(C_INT, cq_entries$OFFSET, fieldValue); }

    public static int flags(MemorySegment struct) { return struct.get(C_INT, flags$OFFSET); }

    public static void flags(MemorySegment struct, int fieldValue) { struct.set(C_INT, flags$OFFSET, fieldValue); }

    public static int sq_thread_cpu(MemorySegment struct) { return struct.get(C_INT, sq_thread_cpu$OFFSET); }

    public static void sq_thread_cpu(MemorySegment struct, int fieldValue) { struct.set(C_INT, sq_thread_cpu$OFFSET, fieldValue); }

    public static int sq_thread_idle(MemorySegment struct) { return struct.get(C_INT, sq_thread_idle$OFFSET); }

    public static void sq_thread_idle(MemorySegment struct, int fieldValue) { struct.set(C_INT, sq_thread_idle$OFFSET, fieldValue); }

    public static int features(MemorySegment struct) { return struct.get(C_INT, features$OFFSET); }

    public static void features(MemorySegment struct, int fieldValue) { struct.set(C_INT, features$OFFSET, fieldValue); }

    public static int wq_fd(MemorySegment struct) { return struct.get(C_INT, wq_fd$OFFSET); }

    public static void wq_fd(MemorySegment struct, int fieldValue) { struct.set(C_INT, wq_fd$OFFSET, fieldValue); }

    /** The embedded {@code struct io_sqring_offsets}, as a slice of {@code struct}. */
    public static MemorySegment sq_off(MemorySegment struct) { return struct.asSlice(sq_off$OFFSET, io_sqring_offsets.layout()); }

    /** The embedded {@code struct io_cqring_offsets}, as a slice of {@code struct}. */
    public static MemorySegment cq_off(MemorySegment struct) { return struct.asSlice(cq_off$OFFSET, io_cqring_offsets.layout()); }
}
