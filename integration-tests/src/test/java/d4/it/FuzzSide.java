package d4.it;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * One of the two trees a sequence runs on (a directory on the d4 mount, or one on ext4), with its
 * descriptor table, and how every {@link FuzzOp} is carried out on it and observed.
 *
 * <p>"Processes" are modelled as groups of slots ({@link FuzzOp#SLOTS_PER_PROC} each); every slot
 * holds a real descriptor of this JVM. What tells processes apart in the file system is lock
 * ownership, and of that only classic POSIX record locks (F_SETLK) are per process: this one JVM
 * cannot see them conflict, and a helper process per "process" would make every step an IPC round
 * trip. So the fuzzer exercises locks through the two kinds owned by the open file description,
 * flock(2) and OFD locks (F_OFD_SETLK), which conflict between two open()s in one process exactly as
 * between processes; dup() shares a description (as fork would), so those do not conflict. Classic
 * F_SETLK/F_GETLK are still called and their results compared (EBADF, EINVAL, the F_GETLK answer).
 *
 * <p>Every call runs with the current {@link FuzzOp.AsUser} credentials (setfsuid/setfsgid on this
 * thread around that one call); the observations an op adds (the stat after a chmod, ...) run as root
 * so that they always see the result.
 */
final class FuzzSide {
    final String root;
    private final int[] fds = new int[FuzzOp.SLOTS];
    private final int[] flags = new int[FuzzOp.SLOTS];
    /** The file type each slot was opened on (what fstat said then: later fstat may fail, which is under test). */
    private final int[] types = new int[FuzzOp.SLOTS];
    private int uid;
    private int gid;

    FuzzSide(String root) {
        this.root = root;
        Arrays.fill(fds, -1);
    }

    String path(String rel) {
        return root + "/" + rel;
    }

    boolean isOpen(int slot) {
        return fds[slot] >= 0;
    }

    int fd(int slot) {
        return fds[slot];
    }

    /** Whether the slot's descriptor was opened for reading (so its contents can be compared through it). */
    boolean readable(int slot) {
        return isOpen(slot) && (flags[slot] & 3) != Sys.O_WRONLY;
    }

    /** The deterministic contents of a write: the same seed gives the same bytes on both sides and in every replay. */
    static byte[] data(long seed, int length) {
        byte[] b = new byte[length];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    static {
        // A call run as another user must not be the first to need a class: the class path (a
        // checkout under /root, ~/.m2) may be unreadable to that user. Load all it uses now, as root.
        for (Class<?> c : List.of(Sys.class, Sys.Bytes.class, Sys.Stat.class, Sys.Lock.class, FuzzSys.class)) {
            try {
                Class.forName(c.getName(), true, c.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }

    /** Runs one call with the current fsuid/fsgid, and always returns to root before anything else runs. */
    private <T> T asCallerObj(Supplier<T> call) {
        if (uid == 0 && gid == 0) {
            return call.get();
        }
        FuzzSys.setfsgid(gid);
        FuzzSys.setfsuid(uid);
        try {
            return call.get();
        } finally {
            FuzzSys.setfsuid(0);
            FuzzSys.setfsgid(0);
        }
    }

    private long asCaller(LongSupplier call) {
        return asCallerObj(call::getAsLong);
    }

    private static final FuzzOutcome NO_FD = FuzzOutcome.of("(slot empty: not called)");

    private FuzzStat fstat(int slot) {
        return FuzzStat.of(Sys.fstat(fds[slot]), () -> FuzzSys.flistxattr(fds[slot], 0).result() > 0);
    }

    private FuzzStat lstat(String rel) {
        return FuzzStat.of(Sys.lstat(path(rel)), () -> Sys.llistxattr(path(rel), 0).result() > 0);
    }

    private FuzzStat stat(String rel) {
        return FuzzStat.of(Sys.stat(path(rel)), () -> Sys.listxattr(path(rel), 0).result() > 0);
    }

    private String closeSlot(int slot) {
        String r = FuzzOutcome.ret(Sys.close(fds[slot]));
        fds[slot] = -1;
        return r;
    }

    /** Carries out {@code op} on this tree ({@link FuzzOp.CheckTree} and {@link FuzzOp.Sleep} are the runner's). */
    FuzzOutcome apply(FuzzOp op) {
        return switch (op) {
            case FuzzOp.Open o -> open(o);
            case FuzzOp.Close c -> isOpen(c.slot()) ? FuzzOutcome.of(closeSlot(c.slot())) : NO_FD;
            case FuzzOp.Dup d -> dup(d);
            case FuzzOp.PWrite w -> isOpen(w.slot())
                    ? FuzzOutcome.ofRet(asCaller(() -> Sys.pwrite(fds[w.slot()], data(w.dataSeed(), w.length()), w.offset())))
                            .withStat(fstat(w.slot()))
                    : NO_FD;
            case FuzzOp.Write w -> isOpen(w.slot())
                    ? FuzzOutcome.ofRet(asCaller(() -> Sys.write(fds[w.slot()], data(w.dataSeed(), w.length()))))
                            .withText(" pos=" + FuzzOutcome.ret(Sys.lseek(fds[w.slot()], 0, Sys.SEEK_CUR)))
                            .withStat(fstat(w.slot()))
                    : NO_FD;
            case FuzzOp.PRead r -> isOpen(r.slot()) ? bytes(asCallerObj(() -> Sys.pread(fds[r.slot()], r.length(), r.offset()))) : NO_FD;
            case FuzzOp.Read r -> isOpen(r.slot())
                    ? bytes(asCallerObj(() -> Sys.read(fds[r.slot()], r.length())))
                            .withText(" pos=" + FuzzOutcome.ret(Sys.lseek(fds[r.slot()], 0, Sys.SEEK_CUR)))
                    : NO_FD;
            case FuzzOp.Lseek l -> lseek(l);
            case FuzzOp.SeekProbe p -> seekProbe(p);
            case FuzzOp.FTruncate t -> isOpen(t.slot())
                    ? FuzzOutcome.ofRet(asCaller(() -> Sys.ftruncate(fds[t.slot()], t.size()))).withStat(fstat(t.slot()))
                    : NO_FD;
            case FuzzOp.Truncate t -> FuzzOutcome.ofRet(asCaller(() -> Sys.truncate(path(t.path()), t.size())))
                    .withStat(stat(t.path()));
            case FuzzOp.FSync s -> isOpen(s.slot())
                    ? FuzzOutcome.ofRet(asCaller(() -> s.dataOnly() ? Sys.fdatasync(fds[s.slot()]) : Sys.fsync(fds[s.slot()])))
                    : NO_FD;
            case FuzzOp.FStat s -> isOpen(s.slot())
                    ? FuzzOutcome.of("").withStat(FuzzStat.of(asCallerObj(() -> Sys.fstat(fds[s.slot()])),
                            () -> FuzzSys.flistxattr(fds[s.slot()], 0).result() > 0))
                    : NO_FD;
            case FuzzOp.Stat s -> FuzzOutcome.of("").withStat(s.follow()
                    ? FuzzStat.of(asCallerObj(() -> Sys.stat(path(s.path()))), () -> Sys.listxattr(path(s.path()), 0).result() > 0)
                    : FuzzStat.of(asCallerObj(() -> Sys.lstat(path(s.path()))), () -> Sys.llistxattr(path(s.path()), 0).result() > 0));
            case FuzzOp.Mkdir m -> FuzzOutcome.ofRet(asCaller(() -> Sys.mkdir(path(m.path()), m.mode()))).withStat(lstat(m.path()));
            case FuzzOp.Rmdir m -> FuzzOutcome.ofRet(asCaller(() -> Sys.rmdir(path(m.path())))).withStat(lstat(m.path()));
            case FuzzOp.Unlink u -> FuzzOutcome.ofRet(asCaller(() -> Sys.unlink(path(u.path())))).withStat(lstat(u.path()));
            case FuzzOp.Rename r -> FuzzOutcome.ofRet(asCaller(() -> Sys.rename(path(r.from()), path(r.to()))))
                    .withStat(lstat(r.from())).withStat(lstat(r.to()));
            case FuzzOp.Rename2 r -> FuzzOutcome.ofRet(asCaller(() -> FuzzSys.renameat2(path(r.from()), path(r.to()), r.flags())))
                    .withStat(lstat(r.from())).withStat(lstat(r.to()));
            case FuzzOp.Link l -> FuzzOutcome.ofRet(asCaller(() -> Sys.link(path(l.from()), path(l.to()))))
                    .withStat(lstat(l.from())).withStat(lstat(l.to()));
            case FuzzOp.Symlink s -> FuzzOutcome.ofRet(asCaller(() -> Sys.symlink(s.target(), path(s.path())))).withStat(lstat(s.path()));
            case FuzzOp.Readlink r -> bytes(asCallerObj(() -> Sys.readlink(path(r.path()))));
            case FuzzOp.Mknod m -> FuzzOutcome.ofRet(asCaller(() -> Sys.mknod(path(m.path()), m.mode(), m.dev()))).withStat(lstat(m.path()));
            case FuzzOp.Chmod c -> FuzzOutcome.ofRet(asCaller(() -> Sys.chmod(path(c.path()), c.mode()))).withStat(stat(c.path()));
            case FuzzOp.FChmod c -> isOpen(c.slot())
                    ? FuzzOutcome.ofRet(asCaller(() -> Sys.fchmod(fds[c.slot()], c.mode()))).withStat(fstat(c.slot()))
                    : NO_FD;
            case FuzzOp.Chown c -> FuzzOutcome.ofRet(asCaller(() -> c.follow() ? Sys.chown(path(c.path()), c.uid(), c.gid())
                    : Sys.lchown(path(c.path()), c.uid(), c.gid()))).withStat(c.follow() ? stat(c.path()) : lstat(c.path()));
            case FuzzOp.FChown c -> isOpen(c.slot())
                    ? FuzzOutcome.ofRet(asCaller(() -> FuzzSys.fchown(fds[c.slot()], c.uid(), c.gid()))).withStat(fstat(c.slot()))
                    : NO_FD;
            case FuzzOp.Utimens u -> FuzzOutcome.ofRet(asCaller(() -> Sys.utimens(path(u.path()), u.aSec(), u.aNsec(), u.mSec(),
                    u.mNsec(), u.follow() ? 0 : Sys.AT_SYMLINK_NOFOLLOW))).withStat(u.follow() ? stat(u.path()) : lstat(u.path()));
            case FuzzOp.Access a -> FuzzOutcome.ofRet(asCaller(() -> Sys.access(path(a.path()), a.mode())));
            case FuzzOp.SetXattr x -> setxattr(x);
            case FuzzOp.GetXattr x -> getxattr(x);
            case FuzzOp.ListXattr x -> listxattr(x);
            case FuzzOp.RemoveXattr x -> removexattr(x);
            case FuzzOp.Fallocate f -> isOpen(f.slot())
                    ? FuzzOutcome.ofRet(asCaller(() -> Sys.fallocate(fds[f.slot()], f.mode(), f.offset(), f.length())))
                            .withStat(fstat(f.slot()))
                    : NO_FD;
            case FuzzOp.Flock f -> isOpen(f.slot()) ? FuzzOutcome.ofRet(asCaller(() -> Sys.flock(fds[f.slot()], f.op()))) : NO_FD;
            case FuzzOp.FcntlLock l -> fcntlLock(l);
            case FuzzOp.ListDir l -> FuzzOutcome.of(listing(l.path(), true));
            case FuzzOp.AsUser a -> {
                uid = a.uid();
                gid = a.gid();
                yield FuzzOutcome.of("ok");
            }
            case FuzzOp.CloseAll c -> {
                List<String> out = new ArrayList<>();
                for (int s = 0; s < fds.length; s++) {
                    if (isOpen(s)) {
                        out.add(FuzzOp.slotName(s) + "=" + closeSlot(s));
                    }
                }
                yield FuzzOutcome.of(String.join(" ", out));
            }
            case FuzzOp.Sleep z -> throw new IllegalArgumentException("the runner sleeps, once for both sides");
            case FuzzOp.CheckTree c -> throw new IllegalArgumentException("the runner compares trees: it needs both sides");
        };
    }

    private static FuzzOutcome bytes(Sys.Bytes b) {
        return FuzzOutcome.ofRet(b.result()).withData(b.data());
    }

    private FuzzOutcome open(FuzzOp.Open o) {
        String prefix = "";
        if (isOpen(o.slot())) {
            prefix = "closed previous " + closeSlot(o.slot()) + "; ";
        }
        // Device nodes are never opened: libfuse mounts nodev (so d4 gives EACCES) while the ext4
        // under /tmp does not, and opening a real device does things no file system decides.
        int type = asCallerObj(() -> Sys.stat(path(o.path()))).type();
        if (type == Sys.S_IFCHR || type == Sys.S_IFBLK) {
            return FuzzOutcome.of(prefix + "(device node: not opened)");
        }
        int fd = (int) asCaller(() -> Sys.open(path(o.path()), o.flags(), o.mode()));
        if (fd < 0) {
            return FuzzOutcome.of(prefix + FuzzOutcome.ret(fd));
        }
        fds[o.slot()] = fd;
        flags[o.slot()] = o.flags();
        FuzzStat st = fstat(o.slot());
        types[o.slot()] = st.type();
        return FuzzOutcome.of(prefix + "fd").withStat(st);
    }

    private FuzzOutcome dup(FuzzOp.Dup d) {
        if (!isOpen(d.from()) || d.from() == d.to()) {
            return NO_FD;
        }
        String prefix = isOpen(d.to()) ? "closed previous " + closeSlot(d.to()) + "; " : "";
        int fd = FuzzSys.dup(fds[d.from()]);
        if (fd < 0) {
            return FuzzOutcome.of(prefix + FuzzOutcome.ret(fd));
        }
        fds[d.to()] = fd;
        flags[d.to()] = flags[d.from()];
        types[d.to()] = types[d.from()];
        return FuzzOutcome.of(prefix + "fd");
    }

    /**
     * Directory offsets are opaque cookies (telldir/seekdir), specific to each file system: ext4's
     * are htree hashes with their own SEEK_END, FUSE's are libfuse's. Only non-directories are
     * compared; pipes must give ESPIPE on both.
     */
    private FuzzOutcome lseek(FuzzOp.Lseek l) {
        if (!isOpen(l.slot())) {
            return NO_FD;
        }
        if (types[l.slot()] == Sys.S_IFDIR) {
            return FuzzOutcome.of("(directory: offsets are opaque, not compared)");
        }
        return FuzzOutcome.ofRet(Sys.lseek(fds[l.slot()], l.offset(), l.whence()));
    }

    /**
     * SEEK_DATA/SEEK_HOLE may legitimately differ: lseek(2) allows a file system to report the whole
     * file as data ("SEEK_HOLE returns the end of the file, SEEK_DATA the offset"), which is what the
     * kernel does for a FUSE file system without an lseek operation, and libfuse 2 has none; ext4
     * reports its real holes, and ENXIO for SEEK_DATA in a hole that runs to the end. So each side is
     * checked against what any valid answer must satisfy, and the position is put back so that both
     * sides continue alike:
     * <ul>
     *   <li>ENXIO: the offset is at or past the end, or (SEEK_DATA only) everything from the offset
     *       to the end reads as zeros (checked on the first 64 KiB and the last 4 KiB);
     *   <li>a result: between the offset and the size (SEEK_DATA: below the size); the bytes SEEK_DATA
     *       skipped, and a hole SEEK_HOLE reported up to where the same side's SEEK_DATA says data
     *       starts again (at most 64 KiB of each), read as zeros.
     * </ul>
     * Not yet listed in docs/semantics.md.
     */
    private FuzzOutcome seekProbe(FuzzOp.SeekProbe p) {
        if (!isOpen(p.slot())) {
            return NO_FD;
        }
        int fd = fds[p.slot()];
        if (types[p.slot()] != Sys.S_IFREG) {
            return FuzzOutcome.of("(not a regular file: not compared)");
        }
        FuzzStat st = fstat(p.slot());
        boolean data = p.whence() == Sys.SEEK_DATA;
        long off = p.offset();
        long size = st.size();
        boolean canRead = readable(p.slot());
        long pos = Sys.lseek(fd, 0, Sys.SEEK_CUR);
        long r = Sys.lseek(fd, off, p.whence());
        String verdict;
        if (r == -FuzzSys.ENXIO && off >= 0) {
            boolean trailingHole = data && (!canRead
                    || (zeros(fd, off, Math.min(size, off + 65536)) && zeros(fd, Math.max(off, size - 4096), size)));
            verdict = off >= size || trailingHole ? "valid" : "invalid: ENXIO for offset " + off + " in a file of "
                    + size + " bytes" + (data ? " with data after it" : "");
        } else if (r < 0) {
            verdict = FuzzOutcome.ret(r);
        } else if (r < off || r > size || (data && r == size)) {
            verdict = "invalid: " + r + " for offset " + off + " in a file of " + size + " bytes";
        } else if (canRead && !zeros(fd, data ? off : r, data ? Math.min(r, off + 65536) : Math.min(holeEnd(fd, r, size), r + 65536))) {
            verdict = "invalid: " + r + (data ? " skips bytes that are not zero" : " reports as hole bytes that are not zero");
        } else {
            verdict = "valid";
        }
        Sys.lseek(fd, pos, Sys.SEEK_SET);
        return FuzzOutcome.of(verdict);
    }

    /** Where the hole at {@code at} ends by this side's own SEEK_DATA (the size if no data follows). */
    private static long holeEnd(int fd, long at, long size) {
        long d = Sys.lseek(fd, at, Sys.SEEK_DATA);
        return d < 0 ? size : d;
    }

    private static boolean zeros(int fd, long from, long to) {
        for (long at = from; at < to; ) {
            Sys.Bytes b = Sys.pread(fd, (int) Math.min(65536, to - at), at);
            if (b.result() <= 0) {
                return b.result() == 0;
            }
            for (byte x : b.data()) {
                if (x != 0) {
                    return false;
                }
            }
            at += b.result();
        }
        return true;
    }

    private FuzzOutcome setxattr(FuzzOp.SetXattr x) {
        byte[] v = data(x.dataSeed(), x.length());
        FuzzOp.XattrTarget t = x.target();
        if (t.path() == null && !isOpen(t.slot())) {
            return NO_FD;
        }
        return FuzzOutcome.ofRet(asCaller(() -> t.path() == null ? FuzzSys.fsetxattr(fds[t.slot()], x.name(), v, x.flags())
                : t.follow() ? Sys.setxattr(path(t.path()), x.name(), v, x.flags())
                : Sys.lsetxattr(path(t.path()), x.name(), v, x.flags())));
    }

    private FuzzOutcome getxattr(FuzzOp.GetXattr x) {
        FuzzOp.XattrTarget t = x.target();
        if (t.path() == null && !isOpen(t.slot())) {
            return NO_FD;
        }
        return bytes(asCallerObj(() -> t.path() == null ? FuzzSys.fgetxattr(fds[t.slot()], x.name(), x.size())
                : t.follow() ? Sys.getxattr(path(t.path()), x.name(), x.size())
                : Sys.lgetxattr(path(t.path()), x.name(), x.size())));
    }

    /** The list's order is unspecified: the names are compared sorted; the byte count as returned. */
    private FuzzOutcome listxattr(FuzzOp.ListXattr x) {
        FuzzOp.XattrTarget t = x.target();
        if (t.path() == null && !isOpen(t.slot())) {
            return NO_FD;
        }
        Sys.Bytes b = asCallerObj(() -> t.path() == null ? FuzzSys.flistxattr(fds[t.slot()], x.size())
                : t.follow() ? Sys.listxattr(path(t.path()), x.size()) : Sys.llistxattr(path(t.path()), x.size()));
        return FuzzOutcome.ofRet(b.result()).withText(b.data() == null || x.size() == 0 ? "" : " " + Sys.xattrNames(b));
    }

    private FuzzOutcome removexattr(FuzzOp.RemoveXattr x) {
        FuzzOp.XattrTarget t = x.target();
        if (t.path() == null && !isOpen(t.slot())) {
            return NO_FD;
        }
        return FuzzOutcome.ofRet(asCaller(() -> t.path() == null ? FuzzSys.fremovexattr(fds[t.slot()], x.name())
                : t.follow() ? Sys.removexattr(path(t.path()), x.name()) : FuzzSys.lremovexattr(path(t.path()), x.name())));
    }

    private FuzzOutcome fcntlLock(FuzzOp.FcntlLock l) {
        if (!isOpen(l.slot())) {
            return NO_FD;
        }
        Sys.Lock r = asCallerObj(() -> Sys.fcntlLock(fds[l.slot()], l.cmd(), l.type(), l.start(), l.len()));
        boolean get = l.cmd() == Sys.F_GETLK || l.cmd() == FuzzSys.F_OFD_GETLK;
        if (r.result() < 0 || !get) {
            return FuzzOutcome.ofRet(r.result());
        }
        // The conflicting lock as the kernel reports it (pid -1 for an OFD lock; our own pid otherwise).
        return FuzzOutcome.of("0 {type=" + r.type() + " start=" + r.start() + " len=" + r.len() + " pid=" + r.pid() + "}");
    }

    /**
     * The sorted (name, d_type) entries of a directory, "." and ".." included, or the errno. No name
     * is left out: a ".fuse_hidden" name in a d4 listing is a bug.
     */
    String listing(String rel, boolean asCaller) {
        String p = rel.isEmpty() ? root : path(rel);
        int fd = asCaller ? (int) asCaller(() -> Sys.open(p, Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_NONBLOCK))
                : Sys.open(p, Sys.O_RDONLY | Sys.O_DIRECTORY | Sys.O_NOFOLLOW | Sys.O_NONBLOCK);
        if (fd < 0) {
            return FuzzOutcome.ret(fd);
        }
        try {
            int[] err = new int[1];
            List<FuzzSys.Dirent> entries = FuzzSys.getdents(fd, err);
            if (err[0] < 0) {
                return FuzzOutcome.ret(err[0]);
            }
            return entries.stream().map(e -> e.name() + ":" + e.type()).sorted().toList().toString();
        } finally {
            Sys.close(fd);
        }
    }

    /** Closes everything and forgets the credentials (cleanup after a sequence; nothing compared). */
    void reset() {
        for (int s = 0; s < fds.length; s++) {
            if (isOpen(s)) {
                closeSlot(s);
            }
        }
        uid = 0;
        gid = 0;
    }
}
