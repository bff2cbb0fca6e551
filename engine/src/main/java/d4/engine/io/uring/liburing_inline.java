package d4.engine.io.uring;

import java.lang.foreign.MemorySegment;

/**
 * The static inline SQE/CQE helpers of liburing.h 2.3, written in Java because they have no symbol
 * to bind (jextract skips them, and liburing-ffi.so only ships from 2.4). Each does what its C
 * namesake does, field for field; pointers are taken as raw addresses ({@code long}) so preparing
 * an SQE allocates nothing.
 *
 * <p>The helpers that touch the ring indices (io_uring_get_sqe, io_uring_cq_ready,
 * io_uring_peek_cqe, io_uring_wait_cqe, io_uring_cqe_seen, io_uring_cq_advance) live in
 * {@link Ring}, which caches the kernel-shared pointers they dereference.
 *
 * <p>Addresses handed to the kernel (buffers, iovec arrays) must stay valid, and must not be
 * freed or moved, until the request's CQE has been reaped: the kernel reads or writes them then.
 */
public final class liburing_inline {
    private liburing_inline() {}

    /** {@code io_uring_prep_rw}: fills every field of the SQE except user_data. */
    public static void io_uring_prep_rw(int op, MemorySegment sqe, int fd, long addr, int len, long offset) {
        io_uring_sqe.opcode(sqe, (byte) op);
        io_uring_sqe.flags(sqe, (byte) 0);
        io_uring_sqe.ioprio(sqe, (short) 0);
        io_uring_sqe.fd(sqe, fd);
        io_uring_sqe.off(sqe, offset);
        io_uring_sqe.addr(sqe, addr);
        io_uring_sqe.len(sqe, len);
        io_uring_sqe.rw_flags(sqe, 0);
        io_uring_sqe.buf_index(sqe, (short) 0);
        io_uring_sqe.personality(sqe, (short) 0);
        io_uring_sqe.file_index(sqe, 0);
        io_uring_sqe.addr3(sqe, 0L);
        io_uring_sqe.__pad2(sqe, 0L, 0L);
    }

    /** {@code io_uring_prep_nop}. */
    public static void io_uring_prep_nop(MemorySegment sqe) {
        io_uring_prep_rw(liburing_h.IORING_OP_NOP(), sqe, -1, 0L, 0, 0L);
    }

    /** {@code io_uring_prep_read}: pread(fd, buf, nbytes, offset). */
    public static void io_uring_prep_read(MemorySegment sqe, int fd, long buf, int nbytes, long offset) {
        io_uring_prep_rw(liburing_h.IORING_OP_READ(), sqe, fd, buf, nbytes, offset);
    }

    /** {@code io_uring_prep_write}: pwrite(fd, buf, nbytes, offset). */
    public static void io_uring_prep_write(MemorySegment sqe, int fd, long buf, int nbytes, long offset) {
        io_uring_prep_rw(liburing_h.IORING_OP_WRITE(), sqe, fd, buf, nbytes, offset);
    }

    /** {@code io_uring_prep_readv}: preadv(fd, iovecs, nr_vecs, offset); iovecs is a {@link iovec} array. */
    public static void io_uring_prep_readv(MemorySegment sqe, int fd, long iovecs, int nr_vecs, long offset) {
        io_uring_prep_rw(liburing_h.IORING_OP_READV(), sqe, fd, iovecs, nr_vecs, offset);
    }

    /** {@code io_uring_prep_writev}: pwritev(fd, iovecs, nr_vecs, offset). */
    public static void io_uring_prep_writev(MemorySegment sqe, int fd, long iovecs, int nr_vecs, long offset) {
        io_uring_prep_rw(liburing_h.IORING_OP_WRITEV(), sqe, fd, iovecs, nr_vecs, offset);
    }

    /**
     * {@code io_uring_prep_read_fixed}: a read into registered buffer {@code buf_index}; buf..buf+nbytes
     * must lie inside that buffer.
     */
    public static void io_uring_prep_read_fixed(MemorySegment sqe, int fd, long buf, int nbytes, long offset,
            int buf_index) {
        io_uring_prep_rw(liburing_h.IORING_OP_READ_FIXED(), sqe, fd, buf, nbytes, offset);
        io_uring_sqe.buf_index(sqe, (short) buf_index);
    }

    /** {@code io_uring_prep_write_fixed}: a write from registered buffer {@code buf_index}. */
    public static void io_uring_prep_write_fixed(MemorySegment sqe, int fd, long buf, int nbytes, long offset,
            int buf_index) {
        io_uring_prep_rw(liburing_h.IORING_OP_WRITE_FIXED(), sqe, fd, buf, nbytes, offset);
        io_uring_sqe.buf_index(sqe, (short) buf_index);
    }

    /** {@code io_uring_prep_fsync}: fsync, or fdatasync with {@code IORING_FSYNC_DATASYNC}. */
    public static void io_uring_prep_fsync(MemorySegment sqe, int fd, int fsync_flags) {
        io_uring_prep_rw(liburing_h.IORING_OP_FSYNC(), sqe, fd, 0L, 0, 0L);
        io_uring_sqe.fsync_flags(sqe, fsync_flags);
    }

    /** {@code io_uring_prep_fallocate}: fallocate(fd, mode, offset, len). */
    public static void io_uring_prep_fallocate(MemorySegment sqe, int fd, int mode, long offset, long len) {
        io_uring_prep_rw(liburing_h.IORING_OP_FALLOCATE(), sqe, fd, 0L, mode, offset);
        io_uring_sqe.addr(sqe, len);
    }

    /** {@code io_uring_sqe_set_data}: user_data = the address of {@code data}. */
    public static void io_uring_sqe_set_data(MemorySegment sqe, MemorySegment data) {
        io_uring_sqe.user_data(sqe, data.address());
    }

    /** {@code io_uring_sqe_set_data64}: the value the CQE carries back. */
    public static void io_uring_sqe_set_data64(MemorySegment sqe, long data) {
        io_uring_sqe.user_data(sqe, data);
    }

    /** {@code io_uring_sqe_set_flags}: IOSQE_* bits (replaces the byte, as in C). */
    public static void io_uring_sqe_set_flags(MemorySegment sqe, int flags) {
        io_uring_sqe.flags(sqe, (byte) flags);
    }

    /** {@code io_uring_cqe_get_data64}. */
    public static long io_uring_cqe_get_data64(MemorySegment cqe) {
        return io_uring_cqe.user_data(cqe);
    }
}
