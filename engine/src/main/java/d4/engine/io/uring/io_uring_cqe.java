package d4.engine.io.uring;

import static d4.engine.io.uring.liburing_h.C_INT;
import static d4.engine.io.uring.liburing_h.C_LONG_LONG;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * {@code struct io_uring_cqe} (liburing/io_uring.h), 16 bytes: user_data 0, res 8, flags 12. The
 * flexible {@code big_cqe[]} tail (IORING_SETUP_CQE32 only) is left out; d4 does not use CQE32.
 */
public final class io_uring_cqe {
    private io_uring_cqe() {}

    private static final StructLayout $LAYOUT = MemoryLayout.structLayout(
            C_LONG_LONG.withName("user_data"),
            C_INT.withName("res"),
            C_INT.withName("flags")
    ).withName("io_uring_cqe");

    private static final long user_data$OFFSET = 0;
    private static final long res$OFFSET = 8;
    private static final long flags$OFFSET = 12;

    static {
        Layouts.size($LAYOUT, 16);
        Layouts.offset($LAYOUT, user_data$OFFSET, groupElement("user_data"));
        Layouts.offset($LAYOUT, res$OFFSET, groupElement("res"));
        Layouts.offset($LAYOUT, flags$OFFSET, groupElement("flags"));
    }

    public static StructLayout layout() { return $LAYOUT; }

    public static long sizeof() { return $LAYOUT.byteSize(); }

    public static long user_data(MemorySegment struct) {
        return struct.get(C_LONG_LONG, user_data$OFFSET);
    }

    public static void user_data(MemorySegment struct, long fieldValue) {
        struct.set(C_LONG_LONG, user_data$OFFSET, fieldValue);
    }

    /** The result: what the syscall would have returned, or {@code -errno}. */
    public static int res(MemorySegment struct) {
        return struct.get(C_INT, res$OFFSET);
    }

    public static void res(MemorySegment struct, int fieldValue) {
        struct.set(C_INT, res$OFFSET, fieldValue);
    }

    public static int flags(MemorySegment struct) {
        return struct.get(C_INT, flags$OFFSET);
    }

    public static void flags(MemorySegment struct, int fieldValue) {
        struct.set(C_INT, flags$OFFSET, fieldValue);
    }
}
