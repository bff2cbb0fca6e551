/*
 * Bindings for liburing 2.3 on x86_64 Linux: <liburing.h> and <liburing/io_uring.h> as shipped by
 * Debian's liburing-dev 2.3-3; the library is liburing.so.2 (-> liburing.so.2.3).
 *
 * Hand-written in the shape jextract (22+) generates, because there is no jextract on the build
 * machines. Where jextract is installed, the same surface comes from:
 *
 *   jextract --output engine/src/main/java --target-package d4.engine.io.uring \
 *     -l :liburing.so.2 \
 *     --include-function io_uring_queue_init_params --include-function io_uring_queue_exit \
 *     --include-function io_uring_submit --include-function io_uring_submit_and_wait \
 *     --include-function io_uring_register_buffers --include-function io_uring_unregister_buffers \
 *     --include-function io_uring_register_files --include-function io_uring_unregister_files \
 *     --include-function io_uring_register_eventfd --include-function io_uring_register_iowq_aff \
 *     --include-function io_uring_register_iowq_max_workers --include-function __io_uring_get_cqe \
 *     --include-function io_uring_peek_batch_cqe --include-function io_uring_wait_cqes \
 *     --include-struct io_uring --include-struct io_uring_sq --include-struct io_uring_cq \
 *     --include-struct io_uring_sqe --include-struct io_uring_cqe --include-struct io_uring_params \
 *     --include-struct io_sqring_offsets --include-struct io_cqring_offsets --include-struct iovec \
 *     --include-constant IORING_OP_NOP ... (the constants below) \
 *     /usr/include/liburing.h
 *
 * then re-apply the three hand edits that jextract cannot make: (1) the library is looked up lazily
 * in a holder, so a missing liburing.so.2 surfaces as isAvailable() == false / loadFailure() and as
 * an IllegalStateException from each call, never as an Error during class initialisation;
 * (2) wrappers rethrow unchecked exceptions instead of wrapping everything in AssertionError;
 * (3) C_POINTER is a plain ADDRESS (zero-length segments, reinterpreted where the size is known).
 * jextract emits nothing for the 107 static inline functions of liburing.h: those are written in
 * Java in liburing_inline (SQE/CQE helpers) and Ring (ring-index helpers).
 */
package d4.engine.io.uring;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Optional;

/**
 * Downcalls to the functions liburing 2.3 exports, and the io_uring constants d4 uses.
 *
 * <p>Loading is lazy and never throws: check {@link #isAvailable()} (or call
 * {@link Ring#selfCheck()}) before using io_uring; when the library is missing every wrapper
 * throws {@link IllegalStateException} with {@link #loadFailure()} as its cause. Return values follow
 * liburing: {@code -errno} on failure.
 */
public final class liburing_h {
    private liburing_h() {}

    /** The shared object the bindings load (the soname of liburing 2.x). */
    public static final String LIBRARY = "liburing.so.2";

    public static final ValueLayout.OfByte C_CHAR = ValueLayout.JAVA_BYTE;
    public static final ValueLayout.OfShort C_SHORT = ValueLayout.JAVA_SHORT;
    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfLong C_LONG_LONG = ValueLayout.JAVA_LONG;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS;

    /** Holder: initialised on first use; records the failure instead of throwing it. */
    private static final class Lib {
        static final SymbolLookup LOOKUP;
        static final Throwable FAILURE;

        static {
            SymbolLookup lookup = null;
            Throwable failure = null;
            try {
                lookup = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
            } catch (RuntimeException e) { // IllegalArgumentException: not found; IllegalCallerException: native access denied
                failure = e;
            }
            LOOKUP = lookup;
            FAILURE = failure;
        }
    }

    /** Whether liburing.so.2 could be loaded; false means io_uring cannot be used from this JVM. */
    public static boolean isAvailable() {
        return Lib.LOOKUP != null;
    }

    /** Why liburing.so.2 could not be loaded, or null when it was. */
    public static Throwable loadFailure() {
        return Lib.FAILURE;
    }

    private static final MethodHandle NEW_ISE;

    static {
        try {
            NEW_ISE = MethodHandles.lookup().findConstructor(IllegalStateException.class,
                    MethodType.methodType(void.class, String.class, Throwable.class));
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("IllegalStateException(String, Throwable) must exist", e);
        }
    }

    private static MethodHandle uring(String name, FunctionDescriptor desc) {
        return downcall(Lib.LOOKUP, Lib.FAILURE, name, desc);
    }

    /**
     * A downcall handle for {@code name} in {@code lookup}, or, when the library ({@code lookup} null,
     * {@code failure} says why) or the symbol is missing, a handle of the same type that throws
     * IllegalStateException naming the function and the cause.
     */
    static MethodHandle downcall(SymbolLookup lookup, Throwable failure, String name, FunctionDescriptor desc) {
        if (lookup != null) {
            Optional<MemorySegment> addr = lookup.find(name);
            if (addr.isPresent()) {
                return Linker.nativeLinker().downcallHandle(addr.get(), desc);
            }
            return thrower(name + " not found in " + LIBRARY, null, desc.toMethodType());
        }
        return thrower(name + ": " + LIBRARY + " is not available", failure, desc.toMethodType());
    }

    private static MethodHandle thrower(String why, Throwable cause, MethodType type) {
        MethodHandle make = MethodHandles.insertArguments(NEW_ISE, 0, why, cause);
        MethodHandle raise = MethodHandles.throwException(type.returnType(), IllegalStateException.class);
        return MethodHandles.dropArguments(MethodHandles.collectArguments(raise, 0, make), 0,
                type.parameterList());
    }

    /** jextract wraps every Throwable in AssertionError; unchecked ones are passed through here. */
    private static RuntimeException unreachable(Throwable t) {
        if (t instanceof RuntimeException re) {
            return re;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new AssertionError("should not reach here", t);
    }

    // ---------------------------------------------------------------- functions

    private static final class io_uring_queue_init_params {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER);
        static final MethodHandle HANDLE = uring("io_uring_queue_init_params", DESC);
    }

    /** {@code int io_uring_queue_init_params(unsigned entries, struct io_uring *ring, struct io_uring_params *p)} */
    public static int io_uring_queue_init_params(int entries, MemorySegment ring, MemorySegment p) {
        try {
            return (int) io_uring_queue_init_params.HANDLE.invokeExact(entries, ring, p);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final class io_uring_queue_exit {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(C_POINTER);
        static final MethodHandle HANDLE = uring("io_uring_queue_exit", DESC);
    }

    /** {@code void io_uring_queue_exit(struct io_uring *ring)} */
    public static void io_uring_queue_exit(MemorySegment ring) {
        try {
            io_uring_queue_exit.HANDLE.invokeExact(ring);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final class io_uring_submit {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MethodHandle HANDLE = uring("io_uring_submit", DESC);
    }

    /** {@code int io_uring_submit(struct io_uring *ring)} */
    public static int io_uring_submit(MemorySegment ring) {
        try {
            return (int) io_uring_submit.HANDLE.invokeExact(ring);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final class io_uring_submit_and_wait {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT);
        static final MethodHandle HANDLE = uring("io_uring_submit_and_wait", DESC);
    }

    /** {@code int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr)} */
    public static int io_uring_submit_and_wait(MemorySegment ring, int wait_nr) {
        try {
            return (int) io_uring_submit_and_wait.HANDLE.invokeExact(ring, wait_nr);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final class io_uring_register_buffers {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_INT);
        static final MethodHandle HANDLE = uring("io_uring_register_buffers", DESC);
    }

    /** {@code int io_uring_register_buffers(struct io_uring *ring, const struct iovec *iovecs, unsigned nr_iovecs)} */
    public static int io_uring_register_buffers(MemorySegment ring, MemorySegment iovecs, int nr_iovecs) {
        try {
            return (int) io_uring_register_buffers.HANDLE.invokeExact(ring, iovecs, nr_iovecs);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final class io_uring_unregister_buffers {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MethodHandle HANDLE = uring("io_uring_unregister_buffers", DESC);
    }

    /** {@code int io_uring_unregister_buffers(struct io_uring *ring)} */
    public static int io_uring_unregister_buffers(MemorySegment ring) {
        try {
            return (int) io_uring_unregister_buffers.HANDLE.invokeExact(ring);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final class io_uring_register_files {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_INT);
        static final MethodHandle HANDLE = uring("io_uring_register_files", DESC);
    }

    /** {@code int io_uring_register_files(struct io_uring *ring, const int *files, unsigned nr_files)} */
    public static int io_uring_register_files(MemorySegment ring, MemorySegment files, int nr_files) {
        try {
            return (int) io_uring_register_files.HANDLE.invokeExact(ring, files, nr_files);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final class io_uring_unregister_files {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MethodHandle HANDLE = uring("io_uring_unregister_files", DESC);
    }

    /** {@code int io_uring_unregister_files(struct io_uring *ring)} */
    public static int io_uring_unregister_files(MemorySegment ring) {
        try {
            return (int) io_uring_unregister_files.HANDLE.invokeExact(ring);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final class io_uring_register_eventfd {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT);
        static final MethodHandle HANDLE = uring("io_uring_register_eventfd", DESC);
    }

    /** {@code int io_uring_register_eventfd(struct io_uring *ring, int fd)} */
    public static int io_uring_register_eventfd(MemorySegment ring, int fd) {
        try {
            return (int) io_uring_register_eventfd.HANDLE.invokeExact(ring, fd);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final class io_uring_register_iowq_aff {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_LONG, C_POINTER);
        static final MethodHandle HANDLE = uring("io_uring_register_iowq_aff", DESC);
    }

    /** {@code int io_uring_register_iowq_aff(struct io_uring *ring, size_t cpusz, const cpu_set_t *mask)} */
    public static int io_uring_register_iowq_aff(MemorySegment ring, long cpusz, MemorySegment mask) {
        try {
            return (int) io_uring_register_iowq_aff.HANDLE.invokeExact(ring, cpusz, mask);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final class io_uring_register_iowq_max_workers {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER);
        static final MethodHandle HANDLE = uring("io_uring_register_iowq_max_workers", DESC);
    }

    /** {@code int io_uring_register_iowq_max_workers(struct io_uring *ring, unsigned int *values)} (values[2], in/out) */
    public static int io_uring_register_iowq_max_workers(MemorySegment ring, MemorySegment values) {
        try {
            return (int) io_uring_register_iowq_max_workers.HANDLE.invokeExact(ring, values);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final class __io_uring_get_cqe {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_INT, C_INT, C_POINTER);
        static final MethodHandle HANDLE = uring("__io_uring_get_cqe", DESC);
    }

    /**
     * {@code int __io_uring_get_cqe(struct io_uring *ring, struct io_uring_cqe **cqe_ptr, unsigned submit,
     * unsigned wait_nr, sigset_t *sigmask)}: what the inline io_uring_peek_cqe / io_uring_wait_cqe fall
     * back to when no CQE is ready.
     */
    public static int __io_uring_get_cqe(MemorySegment ring, MemorySegment cqe_ptr, int submit, int wait_nr,
            MemorySegment sigmask) {
        try {
            return (int) __io_uring_get_cqe.HANDLE.invokeExact(ring, cqe_ptr, submit, wait_nr, sigmask);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final class io_uring_peek_batch_cqe {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_INT);
        static final MethodHandle HANDLE = uring("io_uring_peek_batch_cqe", DESC);
    }

    /** {@code unsigned io_uring_peek_batch_cqe(struct io_uring *ring, struct io_uring_cqe **cqes, unsigned count)} */
    public static int io_uring_peek_batch_cqe(MemorySegment ring, MemorySegment cqes, int count) {
        try {
            return (int) io_uring_peek_batch_cqe.HANDLE.invokeExact(ring, cqes, count);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final class io_uring_wait_cqes {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_INT, C_POINTER, C_POINTER);
        static final MethodHandle HANDLE = uring("io_uring_wait_cqes", DESC);
    }

    /**
     * {@code int io_uring_wait_cqes(struct io_uring *ring, struct io_uring_cqe **cqe_ptr, unsigned wait_nr,
     * struct __kernel_timespec *ts, sigset_t *sigmask)}; ts is {long tv_sec; long long tv_nsec} or NULL.
     */
    public static int io_uring_wait_cqes(MemorySegment ring, MemorySegment cqe_ptr, int wait_nr, MemorySegment ts,
            MemorySegment sigmask) {
        try {
            return (int) io_uring_wait_cqes.HANDLE.invokeExact(ring, cqe_ptr, wait_nr, ts, sigmask);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    // ---------------------------------------------------------------- constants (liburing/io_uring.h, liburing.h)

    // enum io_uring_op
    private static final int IORING_OP_NOP = 0;
    private static final int IORING_OP_READV = 1;
    private static final int IORING_OP_WRITEV = 2;
    private static final int IORING_OP_FSYNC = 3;
    private static final int IORING_OP_READ_FIXED = 4;
    private static final int IORING_OP_WRITE_FIXED = 5;
    private static final int IORING_OP_FALLOCATE = 17;
    private static final int IORING_OP_READ = 22;
    private static final int IORING_OP_WRITE = 23;

    public static int IORING_OP_NOP() { return IORING_OP_NOP; }
    public static int IORING_OP_READV() { return IORING_OP_READV; }
    public static int IORING_OP_WRITEV() { return IORING_OP_WRITEV; }
    public static int IORING_OP_FSYNC() { return IORING_OP_FSYNC; }
    public static int IORING_OP_READ_FIXED() { return IORING_OP_READ_FIXED; }
    public static int IORING_OP_WRITE_FIXED() { return IORING_OP_WRITE_FIXED; }
    public static int IORING_OP_FALLOCATE() { return IORING_OP_FALLOCATE; }
    public static int IORING_OP_READ() { return IORING_OP_READ; }
    public static int IORING_OP_WRITE() { return IORING_OP_WRITE; }

    // sqe->fsync_flags
    private static final int IORING_FSYNC_DATASYNC = 1 << 0;

    public static int IORING_FSYNC_DATASYNC() { return IORING_FSYNC_DATASYNC; }

    // sqe->flags
    private static final int IOSQE_FIXED_FILE = 1 << 0;
    private static final int IOSQE_IO_DRAIN = 1 << 1;
    private static final int IOSQE_IO_LINK = 1 << 2;
    private static final int IOSQE_IO_HARDLINK = 1 << 3;
    private static final int IOSQE_ASYNC = 1 << 4;

    public static int IOSQE_FIXED_FILE() { return IOSQE_FIXED_FILE; }
    public static int IOSQE_IO_DRAIN() { return IOSQE_IO_DRAIN; }
    public static int IOSQE_IO_LINK() { return IOSQE_IO_LINK; }
    public static int IOSQE_IO_HARDLINK() { return IOSQE_IO_HARDLINK; }
    public static int IOSQE_ASYNC() { return IOSQE_ASYNC; }

    // io_uring_setup() flags
    private static final int IORING_SETUP_IOPOLL = 1 << 0;
    private static final int IORING_SETUP_SQPOLL = 1 << 1;
    private static final int IORING_SETUP_CQSIZE = 1 << 3;
    private static final int IORING_SETUP_CLAMP = 1 << 4;
    private static final int IORING_SETUP_SUBMIT_ALL = 1 << 7;
    private static final int IORING_SETUP_COOP_TASKRUN = 1 << 8;
    private static final int IORING_SETUP_TASKRUN_FLAG = 1 << 9;
    private static final int IORING_SETUP_SQE128 = 1 << 10;
    private static final int IORING_SETUP_CQE32 = 1 << 11;
    private static final int IORING_SETUP_SINGLE_ISSUER = 1 << 12;
    private static final int IORING_SETUP_DEFER_TASKRUN = 1 << 13;

    public static int IORING_SETUP_IOPOLL() { return IORING_SETUP_IOPOLL; }
    public static int IORING_SETUP_SQPOLL() { return IORING_SETUP_SQPOLL; }
    public static int IORING_SETUP_CQSIZE() { return IORING_SETUP_CQSIZE; }
    public static int IORING_SETUP_CLAMP() { return IORING_SETUP_CLAMP; }
    public static int IORING_SETUP_SUBMIT_ALL() { return IORING_SETUP_SUBMIT_ALL; }
    public static int IORING_SETUP_COOP_TASKRUN() { return IORING_SETUP_COOP_TASKRUN; }
    public static int IORING_SETUP_TASKRUN_FLAG() { return IORING_SETUP_TASKRUN_FLAG; }
    public static int IORING_SETUP_SQE128() { return IORING_SETUP_SQE128; }
    public static int IORING_SETUP_CQE32() { return IORING_SETUP_CQE32; }
    public static int IORING_SETUP_SINGLE_ISSUER() { return IORING_SETUP_SINGLE_ISSUER; }
    public static int IORING_SETUP_DEFER_TASKRUN() { return IORING_SETUP_DEFER_TASKRUN; }

    // io_uring_enter(2) flags
    private static final int IORING_ENTER_GETEVENTS = 1 << 0;

    public static int IORING_ENTER_GETEVENTS() { return IORING_ENTER_GETEVENTS; }

    // sq_ring->flags
    private static final int IORING_SQ_NEED_WAKEUP = 1 << 0;
    private static final int IORING_SQ_CQ_OVERFLOW = 1 << 1;
    private static final int IORING_SQ_TASKRUN = 1 << 2;

    public static int IORING_SQ_NEED_WAKEUP() { return IORING_SQ_NEED_WAKEUP; }
    public static int IORING_SQ_CQ_OVERFLOW() { return IORING_SQ_CQ_OVERFLOW; }
    public static int IORING_SQ_TASKRUN() { return IORING_SQ_TASKRUN; }

    // io_uring_params->features
    private static final int IORING_FEAT_SINGLE_MMAP = 1 << 0;
    private static final int IORING_FEAT_NODROP = 1 << 1;
    private static final int IORING_FEAT_SUBMIT_STABLE = 1 << 2;
    private static final int IORING_FEAT_EXT_ARG = 1 << 8;

    public static int IORING_FEAT_SINGLE_MMAP() { return IORING_FEAT_SINGLE_MMAP; }
    public static int IORING_FEAT_NODROP() { return IORING_FEAT_NODROP; }
    public static int IORING_FEAT_SUBMIT_STABLE() { return IORING_FEAT_SUBMIT_STABLE; }
    public static int IORING_FEAT_EXT_ARG() { return IORING_FEAT_EXT_ARG; }

    // liburing.h
    private static final long LIBURING_UDATA_TIMEOUT = -1L;

    public static long LIBURING_UDATA_TIMEOUT() { return LIBURING_UDATA_TIMEOUT; }
}
