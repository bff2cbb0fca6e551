package d4.it;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Generates a random op sequence, deterministic given the seed (and ext4's behaviour). To make
 * collisions frequent the name space is tiny: eight names per directory, three levels deep; and
 * about half of all paths are ones that exist right now on the ext4 side (the reference), so that
 * ops mostly hit something. Likewise descriptor ops mostly pick slots that are open on ext4.
 * Looking at the reference's state only steers the choice: the op itself is plain data, so a
 * recorded sequence replays the same whatever either side does.
 */
final class FuzzGen {
    static final String[] NAMES = {"a", "b", "c", "d", "e", "f", "g", "h"};
    private static final long GIB4 = 1L << 32;
    /** Explicit times are years away from now, so {@link FuzzStat#recent} tells them apart (1960s, 1990s, 2100s). */
    private static final long[] TIME_BASES = {-315_619_200L, 631_152_000L, 4_102_444_800L};
    private static final int[] MODES = {0644, 0600, 0755, 0700, 0444, 0000, 0777, 04755, 02755, 01777, 02775, 06711, 0640, 0222};
    private static final int[] IDS = {-1, 0, 1000, 1234, 4321, 65534};
    /** "user.a" twice: one name that is hit often, so XATTR_CREATE/XATTR_REPLACE meet existing values. */
    private static final String[] XATTR_NAMES = {"user.a", "user.b", "user.c", "user.long.attribute.name", "user.a"};

    private final SplittableRandom rnd;
    private final FuzzMix mix;
    private final FuzzSide ext4;
    private final FuzzSide d4;
    private final int checkEvery;
    private final List<Choice> choices = new ArrayList<>();
    private int totalWeight;
    private int step;
    private List<String[]> existing; // {rel, type} of everything under the ext4 side's root; null = walk again

    private record Choice(int weight, FuzzFamily family, Supplier<FuzzOp> make) {}

    /**
     * @param ext4 the reference, whose state steers the choices
     * @param d4 only mirrors the reference's observations (see {@link #walk})
     */
    FuzzGen(long seed, FuzzMix mix, FuzzSide ext4, FuzzSide d4, int checkEvery) {
        this.rnd = new SplittableRandom(seed);
        this.mix = mix;
        this.ext4 = ext4;
        this.d4 = d4;
        this.checkEvery = checkEvery;
        add(14, FuzzFamily.OPEN, this::open);
        add(5, FuzzFamily.OPEN, () -> new FuzzOp.Close(slot()));
        add(1, FuzzFamily.OPEN, () -> new FuzzOp.Dup(slot(), rnd.nextInt(FuzzOp.SLOTS)));
        add(10, FuzzFamily.IO, () -> new FuzzOp.PWrite(slot(), offset(), length(), rnd.nextLong()));
        add(5, FuzzFamily.IO, () -> new FuzzOp.Write(slot(), length(), rnd.nextLong()));
        add(8, FuzzFamily.IO, () -> new FuzzOp.PRead(slot(), offset(), length() + 1));
        add(4, FuzzFamily.IO, () -> new FuzzOp.Read(slot(), length() + 1));
        add(3, FuzzFamily.IO, () -> new FuzzOp.Lseek(slot(), rnd.nextInt(10) == 0 ? -rnd.nextInt(1, 5000) : offset(), rnd.nextInt(3)));
        add(2, FuzzFamily.IO, () -> new FuzzOp.SeekProbe(slot(), offset(), rnd.nextBoolean() ? Sys.SEEK_DATA : Sys.SEEK_HOLE));
        add(4, FuzzFamily.TRUNCATE, () -> new FuzzOp.FTruncate(slot(), size()));
        add(2, FuzzFamily.TRUNCATE, () -> new FuzzOp.Truncate(path(), size()));
        add(1, FuzzFamily.SYNC, () -> new FuzzOp.FSync(slot(), rnd.nextBoolean()));
        add(3, FuzzFamily.STAT, () -> new FuzzOp.FStat(slot()));
        add(5, FuzzFamily.STAT, () -> new FuzzOp.Stat(path(), rnd.nextBoolean()));
        add(8, FuzzFamily.NAMESPACE, () -> new FuzzOp.Mkdir(path(), mode()));
        add(3, FuzzFamily.NAMESPACE, () -> new FuzzOp.Rmdir(path()));
        add(4, FuzzFamily.NAMESPACE, () -> new FuzzOp.Unlink(path()));
        add(7, FuzzFamily.NAMESPACE, this::rename);
        add(3, FuzzFamily.NAMESPACE, () -> new FuzzOp.Link(path(), path()));
        add(3, FuzzFamily.NAMESPACE, this::symlink);
        add(2, FuzzFamily.NAMESPACE, () -> new FuzzOp.Readlink(path()));
        add(1, FuzzFamily.NAMESPACE, () -> new FuzzOp.Mknod(path(), (rnd.nextBoolean() ? Sys.S_IFREG : 0) | mode(), 0));
        add(3, FuzzFamily.MKNOD, this::mknod);
        add(3, FuzzFamily.ATTR, () -> new FuzzOp.Chmod(path(), mode()));
        add(1, FuzzFamily.ATTR, () -> new FuzzOp.FChmod(slot(), mode()));
        add(2, FuzzFamily.ATTR, () -> new FuzzOp.Chown(path(), id(), id(), rnd.nextBoolean()));
        add(1, FuzzFamily.ATTR, () -> new FuzzOp.FChown(slot(), id(), id()));
        add(3, FuzzFamily.ATTR, this::utimens);
        add(2, FuzzFamily.ATTR, () -> new FuzzOp.Access(path(), rnd.nextInt(8)));
        add(3, FuzzFamily.READDIR, () -> new FuzzOp.ListDir(rnd.nextInt(6) == 0 ? "." : dirPath()));
        add(3, FuzzFamily.XATTR, () -> new FuzzOp.SetXattr(xattrTarget(), xattrName(), xattrLength(), rnd.nextLong(),
                rnd.nextInt(3)));
        add(3, FuzzFamily.XATTR, () -> new FuzzOp.GetXattr(xattrTarget(), xattrName(), bufferSize()));
        add(2, FuzzFamily.XATTR, () -> new FuzzOp.ListXattr(xattrTarget(), bufferSize()));
        add(2, FuzzFamily.XATTR, () -> new FuzzOp.RemoveXattr(xattrTarget(), xattrName()));
        add(4, FuzzFamily.FALLOCATE, this::fallocate);
        add(2, FuzzFamily.LOCK, () -> new FuzzOp.Flock(slot(), pick(Sys.LOCK_SH | Sys.LOCK_NB, Sys.LOCK_EX | Sys.LOCK_NB, Sys.LOCK_UN)));
        add(3, FuzzFamily.LOCK, () -> new FuzzOp.FcntlLock(slot(),
                pick(FuzzSys.F_OFD_SETLK, FuzzSys.F_OFD_SETLK, FuzzSys.F_OFD_GETLK, Sys.F_SETLK, Sys.F_GETLK),
                rnd.nextInt(3), rnd.nextInt(200), rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(1, 100)));
        add(2, FuzzFamily.RENAMEAT2, () -> new FuzzOp.Rename2(path(), path(),
                rnd.nextBoolean() ? FuzzSys.RENAME_NOREPLACE : FuzzSys.RENAME_EXCHANGE));
        add(1, FuzzFamily.CRED, () -> rnd.nextInt(3) == 0 ? new FuzzOp.AsUser(0, 0)
                : new FuzzOp.AsUser(pick(1000, 4321), pick(1000, 100, 4321)));
    }

    private void add(int weight, FuzzFamily family, Supplier<FuzzOp> make) {
        if (!mix.excludes(family)) {
            choices.add(new Choice(weight, family, make));
            totalWeight += weight;
        }
    }

    FuzzOp next() {
        step++;
        if (checkEvery > 0 && step % checkEvery == 0) {
            return new FuzzOp.CheckTree();
        }
        // An excluded op (op:NAME) is drawn again; so is an op of an excluded family that a choice
        // of another family made (mknod of a FIFO is MKNOD, of a file NAMESPACE).
        for (int draw = 0; draw < 10_000; draw++) {
            FuzzOp op = choose();
            if (!mix.excludes(op.family(), op.getClass().getSimpleName())) {
                return op;
            }
        }
        throw new IllegalArgumentException("-Dd4.fuzz.exclude=" + mix + " leaves (almost) no op to generate");
    }

    private FuzzOp choose() {
        if (totalWeight == 0) {
            throw new IllegalArgumentException("-Dd4.fuzz.exclude=" + mix + " leaves no op to generate");
        }
        int r = rnd.nextInt(totalWeight);
        for (Choice c : choices) {
            r -= c.weight;
            if (r < 0) {
                FuzzOp op = c.make.get();
                if (!(op instanceof FuzzOp.PWrite || op instanceof FuzzOp.Write || op instanceof FuzzOp.PRead
                        || op instanceof FuzzOp.Read || op instanceof FuzzOp.Stat || op instanceof FuzzOp.FStat)) {
                    existing = null; // anything else may have changed the tree: look again next time
                }
                return op;
            }
        }
        throw new AssertionError();
    }

    private int pick(int... values) {
        return values[rnd.nextInt(values.length)];
    }

    // ------------------------------------------------------------------------------------------
    // Paths

    private List<String[]> existing() {
        if (existing == null) {
            existing = new ArrayList<>();
            walk("", 0);
        }
        return existing;
    }

    /**
     * Lists the reference's tree. Every directory listed on ext4 is listed on d4 too, and the d4
     * answer ignored: listing opens and closes the directory, and a close drops every classic
     * POSIX lock this process holds on that inode, so an observation made on one side only would
     * change that side's state alone (and make a lock differ that no op of the sequence touched).
     */
    private void walk(String rel, int depth) {
        String listing = ext4.listing(rel, false);
        d4.listing(rel, false);
        if (!listing.startsWith("[") || depth > 4) {
            return;
        }
        for (String entry : listing.substring(1, listing.length() - 1).split(", ")) {
            int colon = entry.lastIndexOf(':');
            if (colon < 0) {
                continue;
            }
            String name = entry.substring(0, colon);
            if (name.equals(".") || name.equals("..")) {
                continue;
            }
            String p = rel.isEmpty() ? name : rel + "/" + name;
            int type = Integer.parseInt(entry.substring(colon + 1));
            existing.add(new String[] {p, Integer.toString(type)});
            if (type == FuzzSys.DT_DIR) {
                walk(p, depth + 1);
            }
        }
    }

    private String randomPath() {
        int depth = rnd.nextInt(100) < 45 ? 1 : rnd.nextInt(100) < 65 ? 2 : 3;
        StringBuilder p = new StringBuilder();
        for (int i = 0; i < depth; i++) {
            p.append(i == 0 ? "" : "/").append(NAMES[rnd.nextInt(NAMES.length)]);
        }
        return p.toString();
    }

    /**
     * Any path: mostly an existing one, or a new name in an existing directory (so that trees grow
     * deep), sometimes a random one (mostly missing parents), rarely with a trailing "/" or "/.".
     */
    String path() {
        List<String[]> ex = existing();
        List<String[]> dirs = ex.stream().filter(e -> e[1].equals(Integer.toString(FuzzSys.DT_DIR))).toList();
        String p;
        int r = rnd.nextInt(100);
        if (r < 45 && !ex.isEmpty()) {
            p = ex.get(rnd.nextInt(ex.size()))[0];
        } else if (r < 70 && !dirs.isEmpty()) {
            p = dirs.get(rnd.nextInt(dirs.size()))[0] + "/" + NAMES[rnd.nextInt(NAMES.length)];
        } else if (r < 73 && !ex.isEmpty()) {
            p = ex.get(rnd.nextInt(ex.size()))[0] + "/" + NAMES[rnd.nextInt(NAMES.length)]; // often ENOTDIR
        } else {
            p = randomPath();
        }
        int tail = rnd.nextInt(100);
        return tail < 3 ? p + "/" : tail < 4 ? p + "/." : p;
    }

    private String dirPath() {
        List<String[]> dirs = existing().stream().filter(e -> e[1].equals(Integer.toString(FuzzSys.DT_DIR))).toList();
        return !dirs.isEmpty() && rnd.nextInt(4) != 0 ? dirs.get(rnd.nextInt(dirs.size()))[0] : path();
    }

    private FuzzOp rename() {
        String from = path();
        int r = rnd.nextInt(100);
        String to;
        if (r < 8) {
            to = from + "/" + NAMES[rnd.nextInt(NAMES.length)]; // into its own subtree: EINVAL (or ENOTDIR/ENOENT)
        } else if (r < 14 && from.contains("/")) {
            to = from.substring(0, from.lastIndexOf('/')); // over its own parent: ENOTEMPTY, EINVAL, ...
        } else {
            to = path();
        }
        return new FuzzOp.Rename(from, to);
    }

    /**
     * Relative targets that do not leave the sequence's directory where they are made: siblings,
     * deeper paths, "../", loops, dangling names. (A rename can still carry a link higher up; the
     * runner does not run ops whose paths then lead outside.)
     */
    private FuzzOp symlink() {
        String p = path();
        int depth = (int) p.chars().filter(c -> c == '/').count();
        int r = rnd.nextInt(100);
        String target;
        if (r < 35) {
            target = NAMES[rnd.nextInt(NAMES.length)];
        } else if (r < 65) {
            target = "../".repeat(rnd.nextInt(depth + 1)) + randomPath();
        } else if (r < 80) {
            target = randomPath() + "/" + NAMES[rnd.nextInt(NAMES.length)];
        } else if (r < 90) {
            target = "missing/zz";
        } else if (r < 95) {
            target = p.contains("/") ? p.substring(p.lastIndexOf('/') + 1) : p; // itself: ELOOP when followed
        } else {
            target = rnd.nextBoolean() || depth == 0 ? "." : "..";
        }
        return new FuzzOp.Symlink(target.isEmpty() ? "." : target, p);
    }

    private FuzzOp mknod() {
        int type = pick(Sys.S_IFIFO, Sys.S_IFIFO, Sys.S_IFSOCK, Sys.S_IFCHR, Sys.S_IFBLK);
        long dev = type == Sys.S_IFCHR || type == Sys.S_IFBLK ? pick(0x103, 0x105, 0x801, 0xfa07) : 0;
        return new FuzzOp.Mknod(path(), type | mode(), dev);
    }

    // ------------------------------------------------------------------------------------------
    // Descriptors and open flags

    /** Mostly a slot that is open on the reference side. */
    private int slot() {
        List<Integer> open = new ArrayList<>();
        for (int s = 0; s < FuzzOp.SLOTS; s++) {
            if (ext4.isOpen(s)) {
                open.add(s);
            }
        }
        return !open.isEmpty() && rnd.nextInt(100) < 90 ? open.get(rnd.nextInt(open.size())) : rnd.nextInt(FuzzOp.SLOTS);
    }

    private FuzzOp open() {
        int flags = pick(Sys.O_RDONLY, Sys.O_WRONLY, Sys.O_RDWR, Sys.O_RDWR);
        if (rnd.nextInt(100) < 55) {
            flags |= Sys.O_CREAT;
            if (rnd.nextInt(100) < 25) {
                flags |= Sys.O_EXCL;
            }
        }
        flags |= rnd.nextInt(100) < 15 ? Sys.O_TRUNC : 0;
        flags |= rnd.nextInt(100) < 15 ? Sys.O_APPEND : 0;
        flags |= rnd.nextInt(100) < 8 ? Sys.O_DIRECTORY : 0;
        flags |= rnd.nextInt(100) < 8 ? Sys.O_NOFOLLOW : 0;
        // Always non-blocking: opening a FIFO must not wait for a peer; no effect on files and directories.
        flags |= Sys.O_NONBLOCK;
        // Free slots first, so that several descriptors stay open at once.
        int slot = rnd.nextInt(FuzzOp.SLOTS);
        for (int i = 0; i < FuzzOp.SLOTS && ext4.isOpen(slot) && rnd.nextInt(4) != 0; i++) {
            slot = (slot + 1) % FuzzOp.SLOTS;
        }
        String p = rnd.nextInt(100) < 5 ? dirPath() : path();
        if (mix.excludes(FuzzFamily.OPEN, "opendir") && !isRegularOrMissing(p)) {
            p = p.replaceAll("/+\\.?$", "") + "_f"; // a file next to it instead (see FuzzMix.DEFAULT)
        }
        return new FuzzOp.Open(slot, p, flags, mode());
    }

    /** Whether the reference tree has no entry at {@code p}, or a regular file (symlinks count as not). */
    private boolean isRegularOrMissing(String p) {
        String plain = p.replaceAll("/+\\.?$", "");
        for (String[] e : existing()) {
            if (e[0].equals(plain)) {
                return e[1].equals(Integer.toString(FuzzSys.DT_REG));
            }
        }
        return true;
    }

    private int mode() {
        return rnd.nextInt(6) == 0 ? rnd.nextInt(010000) : MODES[rnd.nextInt(MODES.length)];
    }

    private int id() {
        return IDS[rnd.nextInt(IDS.length)];
    }

    // ------------------------------------------------------------------------------------------
    // Offsets, lengths, sizes

    /** File offsets: mostly small, many at 4 KiB and 128 KiB edges, a few over 4 GiB, rarely negative. */
    private long offset() {
        int r = rnd.nextInt(1000);
        if (r < 350) {
            return rnd.nextInt(8192);
        } else if (r < 600) {
            return rnd.nextInt(65536);
        } else if (r < 780) {
            return rnd.nextInt(64) * 4096L + rnd.nextInt(-1, 2);
        } else if (r < 880) {
            return rnd.nextInt(1 << 20);
        } else if (r < 960) {
            return rnd.nextInt(1, 16) * 131072L + rnd.nextInt(-2, 3);
        } else if (r < 975 && !mix.excludes(FuzzFamily.BIG)) {
            return GIB4 + rnd.nextInt(-4096, 65536);
        } else if (r < 985) {
            return -rnd.nextInt(1, 4096); // negative: EINVAL
        }
        return rnd.nextInt(4096);
    }

    private int length() {
        int r = rnd.nextInt(100);
        if (r < 3) {
            return 0;
        } else if (r < 33) {
            return rnd.nextInt(1, 65);
        } else if (r < 68) {
            return rnd.nextInt(1, 4097);
        } else if (r < 73) {
            return 4096;
        } else if (r < 95) {
            return rnd.nextInt(1, 65537);
        }
        return 131072 + rnd.nextInt(1, 131072); // more than one FUSE request (max_write is 128 KiB)
    }

    private long size() {
        int r = rnd.nextInt(100);
        if (r < 15) {
            return 0;
        } else if (r < 55) {
            return rnd.nextInt(8192);
        } else if (r < 85) {
            return rnd.nextInt(1 << 20);
        } else if (r < 88 && !mix.excludes(FuzzFamily.BIG)) {
            return GIB4 + rnd.nextInt(-4096, 65536);
        } else if (r < 90) {
            return -1;
        }
        return rnd.nextInt(64) * 4096L;
    }

    private FuzzOp utimens() {
        long[] a = time();
        long[] m = time();
        return new FuzzOp.Utimens(path(), a[0], a[1], m[0], m[1], rnd.nextInt(100) < 85);
    }

    private long[] time() {
        int r = rnd.nextInt(100);
        if (r < 30) {
            return new long[] {0, Sys.UTIME_NOW};
        } else if (r < 55) {
            return new long[] {0, Sys.UTIME_OMIT};
        } else if (r < 96) {
            long base = TIME_BASES[rnd.nextInt(TIME_BASES.length)];
            return new long[] {base + rnd.nextLong(300_000_000L), rnd.nextInt(1_000_000_000)};
        }
        return new long[] {TIME_BASES[1], rnd.nextBoolean() ? 1_000_000_000 : -1}; // invalid: EINVAL
    }

    private FuzzOp fallocate() {
        int mode = pick(0, 0, Sys.FALLOC_FL_KEEP_SIZE, Sys.FALLOC_FL_PUNCH_HOLE | Sys.FALLOC_FL_KEEP_SIZE,
                Sys.FALLOC_FL_PUNCH_HOLE | Sys.FALLOC_FL_KEEP_SIZE, FuzzSys.FALLOC_FL_ZERO_RANGE, Sys.FALLOC_FL_PUNCH_HOLE);
        long len = rnd.nextInt(20) == 0 ? 0 : rnd.nextInt(1, 300_000);
        return new FuzzOp.Fallocate(slot(), mode, offset(), len);
    }

    // ------------------------------------------------------------------------------------------
    // Xattrs

    private FuzzOp.XattrTarget xattrTarget() {
        int r = rnd.nextInt(100);
        return r < 20 ? FuzzOp.XattrTarget.fd(slot()) : FuzzOp.XattrTarget.path(path(), r < 75);
    }

    private String xattrName() {
        int r = rnd.nextInt(100);
        if (r < 3) {
            return "user."; // an empty name after the prefix: EINVAL
        } else if (r < 5) {
            return "user." + "x".repeat(251); // 256 bytes: ERANGE
        } else if (r < 7) {
            return "trusted.t"; // root only (EPERM as another user)
        } else if (r < 8) {
            return "nonamespace"; // EOPNOTSUPP
        }
        return XATTR_NAMES[rnd.nextInt(XATTR_NAMES.length)];
    }

    /** Small values: four of them always fit in one ext4 block, so ext4 never says ENOSPC where d4 need not. */
    private int xattrLength() {
        return rnd.nextInt(10) == 0 ? 0 : rnd.nextInt(1, 200);
    }

    private int bufferSize() {
        int r = rnd.nextInt(100);
        return r < 25 ? 0 : r < 45 ? rnd.nextInt(1, 8) : r < 60 ? rnd.nextInt(8, 64) : 4096;
    }
}
