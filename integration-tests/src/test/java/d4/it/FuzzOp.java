package d4.it;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One step of a fuzz sequence: plain data, so a sequence can be replayed, shrunk and printed.
 * Paths are relative to the sequence's directory; descriptors are named by slot ({@link FuzzSide}
 * maps a slot to each side's real fd), so the same op means the same thing on d4 and on ext4.
 *
 * <p>{@link #toString()} reads like the C call (for reports); {@link #java()} is a Java expression
 * that rebuilds the op, so that a minimised failing sequence can be pasted into
 * {@code DiffFuzzIT.REGRESSIONS} as it is.
 */
sealed interface FuzzOp {
    /** Slots are grouped into "processes" of this many descriptors (see {@link FuzzSide}). */
    int SLOTS_PER_PROC = 4;
    int PROCS = 3;
    int SLOTS = SLOTS_PER_PROC * PROCS;

    FuzzFamily family();

    /** The Java expression that rebuilds this op. */
    String java();

    /** The paths the op resolves (symlink targets are not among them: they are stored, not resolved). */
    default List<String> paths() {
        return List.of();
    }

    static String slotName(int slot) {
        return "p" + slot / SLOTS_PER_PROC + ".fd" + slot % SLOTS_PER_PROC;
    }

    static String q(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }

    static String octal(int mode) {
        return "0" + Integer.toOctalString(mode);
    }

    /** A Java long literal (octal modes and flags are ints and printed by {@link #octal}). */
    static String l(long v) {
        return v + "L";
    }

    static String openFlags(int flags) {
        List<String> out = new ArrayList<>();
        out.add(switch (flags & 3) {
            case Sys.O_RDONLY -> "O_RDONLY";
            case Sys.O_WRONLY -> "O_WRONLY";
            case Sys.O_RDWR -> "O_RDWR";
            default -> "O_ACCMODE3";
        });
        int[] bits = {Sys.O_CREAT, Sys.O_EXCL, Sys.O_TRUNC, Sys.O_APPEND, Sys.O_DIRECTORY, Sys.O_NOFOLLOW, Sys.O_NONBLOCK};
        String[] names = {"O_CREAT", "O_EXCL", "O_TRUNC", "O_APPEND", "O_DIRECTORY", "O_NOFOLLOW", "O_NONBLOCK"};
        for (int i = 0; i < bits.length; i++) {
            if ((flags & bits[i]) != 0) {
                out.add(names[i]);
            }
        }
        return String.join("|", out);
    }

    static String time(long sec, long nsec) {
        if (nsec == Sys.UTIME_NOW) {
            return "UTIME_NOW";
        }
        if (nsec == Sys.UTIME_OMIT) {
            return "UTIME_OMIT";
        }
        return sec + "." + String.format(Locale.ROOT, "%09d", nsec);
    }

    record Open(int slot, String path, int flags, int mode) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            return FuzzFamily.OPEN;
        }

        public String java() {
            return "new FuzzOp.Open(" + slot + ", " + q(path) + ", " + octal(flags) + ", " + octal(mode) + ")";
        }

        public String toString() {
            return slotName(slot) + " = open(" + q(path) + ", " + openFlags(flags)
                    + ((flags & Sys.O_CREAT) != 0 ? ", " + octal(mode) : "") + ")";
        }
    }

    record Close(int slot) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.OPEN;
        }

        public String java() {
            return "new FuzzOp.Close(" + slot + ")";
        }

        public String toString() {
            return "close(" + slotName(slot) + ")";
        }
    }

    /** dup(2) into another slot, possibly of another "process": the two share one open file description. */
    record Dup(int from, int to) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.OPEN;
        }

        public String java() {
            return "new FuzzOp.Dup(" + from + ", " + to + ")";
        }

        public String toString() {
            return slotName(to) + " = dup(" + slotName(from) + ")";
        }
    }

    /** The data written is {@code FuzzSide.data(dataSeed, length)}. */
    record PWrite(int slot, long offset, int length, long dataSeed) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.IO;
        }

        public String java() {
            return "new FuzzOp.PWrite(" + slot + ", " + l(offset) + ", " + length + ", " + l(dataSeed) + ")";
        }

        public String toString() {
            return "pwrite(" + slotName(slot) + ", <" + length + " bytes #" + dataSeed + ">, " + offset + ")";
        }
    }

    record Write(int slot, int length, long dataSeed) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.IO;
        }

        public String java() {
            return "new FuzzOp.Write(" + slot + ", " + length + ", " + l(dataSeed) + ")";
        }

        public String toString() {
            return "write(" + slotName(slot) + ", <" + length + " bytes #" + dataSeed + ">)";
        }
    }

    record PRead(int slot, long offset, int length) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.IO;
        }

        public String java() {
            return "new FuzzOp.PRead(" + slot + ", " + l(offset) + ", " + length + ")";
        }

        public String toString() {
            return "pread(" + slotName(slot) + ", " + length + ", " + offset + ")";
        }
    }

    record Read(int slot, int length) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.IO;
        }

        public String java() {
            return "new FuzzOp.Read(" + slot + ", " + length + ")";
        }

        public String toString() {
            return "read(" + slotName(slot) + ", " + length + ")";
        }
    }

    /** lseek with SEEK_SET, SEEK_CUR or SEEK_END. */
    record Lseek(int slot, long offset, int whence) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.IO;
        }

        public String java() {
            return "new FuzzOp.Lseek(" + slot + ", " + l(offset) + ", " + whence + ")";
        }

        public String toString() {
            return "lseek(" + slotName(slot) + ", " + offset + ", " + new String[] {"SEEK_SET", "SEEK_CUR", "SEEK_END"}[whence] + ")";
        }
    }

    /**
     * lseek with SEEK_DATA or SEEK_HOLE, checked for validity on each side rather than compared
     * (see {@link FuzzSide}), and the position put back afterwards so that both sides go on alike.
     */
    record SeekProbe(int slot, long offset, int whence) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.IO;
        }

        public String java() {
            return "new FuzzOp.SeekProbe(" + slot + ", " + l(offset) + ", " + whence + ")";
        }

        public String toString() {
            return "lseek(" + slotName(slot) + ", " + offset + ", " + (whence == Sys.SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE")
                    + ") + restore position";
        }
    }

    record FTruncate(int slot, long size) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.TRUNCATE;
        }

        public String java() {
            return "new FuzzOp.FTruncate(" + slot + ", " + l(size) + ")";
        }

        public String toString() {
            return "ftruncate(" + slotName(slot) + ", " + size + ")";
        }
    }

    record Truncate(String path, long size) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            return FuzzFamily.TRUNCATE;
        }

        public String java() {
            return "new FuzzOp.Truncate(" + q(path) + ", " + l(size) + ")";
        }

        public String toString() {
            return "truncate(" + q(path) + ", " + size + ")";
        }
    }

    record FSync(int slot, boolean dataOnly) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.SYNC;
        }

        public String java() {
            return "new FuzzOp.FSync(" + slot + ", " + dataOnly + ")";
        }

        public String toString() {
            return (dataOnly ? "fdatasync(" : "fsync(") + slotName(slot) + ")";
        }
    }

    record FStat(int slot) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.STAT;
        }

        public String java() {
            return "new FuzzOp.FStat(" + slot + ")";
        }

        public String toString() {
            return "fstat(" + slotName(slot) + ")";
        }
    }

    record Stat(String path, boolean follow) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            return FuzzFamily.STAT;
        }

        public String java() {
            return "new FuzzOp.Stat(" + q(path) + ", " + follow + ")";
        }

        public String toString() {
            return (follow ? "stat(" : "lstat(") + q(path) + ")";
        }
    }

    record Mkdir(String path, int mode) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            return FuzzFamily.NAMESPACE;
        }

        public String java() {
            return "new FuzzOp.Mkdir(" + q(path) + ", " + octal(mode) + ")";
        }

        public String toString() {
            return "mkdir(" + q(path) + ", " + octal(mode) + ")";
        }
    }

    record Rmdir(String path) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            return FuzzFamily.NAMESPACE;
        }

        public String java() {
            return "new FuzzOp.Rmdir(" + q(path) + ")";
        }

        public String toString() {
            return "rmdir(" + q(path) + ")";
        }
    }

    record Unlink(String path) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            return FuzzFamily.NAMESPACE;
        }

        public String java() {
            return "new FuzzOp.Unlink(" + q(path) + ")";
        }

        public String toString() {
            return "unlink(" + q(path) + ")";
        }
    }

    record Rename(String from, String to) implements FuzzOp {
        public List<String> paths() {
            return List.of(from, to);
        }

        public FuzzFamily family() {
            return FuzzFamily.NAMESPACE;
        }

        public String java() {
            return "new FuzzOp.Rename(" + q(from) + ", " + q(to) + ")";
        }

        public String toString() {
            return "rename(" + q(from) + ", " + q(to) + ")";
        }
    }

    /** renameat2 with RENAME_NOREPLACE or RENAME_EXCHANGE. */
    record Rename2(String from, String to, int flags) implements FuzzOp {
        public List<String> paths() {
            return List.of(from, to);
        }

        public FuzzFamily family() {
            return FuzzFamily.RENAMEAT2;
        }

        public String java() {
            return "new FuzzOp.Rename2(" + q(from) + ", " + q(to) + ", " + flags + ")";
        }

        public String toString() {
            return "renameat2(" + q(from) + ", " + q(to) + ", "
                    + (flags == FuzzSys.RENAME_NOREPLACE ? "RENAME_NOREPLACE" : flags == FuzzSys.RENAME_EXCHANGE
                            ? "RENAME_EXCHANGE" : Integer.toString(flags)) + ")";
        }
    }

    record Link(String from, String to) implements FuzzOp {
        public List<String> paths() {
            return List.of(from, to);
        }

        public FuzzFamily family() {
            return FuzzFamily.NAMESPACE;
        }

        public String java() {
            return "new FuzzOp.Link(" + q(from) + ", " + q(to) + ")";
        }

        public String toString() {
            return "link(" + q(from) + ", " + q(to) + ")";
        }
    }

    record Symlink(String target, String path) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            return FuzzFamily.NAMESPACE;
        }

        public String java() {
            return "new FuzzOp.Symlink(" + q(target) + ", " + q(path) + ")";
        }

        public String toString() {
            return "symlink(" + q(target) + ", " + q(path) + ")";
        }
    }

    record Readlink(String path) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            return FuzzFamily.NAMESPACE;
        }

        public String java() {
            return "new FuzzOp.Readlink(" + q(path) + ")";
        }

        public String toString() {
            return "readlink(" + q(path) + ")";
        }
    }

    /** mknod: a regular file is ordinary namespace work; FIFOs, sockets and devices are their own family. */
    record Mknod(String path, int mode, long dev) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            int type = mode & Sys.S_IFMT;
            return type == 0 || type == Sys.S_IFREG ? FuzzFamily.NAMESPACE : FuzzFamily.MKNOD;
        }

        public String java() {
            return "new FuzzOp.Mknod(" + q(path) + ", " + octal(mode) + ", " + l(dev) + ")";
        }

        public String toString() {
            return "mknod(" + q(path) + ", " + octal(mode) + ", makedev(" + (dev >> 8) + ", " + (dev & 0xff) + "))";
        }
    }

    record Chmod(String path, int mode) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            return FuzzFamily.ATTR;
        }

        public String java() {
            return "new FuzzOp.Chmod(" + q(path) + ", " + octal(mode) + ")";
        }

        public String toString() {
            return "chmod(" + q(path) + ", " + octal(mode) + ")";
        }
    }

    record FChmod(int slot, int mode) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.ATTR;
        }

        public String java() {
            return "new FuzzOp.FChmod(" + slot + ", " + octal(mode) + ")";
        }

        public String toString() {
            return "fchmod(" + slotName(slot) + ", " + octal(mode) + ")";
        }
    }

    record Chown(String path, int uid, int gid, boolean follow) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            return FuzzFamily.ATTR;
        }

        public String java() {
            return "new FuzzOp.Chown(" + q(path) + ", " + uid + ", " + gid + ", " + follow + ")";
        }

        public String toString() {
            return (follow ? "chown(" : "lchown(") + q(path) + ", " + uid + ", " + gid + ")";
        }
    }

    record FChown(int slot, int uid, int gid) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.ATTR;
        }

        public String java() {
            return "new FuzzOp.FChown(" + slot + ", " + uid + ", " + gid + ")";
        }

        public String toString() {
            return "fchown(" + slotName(slot) + ", " + uid + ", " + gid + ")";
        }
    }

    /** utimensat(AT_FDCWD, path, {atime, mtime}, follow ? 0 : AT_SYMLINK_NOFOLLOW). */
    record Utimens(String path, long aSec, long aNsec, long mSec, long mNsec, boolean follow) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            return FuzzFamily.ATTR;
        }

        public String java() {
            return "new FuzzOp.Utimens(" + q(path) + ", " + l(aSec) + ", " + l(aNsec) + ", " + l(mSec) + ", " + l(mNsec)
                    + ", " + follow + ")";
        }

        public String toString() {
            return "utimensat(" + q(path) + ", {" + time(aSec, aNsec) + ", " + time(mSec, mNsec) + "}"
                    + (follow ? "" : ", AT_SYMLINK_NOFOLLOW") + ")";
        }
    }

    record Access(String path, int mode) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            return FuzzFamily.ATTR;
        }

        public String java() {
            return "new FuzzOp.Access(" + q(path) + ", " + mode + ")";
        }

        public String toString() {
            String m = mode == 0 ? "F_OK" : ((mode & 4) != 0 ? "R" : "") + ((mode & 2) != 0 ? "W" : "") + ((mode & 1) != 0 ? "X" : "") + "_OK";
            return "access(" + q(path) + ", " + m + ")";
        }
    }

    /** What an xattr call names: a path (followed or not, the l* calls) or a descriptor (the f* calls). */
    record XattrTarget(String path, boolean follow, int slot) {
        static XattrTarget path(String path, boolean follow) {
            return new XattrTarget(path, follow, -1);
        }

        static XattrTarget fd(int slot) {
            return new XattrTarget(null, true, slot);
        }

        String prefix() {
            return path == null ? "f" : follow ? "" : "l";
        }

        String arg() {
            return path == null ? slotName(slot) : q(path);
        }

        String java() {
            return path == null ? "FuzzOp.XattrTarget.fd(" + slot + ")" : "FuzzOp.XattrTarget.path(" + q(path) + ", " + follow + ")";
        }
    }

    record SetXattr(XattrTarget target, String name, int length, long dataSeed, int flags) implements FuzzOp {
        public List<String> paths() {
            return target.path() == null ? List.of() : List.of(target.path());
        }

        public FuzzFamily family() {
            return FuzzFamily.XATTR;
        }

        public String java() {
            return "new FuzzOp.SetXattr(" + target.java() + ", " + q(name) + ", " + length + ", " + l(dataSeed) + ", " + flags + ")";
        }

        public String toString() {
            return target.prefix() + "setxattr(" + target.arg() + ", " + q(name) + ", <" + length + " bytes #" + dataSeed
                    + ">, " + (flags == 0 ? "0" : flags == Sys.XATTR_CREATE ? "XATTR_CREATE" : "XATTR_REPLACE") + ")";
        }
    }

    record GetXattr(XattrTarget target, String name, int size) implements FuzzOp {
        public List<String> paths() {
            return target.path() == null ? List.of() : List.of(target.path());
        }

        public FuzzFamily family() {
            return FuzzFamily.XATTR;
        }

        public String java() {
            return "new FuzzOp.GetXattr(" + target.java() + ", " + q(name) + ", " + size + ")";
        }

        public String toString() {
            return target.prefix() + "getxattr(" + target.arg() + ", " + q(name) + ", buf[" + size + "])";
        }
    }

    record ListXattr(XattrTarget target, int size) implements FuzzOp {
        public List<String> paths() {
            return target.path() == null ? List.of() : List.of(target.path());
        }

        public FuzzFamily family() {
            return FuzzFamily.XATTR;
        }

        public String java() {
            return "new FuzzOp.ListXattr(" + target.java() + ", " + size + ")";
        }

        public String toString() {
            return target.prefix() + "listxattr(" + target.arg() + ", buf[" + size + "])";
        }
    }

    record RemoveXattr(XattrTarget target, String name) implements FuzzOp {
        public List<String> paths() {
            return target.path() == null ? List.of() : List.of(target.path());
        }

        public FuzzFamily family() {
            return FuzzFamily.XATTR;
        }

        public String java() {
            return "new FuzzOp.RemoveXattr(" + target.java() + ", " + q(name) + ")";
        }

        public String toString() {
            return target.prefix() + "removexattr(" + target.arg() + ", " + q(name) + ")";
        }
    }

    record Fallocate(int slot, int mode, long offset, long length) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.FALLOCATE;
        }

        public String java() {
            return "new FuzzOp.Fallocate(" + slot + ", " + mode + ", " + l(offset) + ", " + l(length) + ")";
        }

        public String toString() {
            List<String> m = new ArrayList<>();
            if ((mode & Sys.FALLOC_FL_KEEP_SIZE) != 0) {
                m.add("KEEP_SIZE");
            }
            if ((mode & Sys.FALLOC_FL_PUNCH_HOLE) != 0) {
                m.add("PUNCH_HOLE");
            }
            if ((mode & FuzzSys.FALLOC_FL_ZERO_RANGE) != 0) {
                m.add("ZERO_RANGE");
            }
            return "fallocate(" + slotName(slot) + ", " + (m.isEmpty() ? "0" : String.join("|", m)) + ", " + offset + ", " + length + ")";
        }
    }

    /** flock(2), always with LOCK_NB when locking, so that no step can block. */
    record Flock(int slot, int op) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.LOCK;
        }

        public String java() {
            return "new FuzzOp.Flock(" + slot + ", " + op + ")";
        }

        public String toString() {
            String o = (op & Sys.LOCK_UN) != 0 ? "LOCK_UN" : (op & Sys.LOCK_EX) != 0 ? "LOCK_EX" : "LOCK_SH";
            return "flock(" + slotName(slot) + ", " + o + ((op & Sys.LOCK_NB) != 0 ? "|LOCK_NB" : "") + ")";
        }
    }

    /** fcntl record locks: F_OFD_SETLK/F_OFD_GETLK (per open file description) or F_SETLK/F_GETLK. */
    record FcntlLock(int slot, int cmd, int type, long start, long len) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.LOCK;
        }

        public String java() {
            return "new FuzzOp.FcntlLock(" + slot + ", " + cmd + ", " + type + ", " + l(start) + ", " + l(len) + ")";
        }

        public String toString() {
            String c = switch (cmd) {
                case FuzzSys.F_OFD_GETLK -> "F_OFD_GETLK";
                case FuzzSys.F_OFD_SETLK -> "F_OFD_SETLK";
                case Sys.F_GETLK -> "F_GETLK";
                case Sys.F_SETLK -> "F_SETLK";
                default -> Integer.toString(cmd);
            };
            String t = new String[] {"F_RDLCK", "F_WRLCK", "F_UNLCK"}[type];
            return "fcntl(" + slotName(slot) + ", " + c + ", {" + t + ", SEEK_SET, " + start + ", " + len + "})";
        }
    }

    /** open(O_DIRECTORY) + getdents64 to the end + close: the listing as a sorted set of (name, d_type). */
    record ListDir(String path) implements FuzzOp {
        public List<String> paths() {
            return List.of(path);
        }

        public FuzzFamily family() {
            return FuzzFamily.READDIR;
        }

        public String java() {
            return "new FuzzOp.ListDir(" + q(path) + ")";
        }

        public String toString() {
            return "getdents64(" + q(path) + ")";
        }
    }

    /** From here on, calls run with this fsuid/fsgid (setfsuid/setfsgid around each call). */
    record AsUser(int uid, int gid) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.CRED;
        }

        public String java() {
            return "new FuzzOp.AsUser(" + uid + ", " + gid + ")";
        }

        public String toString() {
            return "--- as fsuid " + uid + ", fsgid " + gid + " ---";
        }
    }

    /**
     * Waits: never generated, for hand-written sequences. Waiting past the mount's attr_timeout and
     * entry_timeout (1 s) tells a stale kernel cache (the difference goes away) from a wrong answer
     * of d4 itself (it stays).
     */
    record Sleep(long millis) implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.CHECK;
        }

        public String java() {
            return "new FuzzOp.Sleep(" + millis + ")";
        }

        public String toString() {
            return "sleep " + millis + " ms";
        }
    }

    /** Closes every open slot, lowest first (the end of every generated sequence). */
    record CloseAll() implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.OPEN;
        }

        public String java() {
            return "new FuzzOp.CloseAll()";
        }

        public String toString() {
            return "close every open descriptor";
        }
    }

    /**
     * Compares the whole trees: listings, lstat of every entry, symlink targets, file contents,
     * xattrs, and fstat and contents through every open slot. Generated periodically and at the end.
     */
    record CheckTree() implements FuzzOp {
        public FuzzFamily family() {
            return FuzzFamily.CHECK;
        }

        public String java() {
            return "new FuzzOp.CheckTree()";
        }

        public String toString() {
            return "compare both trees";
        }
    }
}
