package d4.engine.io.uring;

import static d4.engine.io.uring.liburing_h.C_INT;
import static d4.engine.io.uring.liburing_h.C_LONG;
import static d4.engine.io.uring.liburing_h.C_POINTER;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few glibc calls io_uring users need and Java does not offer: open(2) with O_DIRECT returning a
 * raw fd (to hand to io_uring), close(2), fallocate(2) (volume files reserve host space), and
 * sched_{set,get}affinity(2). Bound through
 * {@code Linker.nativeLinker().defaultLookup()} with {@code captureCallState("errno")}; like the
 * kernel and io_uring CQEs, each returns {@code -errno} on failure. Not for hot paths: each call
 * allocates its argument and errno buffers.
 */
public final class Libc {
    private Libc() {}

    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 01;
    public static final int O_RDWR = 02;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_TRUNC = 01000;
    public static final int O_DIRECT = 040000;
    public static final int O_CLOEXEC = 02000000;

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EBUSY = 16;
    public static final int EINVAL = 22;
    public static final int ENOSYS = 38;
    public static final int ETIME = 62;

    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(PathElement.groupElement("errno"));

    private static MethodHandle libc(String name, FunctionDescriptor desc, Linker.Option... options) {
        Linker linker = Linker.nativeLinker();
        MemorySegment addr = linker.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return linker.downcallHandle(addr, desc, options);
    }

    private static final class open {
        static final MethodHandle HANDLE = libc("open", FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_INT),
                Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
    }

    private static final class close {
        static final MethodHandle HANDLE = libc("close", FunctionDescriptor.of(C_INT, C_INT),
                Linker.Option.captureCallState("errno"));
    }

    private static final class fallocate {
        static final MethodHandle HANDLE = libc("fallocate",
                FunctionDescriptor.of(C_INT, C_INT, C_INT, C_LONG, C_LONG), Linker.Option.captureCallState("errno"));
    }

    private static final class sched_setaffinity {
        static final MethodHandle HANDLE = libc("sched_setaffinity",
                FunctionDescriptor.of(C_INT, C_INT, C_LONG, C_POINTER), Linker.Option.captureCallState("errno"));
    }

    private static final class sched_getaffinity {
        static final MethodHandle HANDLE = libc("sched_getaffinity",
                FunctionDescriptor.of(C_INT, C_INT, C_LONG, C_POINTER), Linker.Option.captureCallState("errno"));
    }

    private static final class eventfd {
        static final MethodHandle HANDLE = libc("eventfd", FunctionDescriptor.of(C_INT, C_INT, C_INT),
                Linker.Option.captureCallState("errno"));
    }

    private static final class write {
        static final MethodHandle HANDLE = libc("write", FunctionDescriptor.of(C_LONG, C_INT, C_POINTER, C_LONG));
    }

    public static final int EFD_CLOEXEC = 02000000;
    public static final int EFD_NONBLOCK = 04000;

    /** The value 1 as an eventfd counter increment, shared by every {@link #eventfdSignal} call. */
    private static final MemorySegment ONE = one();

    private static MemorySegment one() {
        MemorySegment s = Arena.global().allocate(8, 8);
        s.set(ValueLayout.JAVA_LONG, 0, 1L);
        return s;
    }

    /** eventfd(2): the new fd, or {@code -errno}. */
    public static int eventfd(int initval, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) eventfd.HANDLE.invokeExact(state, initval, flags);
            return fd >= 0 ? fd : -errno(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Adds 1 to an eventfd's counter (write(2) of 8 bytes), waking whoever waits on it. Allocates
     * nothing; returns write's result (8, or -1 when the counter is saturated, which still wakes).
     */
    public static long eventfdSignal(int fd) {
        try {
            return (long) write.HANDLE.invokeExact(fd, ONE, 8L);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int errno(MemorySegment callState) {
        return (int) ERRNO.get(callState, 0L);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException re) {
            return re;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new AssertionError("should not reach here", t);
    }

    /** open(2): the new fd, or {@code -errno}. {@code mode} matters only with O_CREAT. */
    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) open.HANDLE.invokeExact(state, arena.allocateFrom(path), flags, mode);
            return fd >= 0 ? fd : -errno(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** close(2): 0, or {@code -errno}. */
    public static int close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) close.HANDLE.invokeExact(state, fd);
            return r == 0 ? 0 : -errno(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** fallocate(2): 0, or {@code -errno}. */
    public static int fallocate(int fd, int mode, long offset, long length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) fallocate.HANDLE.invokeExact(state, fd, mode, offset, length);
            return r == 0 ? 0 : -errno(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** sched_setaffinity(2) (pid 0 = the calling thread): 0, or {@code -errno}. */
    public static int sched_setaffinity(int pid, long cpusetsize, MemorySegment mask) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) sched_setaffinity.HANDLE.invokeExact(state, pid, cpusetsize, mask);
            return r == 0 ? 0 : -errno(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** sched_getaffinity(2) (pid 0 = the calling thread): 0, or {@code -errno}. */
    public static int sched_getaffinity(int pid, long cpusetsize, MemorySegment mask) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) sched_getaffinity.HANDLE.invokeExact(state, pid, cpusetsize, mask);
            return r == 0 ? 0 : -errno(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The symbolic name of a (positive) Linux errno, e.g. 22 -> "EINVAL"; "errno N" when unknown. */
    public static String errnoName(int errno) {
        return switch (errno) {
            case 1 -> "EPERM";
            case 2 -> "ENOENT";
            case 3 -> "ESRCH";
            case 4 -> "EINTR";
            case 5 -> "EIO";
            case 6 -> "ENXIO";
            case 7 -> "E2BIG";
            case 9 -> "EBADF";
            case 11 -> "EAGAIN";
            case 12 -> "ENOMEM";
            case 13 -> "EACCES";
            case 14 -> "EFAULT";
            case 16 -> "EBUSY";
            case 17 -> "EEXIST";
            case 18 -> "EXDEV";
            case 19 -> "ENODEV";
            case 20 -> "ENOTDIR";
            case 21 -> "EISDIR";
            case 22 -> "EINVAL";
            case 23 -> "ENFILE";
            case 24 -> "EMFILE";
            case 25 -> "ENOTTY";
            case 27 -> "EFBIG";
            case 28 -> "ENOSPC";
            case 29 -> "ESPIPE";
            case 30 -> "EROFS";
            case 32 -> "EPIPE";
            case 34 -> "ERANGE";
            case 36 -> "ENAMETOOLONG";
            case 38 -> "ENOSYS";
            case 39 -> "ENOTEMPTY";
            case 40 -> "ELOOP";
            case 61 -> "ENODATA";
            case 62 -> "ETIME";
            case 75 -> "EOVERFLOW";
            case 95 -> "EOPNOTSUPP";
            case 105 -> "ENOBUFS";
            case 110 -> "ETIMEDOUT";
            case 121 -> "EREMOTEIO";
            case 122 -> "EDQUOT";
            case 125 -> "ECANCELED";
            default -> "errno " + errno;
        };
    }
}
