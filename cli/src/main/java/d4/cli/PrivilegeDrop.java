package d4.cli;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The daemon's switch from root to an unprivileged user once its mount is made (mount.user,
 * mount.group): supplementary groups, then gid, then uid, for the whole process.
 *
 * <p>Linux keeps credentials per thread; glibc's setgroups, setgid and setuid wrappers (and
 * initgroups, which calls setgroups) change them on every thread of the process (glibc signals each
 * of its threads to make the same system call, "setxid broadcast"), and every JVM thread is a glibc
 * thread. So calling the libc functions through FFM drops the whole process; {@link #check} reads
 * /proc/self/task/TID/status afterwards to prove it. Users and groups are resolved with
 * getpwnam_r/getgrnam_r (and getpwuid_r for a numeric uid), so NSS sources work as for any other program.
 */
final class PrivilegeDrop {
    private PrivilegeDrop() {}

    /**
     * Whom to become.
     *
     * @param userName the user's name for initgroups, or null for a uid without a passwd entry
     */
    record Identity(String userName, int uid, int gid) {
        String describe() {
            return (userName != null ? userName + " " : "") + "(uid " + uid + ", gid " + gid + ")";
        }
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    private static final VarHandle ERRNO_VALUE = Linker.Option.captureStateLayout()
            .varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final java.lang.foreign.AddressLayout PTR = ValueLayout.ADDRESS;
    private static final ValueLayout.OfLong SIZE_T = ValueLayout.JAVA_LONG;

    // int getpwnam_r(const char *, struct passwd *, char *, size_t, struct passwd **); likewise the others
    private static final MethodHandle GETPWNAM_R = downcall("getpwnam_r", FunctionDescriptor.of(INT, PTR, PTR, PTR, SIZE_T, PTR));
    private static final MethodHandle GETPWUID_R = downcall("getpwuid_r", FunctionDescriptor.of(INT, INT, PTR, PTR, SIZE_T, PTR));
    private static final MethodHandle GETGRNAM_R = downcall("getgrnam_r", FunctionDescriptor.of(INT, PTR, PTR, PTR, SIZE_T, PTR));
    private static final MethodHandle INITGROUPS = downcall("initgroups", FunctionDescriptor.of(INT, PTR, INT), ERRNO);
    private static final MethodHandle SETGROUPS = downcall("setgroups", FunctionDescriptor.of(INT, SIZE_T, PTR), ERRNO);
    private static final MethodHandle SETGID = downcall("setgid", FunctionDescriptor.of(INT, INT), ERRNO);
    private static final MethodHandle SETUID = downcall("setuid", FunctionDescriptor.of(INT, INT), ERRNO);
    private static final MethodHandle STRERROR = downcall("strerror", FunctionDescriptor.of(PTR, INT));

    /** struct passwd (x86_64): pw_name 0, pw_passwd 8, pw_uid 16, pw_gid 20, pw_gecos 24, pw_dir 32, pw_shell 40. */
    private static final long PASSWD_BYTES = 48;
    /** struct group (x86_64): gr_name 0, gr_passwd 8, gr_gid 16, gr_mem 24. */
    private static final long GROUP_BYTES = 32;

    private static MethodHandle downcall(String name, FunctionDescriptor fd, Linker.Option... options) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(() -> new IllegalStateException("libc has no " + name)),
                fd, options);
    }

    /** A passwd entry: name, uid, primary gid. */
    private record PasswdEntry(String name, int uid, int gid) {}

    /**
     * Resolves USER (a name, else a numeric uid) and GROUP (a name, else a numeric gid; empty: the
     * user's primary group). Fails with what to do when either is unknown.
     *
     * @param userFrom how messages name where USER came from, e.g. "mount.user (from flag --user)"
     * @param groupFrom likewise for GROUP
     */
    static Identity resolve(String user, String group, String userFrom, String groupFrom) {
        Optional<PasswdEntry> pw = passwdByName(user);
        if (pw.isEmpty() && isNumber(user)) {
            pw = passwdByUid(Integer.parseUnsignedInt(user));
            if (pw.isEmpty()) {
                pw = Optional.of(new PasswdEntry(null, Integer.parseUnsignedInt(user), -1));
            }
        }
        if (pw.isEmpty()) {
            throw new CommandFailure("unknown user \"" + user + "\" for " + userFrom + ": no such user in the user database"
                    + " (getent passwd " + user + "); create it (useradd --system " + user + ") or give a numeric uid");
        }
        int gid;
        if (group.isEmpty()) {
            if (pw.get().gid() < 0) {
                throw new CommandFailure("uid " + user + " given for " + userFrom + " has no entry in the user database,"
                        + " so it has no primary group: give the group too (mount.group, --group)");
            }
            gid = pw.get().gid();
        } else {
            Optional<Integer> g = groupByName(group);
            if (g.isEmpty() && isNumber(group)) {
                g = Optional.of(Integer.parseUnsignedInt(group));
            }
            gid = g.orElseThrow(() -> new CommandFailure("unknown group \"" + group + "\" for " + groupFrom
                    + ": no such group in the group database (getent group " + group + "); create it or give a numeric gid"));
        }
        return new Identity(pw.get().name(), pw.get().uid(), gid);
    }

    private static boolean isNumber(String s) {
        if (s.isEmpty() || s.length() > 10) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!Character.isDigit(s.charAt(i))) {
                return false;
            }
        }
        return Long.parseLong(s) < 0xFFFF_FFFFL; // (uid_t) -1 is not an id
    }

    static Optional<PasswdEntry> passwdByName(String name) {
        try (Arena arena = Arena.ofConfined()) {
            return lookupPasswd(arena, (pwd, buf, len, result) -> (int) GETPWNAM_R.invokeExact(arena.allocateFrom(name), pwd, buf, len, result));
        }
    }

    static Optional<PasswdEntry> passwdByUid(int uid) {
        try (Arena arena = Arena.ofConfined()) {
            return lookupPasswd(arena, (pwd, buf, len, result) -> (int) GETPWUID_R.invokeExact(uid, pwd, buf, len, result));
        }
    }

    static Optional<Integer> groupByName(String name) {
        try (Arena arena = Arena.ofConfined()) {
            return lookupGroup(arena, (grp, buf, len, result) -> (int) GETGRNAM_R.invokeExact(arena.allocateFrom(name), grp, buf, len, result));
        }
    }

    @FunctionalInterface
    private interface Lookup {
        int call(MemorySegment entry, MemorySegment buf, long len, MemorySegment result) throws Throwable;
    }

    private static final int ERANGE = 34;

    /** Runs a get*_r call, growing the buffer on ERANGE; the entry when found. */
    private static Optional<MemorySegment> lookup(Arena arena, long entryBytes, Lookup call) {
        MemorySegment entry = arena.allocate(entryBytes, 8);
        MemorySegment result = arena.allocate(PTR);
        for (long len = 4096; ; len *= 2) {
            MemorySegment buf = arena.allocate(len);
            int rc;
            try {
                rc = call.call(entry, buf, len, result);
            } catch (Throwable t) {
                throw new IllegalStateException("user database lookup failed", t);
            }
            if (rc == ERANGE && len < (1 << 24)) {
                continue;
            }
            if (rc != 0) {
                throw new CommandFailure("cannot read the user/group database: " + strerror(rc));
            }
            return result.get(PTR, 0).equals(MemorySegment.NULL) ? Optional.empty() : Optional.of(entry);
        }
    }

    private static Optional<PasswdEntry> lookupPasswd(Arena arena, Lookup call) {
        return lookup(arena, PASSWD_BYTES, call).map(pwd -> new PasswdEntry(
                pwd.get(PTR, 0).reinterpret(Long.MAX_VALUE).getString(0), pwd.get(INT, 16), pwd.get(INT, 20)));
    }

    private static Optional<Integer> lookupGroup(Arena arena, Lookup call) {
        return lookup(arena, GROUP_BYTES, call).map(grp -> grp.get(INT, 16));
    }

    /**
     * Becomes {@code id} for the whole process: supplementary groups (initgroups for a named user,
     * else just the gid), then gid, then uid. After setuid from root to another uid the process has
     * no capabilities left and cannot get root back.
     */
    static void apply(Identity id) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
            int rc;
            if (id.userName() != null) {
                rc = (int) INITGROUPS.invokeExact(state, arena.allocateFrom(id.userName()), id.gid());
                check(rc, state, "initgroups(" + id.userName() + ", " + id.gid() + ")");
            } else {
                MemorySegment gids = arena.allocateFrom(INT, id.gid());
                rc = (int) SETGROUPS.invokeExact(state, 1L, gids);
                check(rc, state, "setgroups([" + id.gid() + "])");
            }
            rc = (int) SETGID.invokeExact(state, id.gid());
            check(rc, state, "setgid(" + id.gid() + ")");
            rc = (int) SETUID.invokeExact(state, id.uid());
            check(rc, state, "setuid(" + id.uid() + ")");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("dropping privileges failed", t);
        }
    }

    private static void check(int rc, MemorySegment state, String what) {
        if (rc != 0) {
            int errno = (int) ERRNO_VALUE.get(state, 0L);
            throw new IllegalStateException(what + " failed: " + strerror(errno) + " (errno " + errno + ")");
        }
    }

    private static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    /** PF_IO_WORKER in /proc/TID/stat's flags: an io_uring kernel worker (io-wq) of this process. */
    static final long PF_IO_WORKER = 0x10;

    /**
     * The credentials of this process's threads after a drop.
     *
     * @param wrong one line per thread whose real, effective, saved or file-system uid or gid is not
     *     the target's, or that still has a capability (unless the target is root)
     * @param ioWorkers one line per io_uring kernel worker (io-wq, "iou-wrk-N") that keeps the
     *     credentials it was created with. Such a thread runs no user code: it executes io_uring
     *     requests this process submitted, each with the credentials its submitter had when it was
     *     queued (the kernel's req->creds), so requests made after the drop run as the new user. The
     *     setxid broadcast cannot reach it (it is no glibc thread), and it ends when the ring closes.
     */
    record Threads(List<String> wrong, List<String> ioWorkers) {}

    /** Reads the credentials of every thread of this process (/proc/self/task/TID/status). */
    static Threads check(Identity id) throws IOException {
        List<String> wrong = new ArrayList<>();
        List<String> ioWorkers = new ArrayList<>();
        List<Path> tasks;
        try (Stream<Path> s = Files.list(Path.of("/proc/self/task"))) {
            tasks = s.toList();
        }
        for (Path task : tasks) {
            List<String> status;
            String stat;
            try {
                status = Files.readAllLines(task.resolve("status"));
                stat = Files.readString(task.resolve("stat"));
            } catch (NoSuchFileException e) {
                continue; // the thread ended meanwhile
            }
            String uids = field(status, "Uid:");
            String gids = field(status, "Gid:");
            String caps = field(status, "CapEff:");
            String want = "%d\t%d\t%d\t%d";
            boolean ok = uids.equals(want.formatted(id.uid(), id.uid(), id.uid(), id.uid()))
                    && gids.equals(want.formatted(id.gid(), id.gid(), id.gid(), id.gid()))
                    && (id.uid() == 0 || caps.chars().allMatch(c -> c == '0')); // root keeps its capabilities
            if (!ok) {
                String line = "thread " + task.getFileName() + " (" + field(status, "Name:") + "): Uid " + uids + ", Gid "
                        + gids + ", CapEff " + caps;
                (isIoWorker(stat) ? ioWorkers : wrong).add(line.replace('\t', ' '));
            }
        }
        return new Threads(wrong, ioWorkers);
    }

    /** Whether /proc/TID/stat describes an io_uring kernel worker (the flags field, after "(comm)", has PF_IO_WORKER). */
    static boolean isIoWorker(String stat) {
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return f.length > 6 && (Long.parseLong(f[6]) & PF_IO_WORKER) != 0;
    }

    private static String field(List<String> status, String prefix) {
        for (String line : status) {
            if (line.startsWith(prefix)) {
                return line.substring(prefix.length()).trim();
            }
        }
        return "";
    }
}
