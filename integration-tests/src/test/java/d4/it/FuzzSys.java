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
import java.util.List;

/**
 * The system calls the differential fuzzer needs and {@link Sys} does not bind, bound the same way:
 * each returns the C result or {@code -errno}. (Sys belongs to the conformance tests; these stay
 * here so the fuzzer never has to change it.)
 */
final class FuzzSys {
    private FuzzSys() {}

    static final int RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2;
    static final int F_OFD_GETLK = 36, F_OFD_SETLK = 37;
    static final int FALLOC_FL_ZERO_RANGE = 0x10;
    static final int ENXIO = 6, EWOULDBLOCK = 11;
    static final int DT_UNKNOWN = 0, DT_FIFO = 1, DT_CHR = 2, DT_DIR = 4, DT_BLK = 6, DT_REG = 8, DT_LNK = 10,
            DT_SOCK = 12;

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

    private static final MethodHandle DUP = fn("dup", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle RENAMEAT2 = fn("renameat2", FunctionDescriptor.of(INT, INT, PTR, INT, PTR, INT));
    private static final MethodHandle GETDENTS64 = fn("getdents64", FunctionDescriptor.of(LONG, INT, PTR, LONG));
    private static final MethodHandle FCHOWN = fn("fchown", FunctionDescriptor.of(INT, INT, INT, INT));
    private static final MethodHandle FSETXATTR = fn("fsetxattr", FunctionDescriptor.of(INT, INT, PTR, PTR, LONG, INT));
    private static final MethodHandle FGETXATTR = fn("fgetxattr", FunctionDescriptor.of(LONG, INT, PTR, PTR, LONG));
    private static final MethodHandle FLISTXATTR = fn("flistxattr", FunctionDescriptor.of(LONG, INT, PTR, LONG));
    private static final MethodHandle FREMOVEXATTR = fn("fremovexattr", FunctionDescriptor.of(INT, INT, PTR));
    private static final MethodHandle LREMOVEXATTR = fn("lremovexattr", FunctionDescriptor.of(INT, PTR, PTR));
    // setfsuid/setfsgid act on the calling thread only (glibc does not broadcast them to other
    // threads, unlike setuid): exactly what running one call as another user needs.
    private static final MethodHandle SETFSUID = fn("setfsuid", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle SETFSGID = fn("setfsgid", FunctionDescriptor.of(INT, INT));

    @FunctionalInterface
    private interface Call {
        long invoke(Arena a, MemorySegment state) throws Throwable;
    }

    private static long call(Call c) {
        try (Arena a = Arena.ofConfined()) {
            return c.invoke(a, a.allocate(CALL_STATE));
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static long result(long r, MemorySegment state) {
        return r == -1 ? -(int) ERRNO.get(state, 0L) : r;
    }

    private static MemorySegment cstr(Arena a, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        MemorySegment m = a.allocate(bytes.length + 1);
        MemorySegment.copy(bytes, 0, m, ValueLayout.JAVA_BYTE, 0, bytes.length);
        m.set(ValueLayout.JAVA_BYTE, bytes.length, (byte) 0);
        return m;
    }

    private static MemorySegment bytes(Arena a, byte[] value) {
        MemorySegment v = a.allocate(Math.max(1, value.length));
        MemorySegment.copy(value, 0, v, ValueLayout.JAVA_BYTE, 0, value.length);
        return v;
    }

    static int dup(int fd) {
        return (int) call((a, s) -> result((int) DUP.invokeExact(s, fd), s));
    }

    static int renameat2(String from, String to, int flags) {
        return (int) call((a, s) -> result((int) RENAMEAT2.invokeExact(s, Sys.AT_FDCWD, cstr(a, from), Sys.AT_FDCWD,
                cstr(a, to), flags), s));
    }

    static int fchown(int fd, int uid, int gid) {
        return (int) call((a, s) -> result((int) FCHOWN.invokeExact(s, fd, uid, gid), s));
    }

    static int fsetxattr(int fd, String name, byte[] value, int flags) {
        return (int) call((a, s) -> result((int) FSETXATTR.invokeExact(s, fd, cstr(a, name), bytes(a, value),
                (long) value.length, flags), s));
    }

    static Sys.Bytes fgetxattr(int fd, String name, int size) {
        return xattrRead(size, (a, s, buf) -> (long) FGETXATTR.invokeExact(s, fd, cstr(a, name), buf, (long) size));
    }

    static Sys.Bytes flistxattr(int fd, int size) {
        return xattrRead(size, (a, s, buf) -> (long) FLISTXATTR.invokeExact(s, fd, buf, (long) size));
    }

    static int fremovexattr(int fd, String name) {
        return (int) call((a, s) -> result((int) FREMOVEXATTR.invokeExact(s, fd, cstr(a, name)), s));
    }

    static int lremovexattr(String p, String name) {
        return (int) call((a, s) -> result((int) LREMOVEXATTR.invokeExact(s, cstr(a, p), cstr(a, name)), s));
    }

    /** setfsuid returns the previous fsuid (it has no error return). */
    static int setfsuid(int uid) {
        return (int) call((a, s) -> (int) SETFSUID.invokeExact(s, uid));
    }

    static int setfsgid(int gid) {
        return (int) call((a, s) -> (int) SETFSGID.invokeExact(s, gid));
    }

    @FunctionalInterface
    private interface XattrCall {
        long invoke(Arena a, MemorySegment state, MemorySegment buf) throws Throwable;
    }

    private static Sys.Bytes xattrRead(int size, XattrCall c) {
        Sys.Bytes[] out = new Sys.Bytes[1];
        call((a, s) -> {
            MemorySegment buf = size == 0 ? MemorySegment.NULL : a.allocate(size);
            long r = result(c.invoke(a, s, buf), s);
            out[0] = r < 0 ? new Sys.Bytes((int) r, null)
                    : new Sys.Bytes((int) r, size == 0 ? new byte[0] : buf.asSlice(0, r).toArray(ValueLayout.JAVA_BYTE));
            return r;
        });
        return out[0];
    }

    /** One directory entry as getdents64 returns it (the inode number is left out: it differs by design). */
    record Dirent(String name, int type) {}

    /** Every entry of an open directory, read with getdents64 until the end; {@code -errno} in {@code error[0]}. */
    static List<Dirent> getdents(int fd, int[] error) {
        List<Dirent> out = new ArrayList<>();
        call((a, s) -> {
            MemorySegment buf = a.allocate(32 * 1024, 8);
            while (true) {
                long n = result((long) GETDENTS64.invokeExact(s, fd, buf, buf.byteSize()), s);
                if (n <= 0) {
                    error[0] = (int) Math.min(n, 0);
                    return n;
                }
                // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                for (long off = 0; off < n; ) {
                    int reclen = Short.toUnsignedInt(buf.get(ValueLayout.JAVA_SHORT_UNALIGNED, off + 16));
                    int type = Byte.toUnsignedInt(buf.get(ValueLayout.JAVA_BYTE, off + 18));
                    long nameStart = off + 19;
                    long nameEnd = nameStart;
                    while (buf.get(ValueLayout.JAVA_BYTE, nameEnd) != 0) {
                        nameEnd++;
                    }
                    byte[] name = buf.asSlice(nameStart, nameEnd - nameStart).toArray(ValueLayout.JAVA_BYTE);
                    out.add(new Dirent(new String(name, StandardCharsets.UTF_8), type));
                    off += reclen;
                }
            }
        });
        return out;
    }
}
