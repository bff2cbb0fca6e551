package d4.it;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.BooleanSupplier;

/**
 * The part of a struct stat that d4 must get exactly as ext4 does, and the rules for what it may
 * not. Left out on purpose:
 * <ul>
 *   <li>st_dev and st_ino: two different file systems (the mount has its own device; d4's inode
 *       numbers are its object ids, docs/semantics.md "st_ino stable across remounts (the object
 *       id)"). Never comparable, so never kept.
 *   <li>st_blksize: a property of the file system's block size.
 *   <li>st_blocks, except zero versus non-zero for regular files without xattrs: allocation
 *       legitimately differs (ext4 counts 4 KiB blocks, extent-tree blocks and delayed-allocation
 *       reservations; d4 counts its own copy-on-write blocks), but "this file has allocated data"
 *       versus "it is all hole" is the same fact on both (docs/semantics.md: "st_blocks counts
 *       allocated 512-byte units (sparse files are honest)"). A file with xattrs is left out: ext4
 *       counts an xattr block that did not fit in the inode in st_blocks, d4 keeps xattrs apart.
 *   <li>absolute times that the kernel took from its clock (see {@link #timeText}); ctime
 *       entirely, since no call sets it to a chosen value.
 *   <li>atime when ext4 changed it: d4 never updates atime (docs/semantics.md, "atime is never
 *       updated (as with noatime)") while ext4 mounts relatime, so after a read the two legitimately
 *       differ. An atime that ext4 kept (one set explicitly by utimensat) must be the same on d4.
 * </ul>
 */
record FuzzStat(int result, int type, int perm, long nlink, int uid, int gid, long size, long rdev, int blocks,
        long mtimeSec, long mtimeNsec, long atimeSec, long atimeNsec) {

    /** No blocks comparison (not a regular file, or one with xattrs). */
    static final int BLOCKS_NA = -1;

    /** @param hasXattrs asked only for a regular file: whether it has any xattr (then blocks are not compared) */
    static FuzzStat of(Sys.Stat st, BooleanSupplier hasXattrs) {
        if (st.result() != 0) {
            return new FuzzStat(st.result(), 0, 0, 0, 0, 0, 0, 0, BLOCKS_NA, 0, 0, 0, 0);
        }
        int blocks = st.type() == Sys.S_IFREG && !hasXattrs.getAsBoolean() ? (st.blocks() == 0 ? 0 : 1) : BLOCKS_NA;
        return new FuzzStat(0, st.type(), st.perm(), st.nlink(), st.uid(), st.gid(), st.size(), st.rdev(), blocks,
                st.mtimeSec(), st.mtimeNsec(), st.atimeSec(), st.atimeNsec());
    }

    /**
     * Times the kernel takes from its clock ("now") differ between any two calls, so they are
     * compared as the class "recent"; times set explicitly by the fuzzer's utimensat (always years
     * away from now) are compared exactly, to the nanosecond. This catches every case where one side
     * changed a time and the other kept it (a write that did not touch mtime, a UTIME_OMIT that
     * was not honoured) without any clock comparison.
     */
    static boolean recent(long sec) {
        return Math.abs(sec - System.currentTimeMillis() / 1000) < 2 * 86_400;
    }

    static String timeText(long sec, long nsec) {
        return recent(sec) ? "recent" : sec + "." + String.format(Locale.ROOT, "%09d", nsec);
    }

    /** The differences of this (d4's) stat from {@code ext4}'s, one "field: d4 vs ext4" line each. */
    List<String> diff(FuzzStat ext4) {
        List<String> out = new ArrayList<>();
        if (result != ext4.result) {
            out.add("result: " + FuzzOutcome.ret(result) + " vs " + FuzzOutcome.ret(ext4.result));
            return out;
        }
        if (result != 0) {
            return out;
        }
        check(out, "type", typeName(type), typeName(ext4.type));
        check(out, "mode", FuzzOp.octal(perm), FuzzOp.octal(ext4.perm));
        check(out, "nlink", nlink, ext4.nlink);
        check(out, "uid", uid, ext4.uid);
        check(out, "gid", gid, ext4.gid);
        check(out, "size", size, ext4.size);
        check(out, "rdev", rdev, ext4.rdev);
        if (blocks != BLOCKS_NA && ext4.blocks != BLOCKS_NA) {
            check(out, "blocks", blocksText(blocks), blocksText(ext4.blocks));
        }
        check(out, "mtime", timeText(mtimeSec, mtimeNsec), timeText(ext4.mtimeSec, ext4.mtimeNsec));
        if (!recent(ext4.atimeSec)) {
            check(out, "atime", timeText(atimeSec, atimeNsec), timeText(ext4.atimeSec, ext4.atimeNsec));
        }
        return out;
    }

    private static void check(List<String> out, String field, Object d4, Object ext4) {
        if (!d4.equals(ext4)) {
            out.add(field + ": " + d4 + " vs " + ext4);
        }
    }

    private static String blocksText(int b) {
        return b == BLOCKS_NA ? "n/a" : b == 0 ? "0" : ">0";
    }

    static String typeName(int type) {
        return switch (type) {
            case Sys.S_IFREG -> "file";
            case Sys.S_IFDIR -> "dir";
            case Sys.S_IFLNK -> "symlink";
            case Sys.S_IFIFO -> "fifo";
            case Sys.S_IFSOCK -> "socket";
            case Sys.S_IFCHR -> "chr";
            case Sys.S_IFBLK -> "blk";
            default -> "type" + FuzzOp.octal(type);
        };
    }

    @Override
    public String toString() {
        if (result != 0) {
            return FuzzOutcome.ret(result);
        }
        return "{" + typeName(type) + " " + FuzzOp.octal(perm) + " nlink=" + nlink + " uid=" + uid + " gid=" + gid
                + " size=" + size + (rdev != 0 ? " rdev=" + rdev : "") + (blocks == BLOCKS_NA ? "" : " blocks" + blocksText(blocks))
                + " mtime=" + timeText(mtimeSec, mtimeNsec) + " atime=" + timeText(atimeSec, atimeNsec) + "}";
    }
}
