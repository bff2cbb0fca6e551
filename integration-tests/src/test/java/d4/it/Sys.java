package d4.it;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Raw Linux system calls for the mount tests, through FFM: each returns what the C call returns, or
 * {@code -errno} when it fails, so a test can assert the exact errno and the differential fuzzer can
 * compare d4 with a native directory call by call. Java's own file APIs hide errno behind exception
 * classes and follow their own rules (they never pass O_NOFOLLOW, retry EINTR, ...): useless here.
 *
 * <p>Paths are byte strings: {@link #path(String)} encodes UTF-8, and the byte[] overloads carry any
 * name the kernel accepts. Everything here is x86_64 Linux (the struct stat layout below).
 */
public final class Sys {
    private Sys() {}

    // errno values (asm-generic)
    public static final int EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, EBADF = 9, EAGAIN = 11, EACCES = 13,
            EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, EFBIG = 27, ENOSPC = 28,
            ESPIPE = 29, EROFS = 30, EMLINK = 31, ERANGE = 34, EDEADLK = 35, ENAMETOOLONG = 36, ENOSYS = 38,
            ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61, EOPNOTSUPP = 95, ENOTSUP = 95, E2BIG = 7, ETXTBSY = 26, ENXIO = 6,
            EBUSY = 16, EWOULDBLOCK = EAGAIN;

    // open flags (x86_64)
    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400,
            O_TRUNC = 01000, O_APPEND = 02000, O_NONBLOCK = 04000, O_DIRECTORY = 0200000, O_NOFOLLOW = 0400000,
            O_DIRECT = 040000, O_PATH = 010000000;

    public static final int S_IFMT = 0170000, S_IFDIR = 0040000, S_IFREG = 0100000, S_IFLNK = 0120000,
            S_IFIFO = 0010000, S_IFSOCK = 0140000, S_IFCHR = 0020000, S_IFBLK = 0060000;

    public static final int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200;
    public static final long UTIME_NOW = (1L << 30) - 1, UTIME_OMIT = (1L << 30) - 2;
    public static final int SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2, SEEK_DATA = 3, SEEK_HOLE = 4;
    public static final int XATTR_CREATE = 1, XATTR_REPLACE = 2;
    public static final int F_GETLK = 5, F_SETLK = 6, F_SETLKW = 7, F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;
    public static final int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    public static final int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2, FALLOC_FL_ZERO_RANGE = 0x10;
    /** d_type values of a directory entry (dirent.h). */
    public static final int DT_UNKNOWN = 0, DT_FIFO = 1, DT_CHR = 2, DT_DIR = 4, DT_BLK = 6, DT_REG = 8, DT_LNK = 10,
            DT_SOCK = 12;
    /** statfs f_type values. */
    public static final long EXT4_SUPER_MAGIC = 0xEF53, FUSE_SUPER_MAGIC = 0x65735546;
    public static final int R_OK = 4, W_OK = 2, X_OK = 1, F_OK = 0;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout PTR = ValueLayout.ADDRESS;

    private static MethodHandle fn(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), d, Linker.Option.captureCallState("errno"));
    }

    private static MethodHandle variadic(String name, FunctionDescriptor d, int firstVariadic) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), d, Linker.Option.captureCallState("errno"),
                Linker.Option.firstVariadicArg(firstVariadic));
    }

    private static final MethodHandle OPEN = variadic("open", FunctionDescriptor.of(INT, PTR, INT, INT), 2);
    private static final MethodHandle CLOSE = fn("close", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle PREAD = fn("pread", FunctionDescriptor.of(LONG, INT, PTR, LONG, LONG));
    private static final MethodHandle PWRITE = fn("pwrite", FunctionDescriptor.of(LONG, INT, PTR, LONG, LONG));
    private static final MethodHandle READ = fn("read", FunctionDescriptor.of(LONG, INT, PTR, LONG));
    private static final MethodHandle WRITE = fn("write", FunctionDescriptor.of(LONG, INT, PTR, LONG));
    private static final MethodHandle LSEEK = fn("lseek", FunctionDescriptor.of(LONG, INT, LONG, INT));
    private static final MethodHandle FTRUNCATE = fn("ftruncate", FunctionDescriptor.of(INT, INT, LONG));
    private static final MethodHandle TRUNCATE = fn("truncate", FunctionDescriptor.of(INT, PTR, LONG));
    private static final MethodHandle UNLINK = fn("unlink", FunctionDescriptor.of(INT, PTR));
    private static final MethodHandle RMDIR = fn("rmdir", FunctionDescriptor.of(INT, PTR));
    private static final MethodHandle MKDIR = fn("mkdir", FunctionDescriptor.of(INT, PTR, INT));
    private static final MethodHandle MKNOD = fn("mknod", FunctionDescriptor.of(INT, PTR, INT, LONG));
    private static final MethodHandle RENAME = fn("rename", FunctionDescriptor.of(INT, PTR, PTR));
    private static final MethodHandle LINK = fn("link", FunctionDescriptor.of(INT, PTR, PTR));
    private static final MethodHandle SYMLINK = fn("symlink", FunctionDescriptor.of(INT, PTR, PTR));
    private static final MethodHandle READLINK = fn("readlink", FunctionDescriptor.of(LONG, PTR, PTR, LONG));
    private static final MethodHandle STAT = fn("stat", FunctionDescriptor.of(INT, PTR, PTR));
    private static final MethodHandle LSTAT = fn("lstat", FunctionDescriptor.of(INT, PTR, PTR));
    private static final MethodHandle FSTAT = fn("fstat", FunctionDescriptor.of(INT, INT, PTR));
    private static final MethodHandle CHMOD = fn("chmod", FunctionDescriptor.of(INT, PTR, INT));
    private static final MethodHandle FCHMOD = fn("fchmod", FunctionDescriptor.of(INT, INT, INT));
    private static final MethodHandle LCHOWN = fn("lchown", FunctionDescriptor.of(INT, PTR, INT, INT));
    private static final MethodHandle CHOWN = fn("chown", FunctionDescriptor.of(INT, PTR, INT, INT));
    private static final MethodHandle UTIMENSAT = fn("utimensat", FunctionDescriptor.of(INT, INT, PTR, PTR, INT));
    private static final MethodHandle FSYNC = fn("fsync", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle FDATASYNC = fn("fdatasync", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle ACCESS = fn("access", FunctionDescriptor.of(INT, PTR, INT));
    private static final MethodHandle SETXATTR = fn("setxattr", FunctionDescriptor.of(INT, PTR, PTR, PTR, LONG, INT));
    private static final MethodHandle LSETXATTR = fn("lsetxattr", FunctionDescriptor.of(INT, PTR, PTR, PTR, LONG, INT));
    private static final MethodHandle GETXATTR = fn("getxattr", FunctionDescriptor.of(LONG, PTR, PTR, PTR, LONG));
    private static final MethodHandle LGETXATTR = fn("lgetxattr", FunctionDescriptor.of(LONG, PTR, PTR, PTR, LONG));
    private static final MethodHandle LISTXATTR = fn("listxattr", FunctionDescriptor.of(LONG, PTR, PTR, LONG));
    private static final MethodHandle LLISTXATTR = fn("llistxattr", FunctionDescriptor.of(LONG, PTR, PTR, LONG));
    private static final MethodHandle REMOVEXATTR = fn("removexattr", FunctionDescriptor.of(INT, PTR, PTR));
    private static final MethodHandle FLOCK = fn("flock", FunctionDescriptor.of(INT, INT, INT));
    private static final MethodHandle FCNTL_PTR = variadic("fcntl", FunctionDescriptor.of(INT, INT, INT, PTR), 2);
    private static final MethodHandle FALLOCATE = fn("fallocate", FunctionDescriptor.of(INT, INT, INT, LONG, LONG));
    private static final MethodHandle STATFS = fn("statfs", FunctionDescriptor.of(INT, PTR, PTR));
    private static final MethodHandle GETDENTS64 = fn("getdents64", FunctionDescriptor.of(LONG, INT, PTR, LONG));
    private static final MethodHandle LREMOVEXATTR = fn("lremovexattr", FunctionDescriptor.of(INT, PTR, PTR));

    /** A C string of the UTF-8 bytes of {@code s}. */
    public static byte[] path(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static MemorySegment cstr(Arena a, byte[] bytes) {
        MemorySegment m = a.allocate(bytes.length + 1);
        MemorySegment.copy(bytes, 0, m, ValueLayout.JAVA_BYTE, 0, bytes.length);
        m.set(ValueLayout.JAVA_BYTE, bytes.length, (byte) 0);
        return m;
    }

    private static MemorySegment cstr(Arena a, String s) {
        return cstr(a, path(s));
    }

    private static long result(long r, MemorySegment state) {
        return r == -1 ? -(int) ERRNO.get(state, 0L) : r;
    }

    @FunctionalInterface
    private interface Call {
        long invoke(Arena a, MemorySegment state) throws Throwable;
    }

    private static long call(Call c) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(CALL_STATE);
            return c.invoke(a, state);
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    public static int open(String p, int flags, int mode) {
        return (int) call((a, s) -> result((int) OPEN.invokeExact(s, cstr(a, p), flags, mode), s));
    }

    public static int open(String p, int flags) {
        return open(p, flags, 0);
    }

    public static int close(int fd) {
        return (int) call((a, s) -> result((int) CLOSE.invokeExact(s, fd), s));
    }

    /** Writes all of {@code data} in one call at {@code offset}; returns the count or -errno. */
    public static long pwrite(int fd, byte[] data, long offset) {
        return call((a, s) -> {
            MemorySegment buf = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            return result((long) PWRITE.invokeExact(s, fd, buf, (long) data.length, offset), s);
        });
    }

    public static long write(int fd, byte[] data) {
        return call((a, s) -> {
            MemorySegment buf = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            return result((long) WRITE.invokeExact(s, fd, buf, (long) data.length), s);
        });
    }

    /** Reads up to {@code length} bytes at {@code offset}: the bytes read, or null with the errno in {@code err[0]}. */
    public static Bytes pread(int fd, int length, long offset) {
        Bytes[] out = new Bytes[1];
        call((a, s) -> {
            MemorySegment buf = a.allocate(Math.max(1, length));
            long r = result((long) PREAD.invokeExact(s, fd, buf, (long) length, offset), s);
            out[0] = r < 0 ? new Bytes((int) r, null) : new Bytes((int) r, buf.asSlice(0, r).toArray(ValueLayout.JAVA_BYTE));
            return r;
        });
        return out[0];
    }

    public static Bytes read(int fd, int length) {
        Bytes[] out = new Bytes[1];
        call((a, s) -> {
            MemorySegment buf = a.allocate(Math.max(1, length));
            long r = result((long) READ.invokeExact(s, fd, buf, (long) length), s);
            out[0] = r < 0 ? new Bytes((int) r, null) : new Bytes((int) r, buf.asSlice(0, r).toArray(ValueLayout.JAVA_BYTE));
            return r;
        });
        return out[0];
    }

    /** A read's result: {@code result} is the count or -errno; {@code data} is null on error. */
    public record Bytes(int result, byte[] data) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Bytes b && b.result == result && Arrays.equals(b.data, data);
        }

        @Override
        public int hashCode() {
            return result * 31 + Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return data == null ? "errno " + (-result) : result + " bytes (hash " + Arrays.hashCode(data) + ")";
        }
    }

    public static long lseek(int fd, long offset, int whence) {
        return call((a, s) -> result((long) LSEEK.invokeExact(s, fd, offset, whence), s));
    }

    public static int ftruncate(int fd, long size) {
        return (int) call((a, s) -> result((int) FTRUNCATE.invokeExact(s, fd, size), s));
    }

    public static int truncate(String p, long size) {
        return (int) call((a, s) -> result((int) TRUNCATE.invokeExact(s, cstr(a, p), size), s));
    }

    public static int unlink(String p) {
        return (int) call((a, s) -> result((int) UNLINK.invokeExact(s, cstr(a, p)), s));
    }

    public static int rmdir(String p) {
        return (int) call((a, s) -> result((int) RMDIR.invokeExact(s, cstr(a, p)), s));
    }

    public static int mkdir(String p, int mode) {
        return (int) call((a, s) -> result((int) MKDIR.invokeExact(s, cstr(a, p), mode), s));
    }

    public static int mknod(String p, int mode, long dev) {
        return (int) call((a, s) -> result((int) MKNOD.invokeExact(s, cstr(a, p), mode, dev), s));
    }

    public static int rename(String from, String to) {
        return (int) call((a, s) -> result((int) RENAME.invokeExact(s, cstr(a, from), cstr(a, to)), s));
    }

    public static int link(String from, String to) {
        return (int) call((a, s) -> result((int) LINK.invokeExact(s, cstr(a, from), cstr(a, to)), s));
    }

    public static int symlink(String target, String p) {
        return symlink(path(target), p);
    }

    /** A symlink whose target is any byte string (not necessarily UTF-8). */
    public static int symlink(byte[] target, String p) {
        return (int) call((a, s) -> result((int) SYMLINK.invokeExact(s, cstr(a, target), cstr(a, p)), s));
    }

    /** The link's target, or null (with {@code -errno} in the returned record's result). */
    public static Bytes readlink(String p) {
        Bytes[] out = new Bytes[1];
        call((a, s) -> {
            MemorySegment buf = a.allocate(4096);
            long r = result((long) READLINK.invokeExact(s, cstr(a, p), buf, 4096L), s);
            out[0] = r < 0 ? new Bytes((int) r, null) : new Bytes((int) r, buf.asSlice(0, r).toArray(ValueLayout.JAVA_BYTE));
            return r;
        });
        return out[0];
    }

    /** The fields of struct stat a test compares; {@code result} is 0 or -errno (fields zero then). */
    public record Stat(int result, long dev, long ino, long nlink, int mode, int uid, int gid, long rdev, long size,
            long blksize, long blocks, long atimeSec, long atimeNsec, long mtimeSec, long mtimeNsec, long ctimeSec,
            long ctimeNsec) {
        public int type() {
            return mode & S_IFMT;
        }

        public int perm() {
            return mode & 07777;
        }

        static Stat of(int result, MemorySegment st) {
            if (result != 0) {
                return new Stat(result, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
            }
            return new Stat(0, st.get(LONG, 0), st.get(LONG, 8), st.get(LONG, 16), st.get(INT, 24), st.get(INT, 28),
                    st.get(INT, 32), st.get(LONG, 40), st.get(LONG, 48), st.get(LONG, 56), st.get(LONG, 64),
                    st.get(LONG, 72), st.get(LONG, 80), st.get(LONG, 88), st.get(LONG, 96), st.get(LONG, 104),
                    st.get(LONG, 112));
        }
    }

    private static final long STAT_SIZE = 144;

    public static Stat stat(String p) {
        Stat[] out = new Stat[1];
        call((a, s) -> {
            MemorySegment st = a.allocate(STAT_SIZE, 8);
            int r = (int) result((int) STAT.invokeExact(s, cstr(a, p), st), s);
            out[0] = Stat.of(r, st);
            return r;
        });
        return out[0];
    }

    public static Stat lstat(String p) {
        Stat[] out = new Stat[1];
        call((a, s) -> {
            MemorySegment st = a.allocate(STAT_SIZE, 8);
            int r = (int) result((int) LSTAT.invokeExact(s, cstr(a, p), st), s);
            out[0] = Stat.of(r, st);
            return r;
        });
        return out[0];
    }

    public static Stat fstat(int fd) {
        Stat[] out = new Stat[1];
        call((a, s) -> {
            MemorySegment st = a.allocate(STAT_SIZE, 8);
            int r = (int) result((int) FSTAT.invokeExact(s, fd, st), s);
            out[0] = Stat.of(r, st);
            return r;
        });
        return out[0];
    }

    public static int chmod(String p, int mode) {
        return (int) call((a, s) -> result((int) CHMOD.invokeExact(s, cstr(a, p), mode), s));
    }

    public static int fchmod(int fd, int mode) {
        return (int) call((a, s) -> result((int) FCHMOD.invokeExact(s, fd, mode), s));
    }

    public static int chown(String p, int uid, int gid) {
        return (int) call((a, s) -> result((int) CHOWN.invokeExact(s, cstr(a, p), uid, gid), s));
    }

    public static int lchown(String p, int uid, int gid) {
        return (int) call((a, s) -> result((int) LCHOWN.invokeExact(s, cstr(a, p), uid, gid), s));
    }

    /** utimensat(AT_FDCWD, p, {atime, mtime}, flags); a nanos of UTIME_NOW or UTIME_OMIT means that. */
    public static int utimens(String p, long aSec, long aNsec, long mSec, long mNsec, int flags) {
        return (int) call((a, s) -> {
            MemorySegment ts = a.allocate(32, 8);
            ts.set(LONG, 0, aSec);
            ts.set(LONG, 8, aNsec);
            ts.set(LONG, 16, mSec);
            ts.set(LONG, 24, mNsec);
            return result((int) UTIMENSAT.invokeExact(s, AT_FDCWD, cstr(a, p), ts, flags), s);
        });
    }

    public static int fsync(int fd) {
        return (int) call((a, s) -> result((int) FSYNC.invokeExact(s, fd), s));
    }

    public static int fdatasync(int fd) {
        return (int) call((a, s) -> result((int) FDATASYNC.invokeExact(s, fd), s));
    }

    public static int access(String p, int mode) {
        return (int) call((a, s) -> result((int) ACCESS.invokeExact(s, cstr(a, p), mode), s));
    }

    public static int setxattr(String p, String name, byte[] value, int flags) {
        return (int) call((a, s) -> {
            MemorySegment v = a.allocate(Math.max(1, value.length));
            MemorySegment.copy(value, 0, v, ValueLayout.JAVA_BYTE, 0, value.length);
            return result((int) SETXATTR.invokeExact(s, cstr(a, p), cstr(a, name), v, (long) value.length, flags), s);
        });
    }

    public static int lsetxattr(String p, String name, byte[] value, int flags) {
        return (int) call((a, s) -> {
            MemorySegment v = a.allocate(Math.max(1, value.length));
            MemorySegment.copy(value, 0, v, ValueLayout.JAVA_BYTE, 0, value.length);
            return result((int) LSETXATTR.invokeExact(s, cstr(a, p), cstr(a, name), v, (long) value.length, flags), s);
        });
    }

    /** getxattr with a buffer of {@code size} bytes (0 asks for the value's size). */
    public static Bytes getxattr(String p, String name, int size) {
        return xattrRead(size, (a, s, buf) -> (long) GETXATTR.invokeExact(s, cstr(a, p), cstr(a, name), buf, (long) size));
    }

    public static Bytes lgetxattr(String p, String name, int size) {
        return xattrRead(size, (a, s, buf) -> (long) LGETXATTR.invokeExact(s, cstr(a, p), cstr(a, name), buf, (long) size));
    }

    /** listxattr with a buffer of {@code size} bytes; the data is the NUL-separated name list. */
    public static Bytes listxattr(String p, int size) {
        return xattrRead(size, (a, s, buf) -> (long) LISTXATTR.invokeExact(s, cstr(a, p), buf, (long) size));
    }

    public static Bytes llistxattr(String p, int size) {
        return xattrRead(size, (a, s, buf) -> (long) LLISTXATTR.invokeExact(s, cstr(a, p), buf, (long) size));
    }

    /** The names in a listxattr result, sorted (the order of a listing is not specified). */
    public static List<String> xattrNames(Bytes list) {
        List<String> names = new ArrayList<>();
        if (list.data() == null) {
            return names;
        }
        int start = 0;
        for (int i = 0; i < list.data().length; i++) {
            if (list.data()[i] == 0) {
                names.add(new String(list.data(), start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        names.sort(null);
        return names;
    }

    @FunctionalInterface
    private interface XattrCall {
        long invoke(Arena a, MemorySegment state, MemorySegment buf) throws Throwable;
    }

    private static Bytes xattrRead(int size, XattrCall c) {
        Bytes[] out = new Bytes[1];
        call((a, s) -> {
            MemorySegment buf = size == 0 ? MemorySegment.NULL : a.allocate(size);
            long r = result(c.invoke(a, s, buf), s);
            out[0] = r < 0 ? new Bytes((int) r, null)
                    : new Bytes((int) r, size == 0 ? new byte[0] : buf.asSlice(0, r).toArray(ValueLayout.JAVA_BYTE));
            return r;
        });
        return out[0];
    }

    public static int removexattr(String p, String name) {
        return (int) call((a, s) -> result((int) REMOVEXATTR.invokeExact(s, cstr(a, p), cstr(a, name)), s));
    }

    public static int lremovexattr(String p, String name) {
        return (int) call((a, s) -> result((int) LREMOVEXATTR.invokeExact(s, cstr(a, p), cstr(a, name)), s));
    }

    public static int flock(int fd, int op) {
        return (int) call((a, s) -> result((int) FLOCK.invokeExact(s, fd, op), s));
    }

    /** A struct flock: type, whence, start, len, pid. */
    public record Lock(int result, short type, short whence, long start, long len, int pid) {}

    /** fcntl(fd, cmd, &flock) for F_GETLK / F_SETLK / F_SETLKW; returns the struct as the kernel left it. */
    public static Lock fcntlLock(int fd, int cmd, int type, long start, long len) {
        Lock[] out = new Lock[1];
        call((a, s) -> {
            MemorySegment fl = a.allocate(32, 8); // short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid
            fl.set(ValueLayout.JAVA_SHORT, 0, (short) type);
            fl.set(ValueLayout.JAVA_SHORT, 2, (short) SEEK_SET);
            fl.set(LONG, 8, start);
            fl.set(LONG, 16, len);
            fl.set(INT, 24, 0);
            int r = (int) result((int) FCNTL_PTR.invokeExact(s, fd, cmd, fl), s);
            out[0] = new Lock(r, fl.get(ValueLayout.JAVA_SHORT, 0), fl.get(ValueLayout.JAVA_SHORT, 2), fl.get(LONG, 8),
                    fl.get(LONG, 16), fl.get(INT, 24));
            return r;
        });
        return out[0];
    }

    public static int fallocate(int fd, int mode, long offset, long length) {
        return (int) call((a, s) -> result((int) FALLOCATE.invokeExact(s, fd, mode, offset, length), s));
    }

    /** glibc's makedev: the dev_t of a device number (the kernel keeps 12 bits of major, 20 of minor). */
    public static long makedev(long major, long minor) {
        return ((major & 0xfff) << 8) | ((major & ~0xfffL) << 32) | (minor & 0xff) | ((minor & ~0xffL) << 12);
    }

    /** One entry of a getdents64 result: the name is the raw bytes the kernel gave. */
    public record Dirent(long ino, long off, int type, byte[] name) {
        public String nameString() {
            return new String(name, StandardCharsets.UTF_8);
        }
    }

    /** One getdents64 call's result: the byte count (0 at the end of the directory) or -errno, and its entries. */
    public record Dirents(long result, List<Dirent> entries) {}

    /**
     * getdents64(fd, buf, bufferSize): the next entries of an open directory. Each entry's {@code off} is
     * what lseek(fd, off, SEEK_SET) takes to continue after it (telldir/seekdir).
     */
    public static Dirents getdents(int fd, int bufferSize) {
        Dirents[] out = new Dirents[1];
        call((a, s) -> {
            MemorySegment buf = a.allocate(bufferSize, 8);
            long r = result((long) GETDENTS64.invokeExact(s, fd, buf, (long) bufferSize), s);
            List<Dirent> entries = new ArrayList<>();
            // struct linux_dirent64: u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, NUL-terminated d_name
            for (long pos = 0; r > 0 && pos < r; ) {
                int reclen = Short.toUnsignedInt(buf.get(ValueLayout.JAVA_SHORT_UNALIGNED, pos + 16));
                long nameStart = pos + 19;
                long nameEnd = nameStart;
                while (buf.get(ValueLayout.JAVA_BYTE, nameEnd) != 0) {
                    nameEnd++;
                }
                entries.add(new Dirent(buf.get(ValueLayout.JAVA_LONG_UNALIGNED, pos),
                        buf.get(ValueLayout.JAVA_LONG_UNALIGNED, pos + 8), Byte.toUnsignedInt(buf.get(ValueLayout.JAVA_BYTE, pos + 18)),
                        buf.asSlice(nameStart, nameEnd - nameStart).toArray(ValueLayout.JAVA_BYTE)));
                pos += reclen;
            }
            out[0] = new Dirents(r, entries);
            return r;
        });
        return out[0];
    }

    /** statfs: {f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_namelen} or {-errno}. */
    public static long[] statfs(String p) {
        long[][] out = new long[1][];
        call((a, s) -> {
            MemorySegment st = a.allocate(120, 8);
            int r = (int) result((int) STATFS.invokeExact(s, cstr(a, p), st), s);
            out[0] = r != 0 ? new long[] {r}
                    : new long[] {st.get(LONG, 0), st.get(LONG, 8), st.get(LONG, 16), st.get(LONG, 24), st.get(LONG, 32),
                            st.get(LONG, 40), st.get(LONG, 48), st.get(LONG, 64)};
            return r;
        });
        return out[0];
    }
}
