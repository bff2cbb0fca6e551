package d4.fs;

import d4.engine.Decoder;
import d4.engine.Encoder;
import d4.engine.ObjectInfo;

/**
 * A file, directory or symlink as POSIX sees it. The inode number is the engine object's id; the
 * other fields are stored in the object's attribute bytes (layout in docs/format.md, "Inode
 * attributes"), except size and allocated bytes, which the engine keeps for every object.
 *
 * @param parent the containing directory (directories only, for ".."; 0 otherwise)
 * @param symlinkTarget the raw target bytes (symlinks only; empty otherwise)
 */
public record Inode(
        long id,
        int mode,
        int uid,
        int gid,
        int nlink,
        long rdev,
        long sizeBytes,
        long allocatedBytes,
        Timestamp atime,
        Timestamp mtime,
        Timestamp ctime,
        Timestamp btime,
        long parent,
        byte[] symlinkTarget) {

    public static final int S_IFMT = 0170000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFIFO = 0010000;
    public static final int S_IFSOCK = 0140000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFBLK = 0060000;
    static final int ATTRS_VERSION = 1;

    public int typeBits() {
        return mode & S_IFMT;
    }

    public boolean isDirectory() {
        return typeBits() == S_IFDIR;
    }

    public boolean isRegular() {
        return typeBits() == S_IFREG;
    }

    public boolean isSymlink() {
        return typeBits() == S_IFLNK;
    }

    Inode withMode(int newMode) {
        return new Inode(id, newMode, uid, gid, nlink, rdev, sizeBytes, allocatedBytes, atime, mtime, ctime, btime, parent,
                symlinkTarget);
    }

    Inode withOwner(int newUid, int newGid) {
        return new Inode(id, mode, newUid, newGid, nlink, rdev, sizeBytes, allocatedBytes, atime, mtime, ctime, btime,
                parent, symlinkTarget);
    }

    Inode withNlink(int n) {
        return new Inode(id, mode, uid, gid, n, rdev, sizeBytes, allocatedBytes, atime, mtime, ctime, btime, parent,
                symlinkTarget);
    }

    Inode withTimes(Timestamp a, Timestamp m, Timestamp c) {
        return new Inode(id, mode, uid, gid, nlink, rdev, sizeBytes, allocatedBytes, a, m, c, btime, parent, symlinkTarget);
    }

    Inode withParent(long p) {
        return new Inode(id, mode, uid, gid, nlink, rdev, sizeBytes, allocatedBytes, atime, mtime, ctime, btime, p,
                symlinkTarget);
    }

    byte[] encodeAttrs() {
        Encoder e = new Encoder(96 + symlinkTarget.length);
        e.u8(ATTRS_VERSION).i32(mode).i32(uid).i32(gid).i32(nlink).i64(rdev).i64(parent);
        for (Timestamp t : new Timestamp[] {atime, mtime, ctime, btime}) {
            e.i64(t.seconds()).i32(t.nanos());
        }
        e.blob(symlinkTarget);
        return e.toByteArray();
    }

    static Inode decode(ObjectInfo info) {
        Decoder d = new Decoder(info.attrs(), "inode attributes of object " + info.id().value());
        int version = d.u8();
        if (version != ATTRS_VERSION) {
            throw new d4.engine.D4Exception.Corruption("inode attributes of object " + info.id().value()
                    + " have unknown version " + version);
        }
        int mode = d.i32();
        int uid = d.i32();
        int gid = d.i32();
        int nlink = d.i32();
        long rdev = d.i64();
        long parent = d.i64();
        Timestamp[] t = new Timestamp[4];
        for (int i = 0; i < 4; i++) {
            t[i] = new Timestamp(d.i64(), d.i32());
        }
        byte[] target = d.blob(4095);
        return new Inode(info.id().value(), mode, uid, gid, nlink, rdev, info.sizeBytes(), info.allocatedBytes(), t[0], t[1],
                t[2], t[3], parent, target);
    }
}
