package d4.engine.io.uring;

import static d4.engine.io.uring.liburing_h.C_CHAR;
import static d4.engine.io.uring.liburing_h.C_INT;
import static d4.engine.io.uring.liburing_h.C_LONG_LONG;
import static d4.engine.io.uring.liburing_h.C_SHORT;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.Objects;

/**
 * {@code struct io_uring_sqe} (liburing/io_uring.h, 2.3), 64 bytes. The anonymous unions are kept in
 * the layout (named {@code $anon$<first member>}); accessors exist for the members d4 sets:
 * opcode 0, flags 1, ioprio 2, fd 4, off 8, addr 16, len 24, rw_flags/fsync_flags 28,
 * user_data 32, buf_index 40, personality 42, file_index 44, addr3 48, __pad2[0] 56.
 */
public final class io_uring_sqe {
    private io_uring_sqe() {}

    private static final StructLayout $LAYOUT = MemoryLayout.structLayout(
            C_CHAR.withName("opcode"),
            C_CHAR.withName("flags"),
            C_SHORT.withName("ioprio"),
            C_INT.withName("fd"),
            MemoryLayout.unionLayout(
                    C_LONG_LONG.withName("off"),
                    C_LONG_LONG.withName("addr2"),
                    MemoryLayout.structLayout(
                            C_INT.withName("cmd_op"),
                            C_INT.withName("__pad1")
                    ).withName("$anon$cmd_op")
            ).withName("$anon$off"),
            MemoryLayout.unionLayout(
                    C_LONG_LONG.withName("addr"),
                    C_LONG_LONG.withName("splice_off_in")
            ).withName("$anon$addr"),
            C_INT.withName("len"),
            MemoryLayout.unionLayout(
                    C_INT.withName("rw_flags"),
                    C_INT.withName("fsync_flags"),
                    C_SHORT.withName("poll_events"),
                    C_INT.withName("poll32_events"),
                    C_INT.withName("sync_range_flags"),
                    C_INT.withName("msg_flags"),
                    C_INT.withName("timeout_flags"),
                    C_INT.withName("accept_flags"),
                    C_INT.withName("cancel_flags"),
                    C_INT.withName("open_flags"),
                    C_INT.withName("statx_flags"),
                    C_INT.withName("fadvise_advice"),
                    C_INT.withName("splice_flags"),
                    C_INT.withName("rename_flags"),
                    C_INT.withName("unlink_flags"),
                    C_INT.withName("hardlink_flags"),
                    C_INT.withName("xattr_flags"),
                    C_INT.withName("msg_ring_flags"),
                    C_INT.withName("uring_cmd_flags")
            ).withName("$anon$rw_flags"),
            C_LONG_LONG.withName("user_data"),
            MemoryLayout.unionLayout(
                    C_SHORT.withName("buf_index"),
                    C_SHORT.withName("buf_group")
            ).withName("$anon$buf_index"),
            C_SHORT.withName("personality"),
            MemoryLayout.unionLayout(
                    C_INT.withName("splice_fd_in"),
                    C_INT.withName("file_index"),
                    MemoryLayout.structLayout(
                            C_SHORT.withName("addr_len"),
                            MemoryLayout.sequenceLayout(1, C_SHORT).withName("__pad3")
                    ).withName("$anon$addr_len")
            ).withName("$anon$splice_fd_in"),
            MemoryLayout.unionLayout(
                    MemoryLayout.structLayout(
                            C_LONG_LONG.withName("addr3"),
                            MemoryLayout.sequenceLayout(1, C_LONG_LONG).withName("__pad2")
                    ).withName("$anon$addr3"),
                    MemoryLayout.sequenceLayout(0, C_CHAR).withName("cmd")
            ).withName("$anon$cmd")
    ).withName("io_uring_sqe");

    private static final long opcode$OFFSET = 0;
    private static final long flags$OFFSET = 1;
    private static final long ioprio$OFFSET = 2;
    private static final long fd$OFFSET = 4;
    private static final long off$OFFSET = 8;
    private static final long addr$OFFSET = 16;
    private static final long len$OFFSET = 24;
    private static final long rw_flags$OFFSET = 28;
    private static final long fsync_flags$OFFSET = 28;
    private static final long user_data$OFFSET = 32;
    private static final long buf_index$OFFSET = 40;
    private static final long personality$OFFSET = 42;
    private static final long file_index$OFFSET = 44;
    private static final long addr3$OFFSET = 48;
    private static final long __pad2$OFFSET = 56;

    static {
        Layouts.size($LAYOUT, 64);
        Layouts.offset($LAYOUT, opcode$OFFSET, groupElement("opcode"));
        Layouts.offset($LAYOUT, flags$OFFSET, groupElement("flags"));
        Layouts.offset($LAYOUT, ioprio$OFFSET, groupElement("ioprio"));
        Layouts.offset($LAYOUT, fd$OFFSET, groupElement("fd"));
        Layouts.offset($LAYOUT, off$OFFSET, groupElement("$anon$off"), groupElement("off"));
        Layouts.offset($LAYOUT, addr$OFFSET, groupElement("$anon$addr"), groupElement("addr"));
        Layouts.offset($LAYOUT, len$OFFSET, groupElement("len"));
        Layouts.offset($LAYOUT, rw_flags$OFFSET, groupElement("$anon$rw_flags"), groupElement("rw_flags"));
        Layouts.offset($LAYOUT, fsync_flags$OFFSET, groupElement("$anon$rw_flags"), groupElement("fsync_flags"));
        Layouts.offset($LAYOUT, user_data$OFFSET, groupElement("user_data"));
        Layouts.offset($LAYOUT, buf_index$OFFSET, groupElement("$anon$buf_index"), groupElement("buf_index"));
        Layouts.offset($LAYOUT, personality$OFFSET, groupElement("personality"));
        Layouts.offset($LAYOUT, file_index$OFFSET, groupElement("$anon$splice_fd_in"), groupElement("file_index"));
        Layouts.offset($LAYOUT, addr3$OFFSET, groupElement("$anon$cmd"), groupElement("$anon$addr3"),
                groupElement("addr3"));
        Layouts.offset($LAYOUT, __pad2$OFFSET, groupElement("$anon$cmd"), groupElement("$anon$addr3"),
                groupElement("__pad2"));
    }

    public static StructLayout layout() { return $LAYOUT; }

    public static long sizeof() { return $LAYOUT.byteSize(); }

    public static byte opcode(MemorySegment struct) { return struct.get(C_CHAR, opcode$OFFSET); }

    public static void opcode(MemorySegment struct, byte fieldValue) { struct.set(C_CHAR, opcode$OFFSET, fieldValue); }

    public static byte flags(MemorySegment struct) { return struct.get(C_CHAR, flags$OFFSET); }

    public static void flags(MemorySegment struct, byte fieldValue) { struct.set(C_CHAR, flags$OFFSET, fieldValue); }

    public static short ioprio(MemorySegment struct) { return struct.get(C_SHORT, ioprio$OFFSET); }

    public static void ioprio(MemorySegment struct, short fieldValue) { struct.set(C_SHORT, ioprio$OFFSET, fieldValue); }

    public static int fd(MemorySegment struct) { return struct.get(C_INT, fd$OFFSET); }

    public static void fd(MemorySegment struct, int fieldValue) { struct.set(C_INT, fd$OFFSET, fieldValue); }

    public static long off(MemorySegment struct) { return struct.get(C_LONG_LONG, off$OFFSET); }

    public static void off(MemorySegment struct, long fieldValue) { struct.set(C_LONG_LONG, off$OFFSET, fieldValue); }

    public static long addr(MemorySegment struct) { return struct.get(C_LONG_LONG, addr$OFFSET); }

    public static void addr(MemorySegment struct, long fieldValue) { struct.set(C_LONG_LONG, addr$OFFSET, fieldValue); }

    public static int len(MemorySegment struct) { return struct.get(C_INT, len$OFFSET); }

    public static void len(MemorySegment struct, int fieldValue) { struct.set(C_INT, len$OFFSET, fieldValue); }

    public static int rw_flags(MemorySegment struct) { return struct.get(C_INT, rw_flags$OFFSET); }

    public static void rw_flags(MemorySegment struct, int fieldValue) { struct.set(C_INT, rw_flags$OFFSET, fieldValue); }

    public static int fsync_flags(MemorySegment struct) { return struct.get(C_INT, fsync_flags$OFFSET); }

    public static void fsync_flags(MemorySegment struct, int fieldValue) { struct.set(C_INT, fsync_flags$OFFSET, fieldValue); }

    public static long user_data(MemorySegment struct) { return struct.get(C_LONG_LONG, user_data$OFFSET); }

    public static void user_data(MemorySegment struct, long fieldValue) { struct.set(C_LONG_LONG, user_data$OFFSET, fieldValue); }

    public static short buf_index(MemorySegment struct) { return struct.get(C_SHORT, buf_index$OFFSET); }

    public static void buf_index(MemorySegment struct, short fieldValue) { struct.set(C_SHORT, buf_index$OFFSET, fieldValue); }

    public static short personality(MemorySegment struct) { return struct.get(C_SHORT, personality$OFFSET); }

    public static void personality(MemorySegment struct, short fieldValue) { struct.set(C_SHORT, personality$OFFSET, fieldValue); }

    public static int file_index(MemorySegment struct) { return struct.get(C_INT, file_index$OFFSET); }

    public static void file_index(MemorySegment struct, int fieldValue) { struct.set(C_INT, file_index$OFFSET, fieldValue); }

    public static long addr3(MemorySegment struct) { return struct.get(C_LONG_LONG, addr3$OFFSET); }

    public static void addr3(MemorySegment struct, long fieldValue) { struct.set(C_LONG_LONG, addr3$OFFSET, fieldValue); }

    public static long __pad2(MemorySegment struct, long index0) {
        return struct.get(C_LONG_LONG, __pad2$OFFSET + Objects.checkIndex(index0, 1) * 8);
    }

    public static void __pad2(MemorySegment struct, long index0, long fieldValue) {
        struct.set(C_LONG_LONG, __pad2$OFFSET + Objects.checkIndex(index0, 1) * 8, fieldValue);
    }
}
