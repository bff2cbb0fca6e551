package d4.it;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The whole-tree comparison ({@link FuzzOp.CheckTree}): both trees walked together, as root,
 * comparing every directory's listing, the lstat of every entry, symlink targets, regular files'
 * contents and (when xattrs are in the mix) every xattr; then fstat and contents through every
 * open slot, which is the only way to see files that were unlinked while open.
 */
final class FuzzTree {
    private FuzzTree() {}

    /** Files up to this size are compared whole; larger (sparse, over 4 GiB) ones by windows. */
    static final long WHOLE_FILE_BYTES = 8L << 20;
    private static final int CHUNK = 128 * 1024;

    static FuzzDiff compare(FuzzSide d4, FuzzSide ext4, boolean xattrs) {
        FuzzDiff d = compareDir(d4, ext4, "", xattrs);
        if (d != null) {
            return d;
        }
        for (int s = 0; s < FuzzOp.SLOTS; s++) {
            if (d4.isOpen(s) != ext4.isOpen(s)) {
                return new FuzzDiff("tree.slot", FuzzOp.slotName(s) + (d4.isOpen(s) ? " open" : " closed"),
                        FuzzOp.slotName(s) + (ext4.isOpen(s) ? " open" : " closed"));
            }
            if (!d4.isOpen(s)) {
                continue;
            }
            int fa = d4.fd(s);
            int fb = ext4.fd(s);
            FuzzStat a = FuzzStat.of(Sys.fstat(fa), () -> FuzzSys.flistxattr(fa, 0).result() > 0);
            FuzzStat b = FuzzStat.of(Sys.fstat(fb), () -> FuzzSys.flistxattr(fb, 0).result() > 0);
            List<String> sd = a.diff(b);
            if (!sd.isEmpty()) {
                return new FuzzDiff("tree.fstat." + fields(sd), "fstat(" + FuzzOp.slotName(s) + ") " + a + " " + sd, b.toString());
            }
            if (b.type() == Sys.S_IFREG && d4.readable(s) && ext4.readable(s)) {
                String c = content(d4.fd(s), ext4.fd(s), b.size());
                if (c != null) {
                    return new FuzzDiff("tree.fdcontent", "through " + FuzzOp.slotName(s) + ": " + c, "");
                }
            }
        }
        return null;
    }

    private static String fields(List<String> statDiff) {
        return String.join(",", statDiff.stream().map(x -> x.substring(0, x.indexOf(':'))).toList());
    }

    private static FuzzDiff compareDir(FuzzSide d4, FuzzSide ext4, String rel, boolean xattrs) {
        String la = d4.listing(rel, false);
        String lb = ext4.listing(rel, false);
        if (!la.equals(lb)) {
            return new FuzzDiff("tree.listing", "/" + rel + ": " + la, lb);
        }
        if (!lb.startsWith("[")) {
            return null; // the same errno on both
        }
        for (String entry : lb.substring(1, lb.length() - 1).split(", ")) {
            String name = entry.substring(0, entry.lastIndexOf(':'));
            if (name.equals(".") || name.equals("..")) {
                continue;
            }
            String p = rel.isEmpty() ? name : rel + "/" + name;
            FuzzStat a = FuzzStat.of(Sys.lstat(d4.path(p)), () -> Sys.llistxattr(d4.path(p), 0).result() > 0);
            FuzzStat b = FuzzStat.of(Sys.lstat(ext4.path(p)), () -> Sys.llistxattr(ext4.path(p), 0).result() > 0);
            List<String> sd = a.diff(b);
            if (!sd.isEmpty()) {
                return new FuzzDiff("tree.stat." + fields(sd), p + " " + a + " " + sd, b.toString());
            }
            if (xattrs) {
                String xa = xattrs(d4.path(p));
                String xb = xattrs(ext4.path(p));
                if (!xa.equals(xb)) {
                    return new FuzzDiff("tree.xattrs", p + " " + xa, xb);
                }
            }
            switch (b.type()) {
                case Sys.S_IFLNK -> {
                    Sys.Bytes ta = Sys.readlink(d4.path(p));
                    Sys.Bytes tb = Sys.readlink(ext4.path(p));
                    if (!ta.equals(tb)) {
                        return new FuzzDiff("tree.readlink", p + " -> " + text(ta), text(tb));
                    }
                }
                case Sys.S_IFREG -> {
                    int fa = Sys.open(d4.path(p), Sys.O_RDONLY | Sys.O_NOFOLLOW | Sys.O_NONBLOCK);
                    int fb = Sys.open(ext4.path(p), Sys.O_RDONLY | Sys.O_NOFOLLOW | Sys.O_NONBLOCK);
                    try {
                        if ((fa < 0) != (fb < 0)) {
                            return new FuzzDiff("tree.open", p + " " + FuzzOutcome.ret(fa), FuzzOutcome.ret(fb));
                        }
                        String c = fa < 0 ? null : content(fa, fb, b.size());
                        if (c != null) {
                            return new FuzzDiff("tree.content", p + ": " + c, "");
                        }
                    } finally {
                        if (fa >= 0) {
                            Sys.close(fa);
                        }
                        if (fb >= 0) {
                            Sys.close(fb);
                        }
                    }
                }
                case Sys.S_IFDIR -> {
                    FuzzDiff d = compareDir(d4, ext4, p, xattrs);
                    if (d != null) {
                        return d;
                    }
                }
                default -> {
                    // FIFOs, sockets and devices: the lstat (type, rdev) is all there is.
                }
            }
        }
        return null;
    }

    private static String text(Sys.Bytes b) {
        return b.data() == null ? FuzzOutcome.ret(b.result()) : '"' + new String(b.data()) + '"';
    }

    /** Every xattr by name with its value's hash, sorted; or the errno of llistxattr. */
    private static String xattrs(String path) {
        Sys.Bytes list = Sys.llistxattr(path, 65536);
        if (list.result() < 0) {
            return FuzzOutcome.ret(list.result());
        }
        List<String> out = new ArrayList<>();
        for (String n : Sys.xattrNames(list)) {
            Sys.Bytes v = Sys.lgetxattr(path, n, 65536);
            out.add(n + "=" + (v.data() == null ? FuzzOutcome.ret(v.result()) : v.result() + ":" + Arrays.hashCode(v.data())));
        }
        return out.toString();
    }

    /**
     * Compares the contents read through two descriptors, or says where they differ. Files of up
     * to {@link #WHOLE_FILE_BYTES} are read whole. Larger ones are sparse files with data over
     * 4 GiB: reading them whole through FUSE would take minutes, so the windows are every data
     * extent ext4 reports (SEEK_DATA/SEEK_HOLE on the ext4 side, exact there), and in every hole
     * its first and last 64 KiB and 4 KiB from its middle; d4 must read zeros there.
     */
    static String content(int d4Fd, int ext4Fd, long size) {
        for (long[] w : windows(ext4Fd, size)) {
            for (long at = w[0]; at < w[1]; at += CHUNK) {
                int n = (int) Math.min(CHUNK, w[1] - at);
                Sys.Bytes a = Sys.pread(d4Fd, n, at);
                Sys.Bytes b = Sys.pread(ext4Fd, n, at);
                if (!a.equals(b)) {
                    if (a.data() == null || b.data() == null || a.result() != b.result()) {
                        return "pread(" + n + " at " + at + ") gave " + a + " vs " + b;
                    }
                    int i = Arrays.mismatch(a.data(), b.data());
                    return "bytes differ from offset " + (at + i) + ": d4 " + FuzzOutcome.describeData(a.data(), b.data())
                            + " / ext4 " + FuzzOutcome.describeData(b.data(), a.data()) + " (chunk at " + at + ")";
                }
            }
        }
        return null;
    }

    private static List<long[]> windows(int ext4Fd, long size) {
        List<long[]> out = new ArrayList<>();
        if (size <= WHOLE_FILE_BYTES) {
            out.add(new long[] {0, size});
            return out;
        }
        // The descriptor may be a slot's: its file position is part of the state under test, so put it back.
        long position = Sys.lseek(ext4Fd, 0, Sys.SEEK_CUR);
        List<long[]> data = new ArrayList<>();
        for (long pos = 0; pos < size; ) {
            long d = Sys.lseek(ext4Fd, pos, Sys.SEEK_DATA);
            if (d < 0) {
                break;
            }
            long h = Sys.lseek(ext4Fd, d, Sys.SEEK_HOLE);
            if (h <= d) {
                h = size;
            }
            data.add(new long[] {d, h});
            pos = h;
        }
        Sys.lseek(ext4Fd, position, Sys.SEEK_SET);
        long prevEnd = 0;
        data.add(new long[] {size, size});
        for (long[] seg : data) {
            long holeStart = prevEnd;
            long holeEnd = seg[0];
            if (holeEnd > holeStart) {
                out.add(new long[] {holeStart, Math.min(holeEnd, holeStart + 65536)});
                long mid = holeStart + (holeEnd - holeStart) / 2;
                out.add(new long[] {mid, Math.min(holeEnd, mid + 4096)});
                out.add(new long[] {Math.max(holeStart, holeEnd - 65536), holeEnd});
            }
            if (seg[1] > seg[0]) {
                out.add(seg);
            }
            prevEnd = seg[1];
        }
        return out;
    }
}
