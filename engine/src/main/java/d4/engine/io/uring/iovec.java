package d4.engine.io.uring;

import static d4.engine.io.uring.liburing_h.C_LONG;
import static d4.engine.io.uring.liburing_h.C_POINTER;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;

/**
 * {@code struct iovec} (sys/uio.h), 16 bytes: the element of the arrays passed to readv/writev and
 * io_uring_register_buffers. iov_base is exposed as a raw address so filling an array allocates nothing.
 */
public final class iovec {
    private iovec() {}

    private static final StructLayout $LAYOUT = MemoryLayout.structLayout(
            C_POINTER.withName("iov_base"),
            C_LONG.withName("iov_len")
    ).withName("iovec");

    private static final long iov_base$OFFSET = 0;
    private static final long iov_len$OFFSET = 8;

    static {
        Layouts.size($LAYOUT, 16);
        Layouts.offset($LAYOUT, iov_base$OFFSET, groupElement("iov_base"));
        Layouts.offset($LAYOUT, iov_len$OFFSET, groupElement("iov_len"));
    }

    public static StructLayout layout() { return $LAYOUT; }

    public static long sizeof() { return $LAYOUT.byteSize(); }

    public static MemorySegment allocateArray(long elementCount, SegmentAllocator allocator) {
        return allocator.allocate(MemoryLayout.sequenceLayout(elementCount, $LAYOUT));
    }

    /** The address in {@code void *iov_base}. */
    public static long iov_base(MemorySegment struct) {
        return struct.get(C_LONG, iov_base$OFFSET);
    }

    public static void iov_base(MemorySegment struct, long address) {
        struct.set(C_LONG, iov_base$OFFSET, address);
    }

    public static long iov_len(MemorySegment struct) {
        return struct.get(C_LONG, iov_len$OFFSET);
    }

    public static void iov_len(MemorySegment struct, long fieldValue) {
        struct.set(C_LONG, iov_len$OFFSET, fieldValue);
    }

    /** iov_base of element {@code index} of an iovec array (no slice is made). */
    public static void iov_base(MemorySegment array, long index, long address) {
        array.set(C_LONG, index * 16 + iov_base$OFFSET, address);
    }

    /** iov_len of element {@code index} of an iovec array (no slice is made). */
    public static void iov_len(MemorySegment array, long index, long fieldValue) {
        array.set(C_LONG, index * 16 + iov_len$OFFSET, fieldValue);
    }
}
