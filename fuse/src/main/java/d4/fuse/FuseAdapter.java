package d4.fuse;

import d4.fs.Caller;
import d4.fs.DirEntry;
import d4.fs.FileSystem;
import d4.fs.FsStats;
import d4.fs.Inode;
import d4.fs.Timestamp;
import d4.fuse.OpStats.Op;
import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseContext;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

/**
 * The jnr-fuse adapter: translates libfuse 2's path-based calls into {@link FileSystem} calls.
 * It is the only class that sees jnr types. Every callback catches everything (no exception may
 * cross into native code), maps it to errno through {@link Errno}, and logs what means damage or a bug.
 *
 * <p>File handles are inode ids. Files unlinked while open: libfuse 2 renames them to a
 * {@code .fuse_hidden} name, which {@link FileSystem} turns into a real unlink (see there), so no
 * such name ever appears in a listing and fstat keeps working (with {@code hard_remove} it would not:
 * the kernel's getattr carries no handle). Calls that do come with a null path are served by handle.
 */
public final class FuseAdapter extends FuseStubFS {
    private static final System.Logger LOG = System.getLogger("d4.fuse");
    private static final long UTIME_NOW = (1L << 30) - 1;
    private static final long UTIME_OMIT = (1L << 30) - 2;
    /** The largest request libfuse 2 passes with big_writes; also what we ask the kernel for. */
    public static final int MAX_IO_BYTES = 128 * 1024;

    private final FileSystem fs;
    private final AtomicLong errorsLogged = new AtomicLong();
    private final OpStats stats = new OpStats();

    public FuseAdapter(FileSystem fs) {
        this.fs = fs;
        setOperationFlags();
    }

    /**
     * libfuse 2.9's struct fuse_operations holds a 32-bit bitfield after its first 38 function
     * pointers; jnr-fuse models it as single bytes. Set bit 0 (flag_nullpath_ok: calls on files
     * unlinked while open come by handle with a null path) and bit 2 (flag_utime_omit_ok: UTIME_NOW
     * and UTIME_OMIT reach utimens) in the word itself.
     */
    private void setOperationFlags() {
        int pointer = Runtime.getSystemRuntime().addressSize();
        long flagsOffset = 38L * pointer;
        long expectedSize = flagsOffset + 8 + 6L * pointer; // flags word padded to 8, then 6 more pointers
        if (Struct.size(fuseOperations) != expectedSize) {
            throw new IllegalStateException("jnr-fuse's struct fuse_operations is " + Struct.size(fuseOperations)
                    + " bytes, not the " + expectedSize + " of libfuse 2.9: this jnr-fuse version is not supported");
        }
        Pointer ops = Struct.getMemory(fuseOperations);
        ops.putInt(flagsOffset, ops.getInt(flagsOffset) | 0b101);
    }

    /**
     * The FUSE options d4 always mounts with (see docs/architecture.md for why each). A root mount
     * is open to every user, as a native file system is, with the kernel checking permissions
     * (default_permissions); a user's own mount is not, since allow_other then needs
     * user_allow_other in /etc/fuse.conf (give -o allow_other to ask for it).
     */
    public static List<String> defaultOptions(String poolName) {
        List<String> options = new java.util.ArrayList<>(List.of(
                "fsname=d4:" + poolName,
                "subtype=d4",
                "big_writes",
                "max_write=" + MAX_IO_BYTES,
                "max_read=" + MAX_IO_BYTES,
                "use_ino",
                "auto_cache",
                "default_permissions",
                "attr_timeout=0",
                "entry_timeout=1",
                "negative_timeout=0"));
        if ("root".equals(System.getProperty("user.name"))) {
            options.add("allow_other");
        }
        return List.copyOf(options);
    }

    /** How many JVM threads serve FUSE requests by default (libfuse 2's own loop caps idle workers at 10). */
    public static final int DEFAULT_THREADS = 8;

    /**
     * Mounts and serves until unmounted, on {@code threads} long-lived JVM threads (see
     * {@link FuseLoop}: libfuse's own worker threads cost a JVM attach and detach per request).
     */
    public void serve(Path mountPoint, List<String> fuseOptions, int threads) {
        serve(mountPoint, fuseOptions, threads, () -> {});
    }

    /**
     * As {@link #serve(Path, List, int)}, running {@code onMounted} once the kernel has the mount and
     * before the first request is served (the moment to drop privileges: see {@link FuseLoop}). If it
     * throws, the mount is removed again and the exception propagates.
     */
    public void serve(Path mountPoint, List<String> fuseOptions, int threads, Runnable onMounted) {
        // jnr keeps the struct in Java heap memory and copies it for each native call it makes; for
        // our own FFM calls, copy it once into native memory that lives as long as the mount.
        Pointer ops = Struct.getMemory(fuseOperations);
        int size = Struct.size(fuseOperations);
        byte[] bytes = new byte[size];
        ops.get(0, bytes, 0, size);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            MemorySegment nativeOps = arena.allocate(size, 8);
            MemorySegment.copy(bytes, 0, nativeOps, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, size);
            FuseLoop.serve(mountPoint, fuseOptions, nativeOps, size, threads, onMounted);
        }
    }

    @FunctionalInterface
    private interface Call {
        int run() throws Exception;
    }

    /**
     * Runs one FUSE operation: maps what it throws to -errno, and records its duration and outcome
     * in {@link #stats()} (nothing allocated for that).
     */
    private int call(Op op, String path, Call body) {
        long start = System.nanoTime();
        int result;
        try {
            result = body.run();
        } catch (Throwable t) {
            int errno = Errno.of(t);
            if (Errno.isNoteworthy(t)) {
                // Full stack trace for what looks like a bug; one line for damage reports.
                boolean bug = !(t instanceof d4.engine.D4Exception);
                if (bug || errorsLogged.incrementAndGet() < 1000) {
                    LOG.log(bug ? Level.ERROR : Level.WARNING, op.label() + " " + path + " failed (errno " + errno + "): " + t,
                            bug ? t : null);
                }
            }
            result = -errno;
        }
        stats.record(op, System.nanoTime() - start, result < 0);
        return result;
    }

    /** Counts and latencies of the operations served since the mount (for status and metrics). */
    public OpStats stats() {
        return stats;
    }

    private Caller caller() {
        FuseContext ctx = getContext();
        return new Caller(ctx.uid.intValue(), ctx.gid.intValue(), (int) ctx.umask.longValue());
    }

    /** libfuse 2.9's struct fuse_conn_info: {@code capable} and {@code want} are the 6th and 7th u32. */
    private static final int CONN_CAPABLE = 20, CONN_WANT = 24;
    /** FUSE_CAP_DONT_MASK: the kernel passes the umask instead of applying it (a default ACL overrides it). */
    private static final int FUSE_CAP_DONT_MASK = 1 << 6;

    @Override
    public Pointer init(Pointer conn) {
        try {
            if (conn != null && (conn.getInt(CONN_CAPABLE) & FUSE_CAP_DONT_MASK) != 0) {
                conn.putInt(CONN_WANT, conn.getInt(CONN_WANT) | FUSE_CAP_DONT_MASK);
            }
        } catch (Throwable t) {
            LOG.log(Level.ERROR, "FUSE init failed: " + t, t);
        }
        return null;
    }

    /** @param extraLinks added to st_nlink (see FileSystem.hiddenLinkCorrection) */
    private static void fill(FileStat st, Inode i, int extraLinks) {
        st.st_mode.set(i.mode());
        st.st_ino.set(i.id());
        st.st_nlink.set(i.nlink() + extraLinks);
        st.st_uid.set(i.uid());
        st.st_gid.set(i.gid());
        st.st_rdev.set(i.rdev());
        st.st_size.set(i.sizeBytes());
        st.st_blksize.set(4096);
        st.st_blocks.set((i.allocatedBytes() + 511) / 512);
        st.st_atim.tv_sec.set(i.atime().seconds());
        st.st_atim.tv_nsec.set(i.atime().nanos());
        st.st_mtim.tv_sec.set(i.mtime().seconds());
        st.st_mtim.tv_nsec.set(i.mtime().nanos());
        st.st_ctim.tv_sec.set(i.ctime().seconds());
        st.st_ctim.tv_nsec.set(i.ctime().nanos());
    }

    /**
     * File handles are inode ids with {@link #APPEND} set for descriptors opened O_APPEND (d4 does
     * the append itself: see FileSystem.write). Object ids stay far below bit 62.
     */
    private static final long APPEND = 1L << 62;
    private static final int O_APPEND = 02000;

    private static long handle(FuseFileInfo fi) {
        return fi.fh.get() & ~APPEND;
    }

    private static boolean appending(FuseFileInfo fi) {
        return (fi.fh.get() & APPEND) != 0;
    }

    private static long handleFor(long inode, FuseFileInfo fi) {
        return (fi.flags.get() & O_APPEND) != 0 ? inode | APPEND : inode;
    }

    /** The writer's credentials and a test of its supplementary groups, for the setgid rule. */
    private record Writer(Caller caller, java.util.function.IntPredicate inGroup) {}

    private Writer writer() {
        FuseContext ctx = getContext();
        int pid = ctx.pid.intValue();
        return new Writer(new Caller(ctx.uid.intValue(), ctx.gid.intValue(), 0), gid -> ProcessGroups.contains(pid, gid));
    }

    @Override
    public int getattr(String path, FileStat stat) {
        return call(Op.GETATTR, path, () -> {
            fill(stat, fs.getattr(path), fs.hiddenLinkCorrection(path));
            return 0;
        });
    }

    @Override
    public int fgetattr(String path, FileStat stat, FuseFileInfo fi) {
        return call(Op.FGETATTR, path, () -> {
            fill(stat, fs.getattr(handle(fi)), fs.hiddenLinkCorrection(path));
            return 0;
        });
    }

    @Override
    public int access(String path, int mask) {
        // default_permissions has the kernel check modes; this only answers existence.
        return call(Op.ACCESS, path, () -> {
            fs.getattr(path);
            return 0;
        });
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filler, long offset, FuseFileInfo fi) {
        return call(Op.READDIR, path, () -> {
            Runtime runtime = Runtime.getSystemRuntime();
            FileStat st = new FileStat(runtime);
            Pointer stMemory = Memory.allocateDirect(runtime, Struct.size(st), true);
            st.useMemory(stMemory);
            for (DirEntry e : fs.readdir(path)) {
                byte[] name = new byte[e.name().length + 1]; // NUL-terminated for C
                System.arraycopy(e.name(), 0, name, 0, e.name().length);
                st.st_ino.set(e.inode());
                st.st_mode.set(e.typeBits());
                // Offset 0: libfuse collects the whole listing in one buffer (stable for this call).
                if (filler.apply(buf, ByteBuffer.wrap(name), stMemory, 0) != 0) {
                    break;
                }
            }
            return 0;
        });
    }

    @Override
    public int mkdir(String path, long mode) {
        return call(Op.MKDIR, path, () -> {
            fs.mkdir(path, (int) mode, caller());
            return 0;
        });
    }

    @Override
    public int mknod(String path, long mode, long rdev) {
        return call(Op.MKNOD, path, () -> {
            fs.mknod(path, (int) mode, rdev, caller());
            return 0;
        });
    }

    @Override
    public int create(String path, long mode, FuseFileInfo fi) {
        return call(Op.CREATE, path, () -> {
            Inode i = fs.create(path, (int) mode, caller());
            fi.fh.set(handleFor(i.id(), fi));
            return 0;
        });
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        return call(Op.OPEN, path, () -> {
            Inode i = fs.open(path);
            fi.fh.set(handleFor(i.id(), fi));
            return 0;
        });
    }

    @Override
    public int release(String path, FuseFileInfo fi) {
        return call(Op.RELEASE, path, () -> {
            fs.release(handle(fi));
            return 0;
        });
    }

    @Override
    public int flush(String path, FuseFileInfo fi) {
        // close(2): data is already in the engine; durability is fsync's job, as on ext4.
        return call(Op.FLUSH, path, () -> 0);
    }

    @Override
    public int fsync(String path, int isdatasync, FuseFileInfo fi) {
        return call(Op.FSYNC, path, () -> {
            fs.fsync();
            return 0;
        });
    }

    @Override
    public int fsyncdir(String path, FuseFileInfo fi) {
        return call(Op.FSYNCDIR, path, () -> {
            fs.fsync();
            return 0;
        });
    }

    @Override
    public int read(String path, Pointer buf, long size, long offset, FuseFileInfo fi) {
        return call(Op.READ, path, () -> {
            MemorySegment dst = MemorySegment.ofAddress(buf.address()).reinterpret(size);
            return fs.read(handle(fi), offset, dst);
        });
    }

    @Override
    public int write(String path, Pointer buf, long size, long offset, FuseFileInfo fi) {
        return call(Op.WRITE, path, () -> {
            MemorySegment src = MemorySegment.ofAddress(buf.address()).reinterpret(size);
            Writer w = writer();
            return fs.write(handle(fi), offset, src, w.caller(), w.inGroup(), appending(fi));
        });
    }

    @Override
    public int truncate(String path, long size) {
        return call(Op.TRUNCATE, path, () -> {
            Writer w = writer();
            fs.truncate(path, size, w.caller(), w.inGroup());
            return 0;
        });
    }

    @Override
    public int ftruncate(String path, long size, FuseFileInfo fi) {
        return call(Op.FTRUNCATE, path, () -> {
            Writer w = writer();
            fs.truncate(handle(fi), size, w.caller(), w.inGroup());
            return 0;
        });
    }

    @Override
    public int unlink(String path) {
        return call(Op.UNLINK, path, () -> {
            fs.unlink(path);
            return 0;
        });
    }

    @Override
    public int rmdir(String path) {
        return call(Op.RMDIR, path, () -> {
            fs.rmdir(path);
            return 0;
        });
    }

    @Override
    public int rename(String oldpath, String newpath) {
        return call(Op.RENAME, oldpath, () -> {
            fs.rename(oldpath, newpath);
            return 0;
        });
    }

    @Override
    public int link(String oldpath, String newpath) {
        return call(Op.LINK, newpath, () -> {
            fs.link(oldpath, newpath);
            return 0;
        });
    }

    @Override
    public int symlink(String target, String linkpath) {
        return call(Op.SYMLINK, linkpath, () -> {
            fs.symlink(target.getBytes(StandardCharsets.UTF_8), linkpath, caller());
            return 0;
        });
    }

    @Override
    public int readlink(String path, Pointer buf, long size) {
        return call(Op.READLINK, path, () -> {
            byte[] target = fs.readlink(path);
            // libfuse 2 wants a NUL-terminated string, truncated to the buffer.
            int n = (int) Math.min(target.length, size - 1);
            buf.put(0, target, 0, n);
            buf.putByte(n, (byte) 0);
            return 0;
        });
    }

    @Override
    public int chmod(String path, long mode) {
        return call(Op.CHMOD, path, () -> {
            fs.chmod(path, (int) mode);
            return 0;
        });
    }

    @Override
    public int chown(String path, long uid, long gid) {
        return call(Op.CHOWN, path, () -> {
            Writer w = writer(); // the setgid rule needs the caller and its groups
            fs.chown(path, (int) uid, (int) gid, w.caller(), w.inGroup()); // (uid_t) -1 arrives as 0xffffffff
            return 0;
        });
    }

    @Override
    public int utimens(String path, Timespec[] timespec) {
        return call(Op.UTIMENS, path, () -> {
            Timestamp now = Timestamp.now(); // one instant for the whole call, as the kernel takes
            fs.utimens(path, time(timespec[0], now), time(timespec[1], now), now);
            return 0;
        });
    }

    private static Timestamp time(Timespec t, Timestamp now) {
        long nsec = t.tv_nsec.longValue();
        if (nsec == UTIME_OMIT) {
            return null;
        }
        if (nsec == UTIME_NOW) {
            return now;
        }
        return new Timestamp(t.tv_sec.get(), (int) nsec);
    }

    @Override
    public int fallocate(String path, int mode, long offset, long length, FuseFileInfo fi) {
        return call(Op.FALLOCATE, path, () -> {
            Writer w = writer();
            fs.fallocate(handle(fi), mode, offset, length, w.caller(), w.inGroup());
            return 0;
        });
    }

    @Override
    public int setxattr(String path, String name, Pointer value, long size, int flags) {
        return call(Op.SETXATTR, path, () -> {
            byte[] bytes = new byte[(int) Math.min(size, FileSystem.MAX_XATTR_VALUE_BYTES + 1L)];
            if (bytes.length > 0) {
                value.get(0, bytes, 0, bytes.length);
            }
            fs.setxattr(path, name, bytes, flags);
            return 0;
        });
    }

    @Override
    public int getxattr(String path, String name, Pointer value, long size) {
        return call(Op.GETXATTR, path, () -> {
            byte[] bytes = fs.getxattr(path, name);
            return copyOut(bytes, value, size);
        });
    }

    @Override
    public int listxattr(String path, Pointer list, long size) {
        return call(Op.LISTXATTR, path, () -> {
            java.io.ByteArrayOutputStream names = new java.io.ByteArrayOutputStream();
            FuseContext ctx = getContext();
            boolean sysAdmin = ctx.uid.intValue() == 0 || ProcessGroups.hasSysAdmin(ctx.pid.intValue());
            for (String name : fs.listxattr(path, sysAdmin)) {
                names.writeBytes(name.getBytes(StandardCharsets.UTF_8));
                names.write(0);
            }
            if (names.size() > FileSystem.MAX_XATTR_LIST_BYTES) {
                return -ru.serce.jnrfuse.ErrorCodes.E2BIG();
            }
            return copyOut(names.toByteArray(), list, size);
        });
    }

    /** getxattr/listxattr's contract: size 0 asks for the length; a smaller buffer is ERANGE. */
    private static int copyOut(byte[] bytes, Pointer buf, long size) {
        if (size == 0) {
            return bytes.length;
        }
        if (bytes.length > size) {
            return -ru.serce.jnrfuse.ErrorCodes.ERANGE();
        }
        buf.put(0, bytes, 0, bytes.length);
        return bytes.length;
    }

    @Override
    public int removexattr(String path, String name) {
        return call(Op.REMOVEXATTR, path, () -> {
            fs.removexattr(path, name);
            return 0;
        });
    }

    @Override
    public int statfs(String path, Statvfs st) {
        return call(Op.STATFS, path, () -> {
            FsStats s = fs.statfs();
            st.f_bsize.set(s.blockSizeBytes());
            st.f_frsize.set(s.blockSizeBytes());
            st.f_blocks.set(s.totalBlocks());
            st.f_bfree.set(s.freeBlocks());
            st.f_bavail.set(s.freeBlocks());
            st.f_files.set(s.files());
            st.f_ffree.set(s.freeFiles());
            st.f_favail.set(s.freeFiles());
            st.f_namemax.set(s.maxNameBytes());
            return 0;
        });
    }

    @Override
    protected String getFSName() {
        return "d4";
    }
}
