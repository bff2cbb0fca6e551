package d4.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Base of the Posix*IT conformance tests. Every case runs twice: first in a fresh directory on ext4
 * (a {@code @TempDir} under /tmp; that run proves the expected values are what Linux really gives),
 * then in a fresh directory of a d4 mount. Assertions are on exact return values and errno from
 * {@link Sys}, never on Java exceptions. Callers are root unless a case starts a {@link SysProcess}.
 */
@Timeout(120)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(SharedD4Mount.class)
@ExtendWith(PosixConformance.KnownDifferences.class)
abstract class PosixConformance {
    /** A conformance case: its one parameter is the {@link Root} to work in, ext4's first, then d4's. */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @ParameterizedTest(name = "{0}")
    @MethodSource("roots")
    @interface OnBoth {}

    /**
     * A case where d4 is known to differ from ext4, for the reason given (documented in
     * docs/semantics.md). The ext4 run asserts as usual; the d4 run must still fail its assertions:
     * if it passes, d4 now behaves as ext4 and the mark and the documentation must go — the test
     * says so. A known difference is never silently skipped.
     */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @interface KnownDifference {
        String value();
    }

    /** Runs the d4 half of a {@link KnownDifference} case expecting its assertions to fail. */
    static final class KnownDifferences implements org.junit.jupiter.api.extension.InvocationInterceptor {
        @Override
        public void interceptTestTemplateMethod(Invocation<Void> invocation,
                org.junit.jupiter.api.extension.ReflectiveInvocationContext<java.lang.reflect.Method> call,
                org.junit.jupiter.api.extension.ExtensionContext context) throws Throwable {
            KnownDifference known = call.getExecutable().getAnnotation(KnownDifference.class);
            boolean onD4 = call.getArguments().stream().anyMatch(a -> a instanceof Root r && r.fs().equals("d4"));
            if (known == null || !onD4) {
                invocation.proceed();
                return;
            }
            try {
                invocation.proceed();
            } catch (AssertionError expected) {
                return; // the documented difference is still there
            }
            fail("d4 now behaves as ext4 here: remove @KnownDifference(\"" + known.value() + "\") and the entry in"
                    + " docs/semantics.md");
        }
    }

    /** Where one run of a case happens: a fresh, empty directory on ext4 or on d4. */
    record Root(String fs, Path dir) {
        /** {@code dir/relative} as given: a trailing slash or a "." stays (Path.resolve would drop them). */
        String path(String relative) {
            return dir + "/" + relative;
        }

        String path() {
            return dir.toString();
        }

        @Override
        public String toString() {
            return fs;
        }
    }

    private Path nativeBase;
    private Path d4Base;
    private int cases;
    private SysProcess nobody;
    private SysProcess otherRoot;

    @BeforeAll
    final void createBases(@TempDir Path nativeDir, Mount d4) {
        assertEquals(Sys.EXT4_SUPER_MAGIC, Sys.statfs(nativeDir.toString())[0],
                nativeDir + " must be on ext4: the native runs are what the expectations are checked against");
        assertEquals(Sys.FUSE_SUPER_MAGIC, Sys.statfs(d4.mountPoint.toString())[0], "d4 is not mounted");
        nativeBase = nativeDir;
        d4Base = d4.mountPoint.resolve(getClass().getSimpleName());
        // Other users (SysProcess.as) must be able to reach the case directories: @TempDir makes 0700.
        ok(Sys.chmod(nativeBase.toString(), 0755), "chmod the native base");
        ok(Sys.mkdir(d4Base.toString(), 0755), "mkdir the d4 base");
    }

    /**
     * A helper process running as nobody (uid and gid 65534), shared by the cases of this class: a
     * JVM takes a few hundred milliseconds to start, and between calls a helper keeps nothing but the
     * descriptors it was asked to open, which each case closes.
     */
    final SysProcess nobody() throws IOException {
        if (nobody == null) {
            nobody = SysProcess.as(SysProcess.NOBODY, SysProcess.NOBODY);
        }
        return nobody;
    }

    /** A helper process running as root: another pid, for locks. Shared like {@link #nobody()}. */
    final SysProcess otherProcess() throws IOException {
        if (otherRoot == null) {
            otherRoot = SysProcess.asRoot();
        }
        return otherRoot;
    }

    @AfterAll
    final void stopHelpers() throws IOException {
        try {
            if (nobody != null) {
                nobody.close();
            }
        } finally {
            if (otherRoot != null) {
                otherRoot.close();
            }
        }
    }

    /** The arguments of every {@link OnBoth} case: a fresh directory on each file system. */
    final Stream<Root> roots() {
        String name = "case-" + ++cases;
        Root ext4 = new Root("ext4", nativeBase.resolve(name));
        Root d4 = new Root("d4", d4Base.resolve(name));
        for (Root r : List.of(ext4, d4)) {
            ok(Sys.mkdir(r.path(), 0755), "mkdir " + r.path());
            ok(Sys.chmod(r.path(), 0755), "chmod " + r.path()); // whatever the umask
        }
        return Stream.of(ext4, d4);
    }

    // ------------------------------------------------------------------------------------------
    // Assertions with errno names in their messages

    private static final Map<Integer, String> ERRNO_NAMES = errnoNames();

    private static Map<Integer, String> errnoNames() {
        Map<Integer, String> names = new TreeMap<>();
        for (Field f : Sys.class.getDeclaredFields()) {
            if (f.getType() == int.class && Modifier.isStatic(f.getModifiers()) && f.getName().matches("E[A-Z0-9]+")) {
                try {
                    names.putIfAbsent(f.getInt(null), f.getName());
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
        return names;
    }

    /** A result as a reader wants it: the number, or the errno's name. */
    static String describe(long result) {
        return result >= 0 ? Long.toString(result) : ERRNO_NAMES.getOrDefault((int) -result, "errno " + -result);
    }

    /** Asserts that a call failed with exactly {@code errno} (a positive constant of {@link Sys}). */
    static void assertErrno(int errno, long result, String what) {
        if (result != -errno) {
            fail(what + ": expected " + describe(-errno) + ", got " + describe(result));
        }
    }

    /** Asserts that a call succeeded; returns its result (an fd, a count). */
    static long ok(long result, String what) {
        if (result < 0) {
            fail(what + ": expected success, got " + describe(result));
        }
        return result;
    }

    /** Asserts a path's permission bits, shown in octal when they differ. */
    static void assertPerm(int expected, String path, String what) {
        assertEquals(Integer.toOctalString(expected), Integer.toOctalString(stat(path).perm()), what + " (octal mode)");
    }

    static int open(String path, int flags, int mode) {
        return (int) ok(Sys.open(path, flags, mode), "open " + path);
    }

    static int open(String path, int flags) {
        return open(path, flags, 0);
    }

    static void close(int fd) {
        ok(Sys.close(fd), "close");
    }

    static Sys.Stat stat(String path) {
        Sys.Stat st = Sys.stat(path);
        ok(st.result(), "stat " + path);
        return st;
    }

    static Sys.Stat lstat(String path) {
        Sys.Stat st = Sys.lstat(path);
        ok(st.result(), "lstat " + path);
        return st;
    }

    static Sys.Stat fstat(int fd) {
        Sys.Stat st = Sys.fstat(fd);
        ok(st.result(), "fstat");
        return st;
    }

    /** Creates (or truncates) a file with mode 0644 holding {@code content}. */
    static void write(String path, String content) {
        write(path, content.getBytes(StandardCharsets.UTF_8));
    }

    static void write(String path, byte[] content) {
        int fd = open(path, Sys.O_CREAT | Sys.O_WRONLY | Sys.O_TRUNC, 0644);
        assertEquals(content.length, Sys.pwrite(fd, content, 0), "write " + path);
        close(fd);
    }

    /** The whole content of a file (up to 1 MiB), as UTF-8. */
    static String read(String path) {
        int fd = open(path, Sys.O_RDONLY);
        Sys.Bytes b = Sys.pread(fd, 1 << 20, 0);
        close(fd);
        ok(b.result(), "read " + path);
        return new String(b.data(), StandardCharsets.UTF_8);
    }

    /** Every entry of a directory through getdents64, with "." and "..", in the order given. */
    static List<Sys.Dirent> entries(String dir) {
        int fd = open(dir, Sys.O_RDONLY | Sys.O_DIRECTORY);
        try {
            List<Sys.Dirent> all = new ArrayList<>();
            for (Sys.Dirents d; (d = Sys.getdents(fd, 32768)).result() != 0; ) {
                ok(d.result(), "getdents " + dir);
                all.addAll(d.entries());
            }
            return all;
        } finally {
            close(fd);
        }
    }

    static List<String> names(String dir) {
        return entries(dir).stream().map(Sys.Dirent::nameString).sorted().toList();
    }

    /** This process's umask (creation modes below are masked with it, as the kernel does). */
    static int umask() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Umask:")) {
                    return Integer.parseInt(line.substring(6).trim(), 8);
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("no Umask in /proc/self/status");
    }

    // ------------------------------------------------------------------------------------------
    // Timestamps

    /** A timestamp in nanoseconds since the epoch (fits a long until 2262). */
    static long nanos(long sec, long nsec) {
        return sec * 1_000_000_000L + nsec;
    }

    static long mtime(Sys.Stat st) {
        return nanos(st.mtimeSec(), st.mtimeNsec());
    }

    static long ctime(Sys.Stat st) {
        return nanos(st.ctimeSec(), st.ctimeNsec());
    }

    static long atime(Sys.Stat st) {
        return nanos(st.atimeSec(), st.atimeNsec());
    }

    /**
     * Waits long enough that a timestamp taken now differs from every earlier one: the kernel's clock
     * for file times may advance only once per tick (4 ms at HZ=250, 10 ms at HZ=100).
     */
    static void tick() {
        try {
            Thread.sleep(25);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static void assertChanged(long before, long after, String what) {
        assertTrue(after > before, what + " must change: " + before + " -> " + after);
    }

    static void assertUnchanged(long before, long after, String what) {
        assertEquals(before, after, what + " must not change");
    }
}
