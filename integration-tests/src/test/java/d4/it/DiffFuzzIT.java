package d4.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The differential fuzzer: random op sequences run on a d4 mount and on a directory of the ext4
 * under /tmp, with every return value, errno, stat field that must agree, listing and file content
 * compared (see {@link FuzzRunner}, {@link FuzzSide}, {@link FuzzStat} for what is compared and
 * what legitimately differs). A difference fails with the seed, the step, a shrunk reproduction and
 * both sides' results.
 *
 * <p>What may legitimately differ, each handled (with its reason) where named, and nothing else:
 * <ul>
 *   <li>st_dev, st_ino, st_blksize; st_blocks beyond zero versus non-zero; ctime and any time the
 *       kernel took from its clock; atime once ext4 updated it (d4 never does, docs/semantics.md):
 *       {@link FuzzStat}.
 *   <li>SEEK_DATA/SEEK_HOLE answers (each side's is checked for validity instead) and directory
 *       offsets (opaque cookies): {@link FuzzSide}. Not yet in docs/semantics.md.
 *   <li>device nodes are never opened, since libfuse mounts nodev: {@link FuzzSide}. Not yet in
 *       docs/semantics.md.
 *   <li>an op whose path leads out of the sequence's directory (through a symlink that a rename
 *       carried upwards) is run on neither side: {@link FuzzRunner}. Not a d4 matter.
 *   <li>the families docs/semantics.md lists as not implemented are left out by default:
 *       {@link FuzzFamily#NOT_YET_IMPLEMENTED}.
 * </ul>
 *
 * <p>Default run (CI): {@link #DEFAULT_SEQUENCES} sequences of {@link #DEFAULT_OPS} ops from seed
 * {@link #DEFAULT_SEED}, without the families docs/semantics.md lists as not implemented
 * ({@link FuzzFamily#NOT_YET_IMPLEMENTED}): about 25 s per io engine when nothing differs, plus
 * at most 40 s of shrinking when something does, plus the {@link #REGRESSIONS} (about 15 s, most
 * of it the 1.2 s waits of the hard-link ones). It runs under both io engines like every *IT: the
 * data path (unaligned writes, holes, truncation, files over 4 GiB) is exactly what differs
 * between the io_uring and the FileChannel drive.
 *
 * <p>Overrides (system properties; Maven passes -D through to the forked test JVM):
 * <pre>
 *   d4.fuzz.seed=N          first seed; sequence k uses seed N+k
 *   d4.fuzz.sequences=N     how many sequences
 *   d4.fuzz.ops=N           ops per sequence (then every descriptor is closed and the trees compared)
 *   d4.fuzz.exclude=a,b     families and ops left out: FuzzFamily names, op:RECORD (op:link); "none" for
 *                           everything (default: FuzzFamily.NOT_YET_IMPLEMENTED)
 *   d4.fuzz.checkEvery=N    a whole-tree comparison every N ops (default 50)
 *   d4.fuzz.minimizeSeconds=N   time for shrinking each distinct failure (default 15)
 *   d4.fuzz.minimizeTotalSeconds=N   for shrinking all of them together (default 40)
 *   d4.fuzz.timeoutMinutes=N    no new sequence starts after this (default 20)
 *   d4.fuzz.trace=true      print every step of every sequence with both outcomes
 * </pre>
 * A long run, 1,000,000 ops (about 17 minutes per engine here):
 * {@code -Dd4.fuzz.sequences=1000 -Dd4.fuzz.ops=1000 -Dd4.fuzz.timeoutMinutes=600}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DiffFuzzIT {
    static final long DEFAULT_SEED = 1;
    static final int DEFAULT_SEQUENCES = 24;
    static final int DEFAULT_OPS = 1000;
    /** At most this many distinct differences are shrunk and reported per run. */
    static final int MAX_REPORTED = 12;

    /**
     * A sequence that showed a difference, kept so that it gets and stays fixed: a seed with its op
     * count and excluded families (as a failure report's "rerun" line gives them; a seed replays
     * the generator, so it follows any change to FuzzGen), or a shrunk sequence as the report's
     * Java form. Each runs in every build, to its end, and fails on any differing step — unless
     * {@code knownDifference} names a difference docs/semantics.md documents: then the sequence must
     * still differ, and when it stops differing the test says to remove the mark and the entry.
     */
    record Regression(String name, long seed, int ops, String exclude, List<FuzzOp> sequence, String knownDifference) {
        static Regression seed(String name, long seed, int ops, String exclude) {
            return new Regression(name, seed, ops, exclude, null, null);
        }

        static Regression ops(String name, FuzzOp... sequence) {
            return new Regression(name, 0, 0, "none", List.of(sequence), null);
        }

        Regression known(String reason) {
            return new Regression(name, seed, ops, exclude, sequence, reason);
        }
    }

    private static final String HARD_LINKS = "libfuse 2 gives each name of a hard-linked file its own kernel inode,"
            + " with its own page cache, locks and size (docs/semantics.md)";
    private static final String HIDDEN_WITHOUT_PATH = "fstat of an unlinked open file reaches libfuse 2 by path;"
            + " once its directory is removed or replaced, libfuse has none and answers ENOENT (docs/semantics.md)";
    private static final String REMOVED_OPEN_NON_FILES = "libfuse 2 keeps only files opened through FUSE_OPEN alive"
            + " after removal: an open directory or FIFO is gone for fstat (docs/semantics.md)";

    private static final int CREATE = Sys.O_CREAT | Sys.O_RDWR | Sys.O_NONBLOCK;

    static final List<Regression> REGRESSIONS = List.of(
            // Seeds of the default mix (FuzzMix.DEFAULT), each up to the step that first differed.
            Regression.seed("seed 14: an open directory renamed over or removed", 14, 50, "xattr,fallocate,mknod,renameat2")
                    .known(REMOVED_OPEN_NON_FILES),
            Regression.seed("seed 20: flock through two hard links", 20, 236, "xattr,fallocate,mknod,renameat2")
                    .known(HARD_LINKS),
            Regression.seed("seed 22: rename between two hard links of an open file", 22, 658, "xattr,fallocate,mknod,renameat2")
                    .known(HARD_LINKS),

            // Fixed (08c8013: bare namespace names are EINVAL); kept so that it stays fixed.
            Regression.ops("xattr: an empty name after the user. prefix is EINVAL",
                    new FuzzOp.Mkdir("g", 0755),
                    new FuzzOp.SetXattr(FuzzOp.XattrTarget.path("g", true), "user.", 106, 1L, Sys.XATTR_CREATE),
                    new FuzzOp.GetXattr(FuzzOp.XattrTarget.path("g", true), "user.", 40),
                    new FuzzOp.RemoveXattr(FuzzOp.XattrTarget.path("g", true), "user.")),
            // The kernel lists trusted.* to a caller with CAP_SYS_ADMIN, whatever its fsuid (Samba
            // and NFS servers switch only the fsuid); d4 reads the caller's CapEff from /proc.
            Regression.ops("xattr: trusted.* is listed to a root process acting with another fsuid",
                    new FuzzOp.Open(0, "h", CREATE, 0644),
                    new FuzzOp.SetXattr(FuzzOp.XattrTarget.path("h", true), "trusted.t", 10, 1L, 0),
                    new FuzzOp.AsUser(1000, 1000), new FuzzOp.ListXattr(FuzzOp.XattrTarget.path("h", true), 4096),
                    new FuzzOp.ListXattr(FuzzOp.XattrTarget.fd(0), 4096)),

            // libfuse 2 gives every name of a hard-linked file its own kernel inode, each with its
            // own caches. Attributes: fixed by attr_timeout=0 (08c8013), kept as guards.
            Regression.ops("hard link: the old name shows the new link count at once",
                    new FuzzOp.Open(0, "a", CREATE, 0644), new FuzzOp.Link("a", "b"), new FuzzOp.Stat("a", true)),
            Regression.ops("hard link: size and mode changed through one name show through the other at once",
                    new FuzzOp.Open(0, "a", CREATE, 0644), new FuzzOp.Link("a", "b"), new FuzzOp.Sleep(1200),
                    new FuzzOp.Stat("b", true), new FuzzOp.PWrite(0, 0, 100, 1), new FuzzOp.Stat("b", true),
                    new FuzzOp.Chmod("a", 0600), new FuzzOp.Stat("b", true), new FuzzOp.Unlink("a"), new FuzzOp.Stat("b", true)),
            // The kernel's i_size of the other name's inode, which O_APPEND writes at: data is overwritten.
            Regression.ops("hard link: O_APPEND through one name appends after data written through the other",
                    new FuzzOp.Open(0, "a", CREATE, 0644), new FuzzOp.Link("a", "b"), new FuzzOp.Sleep(1200),
                    new FuzzOp.Open(1, "b", Sys.O_WRONLY | Sys.O_APPEND, 0), new FuzzOp.PWrite(0, 0, 100, 1),
                    new FuzzOp.Write(1, 10, 3), new FuzzOp.CloseAll(), new FuzzOp.Sleep(1200), new FuzzOp.CheckTree())
                    .known("the data lands at the end (d4 appends itself), but the descriptor's offset afterwards is"
                            + " the kernel's, computed from the other name's stale size: " + HARD_LINKS),
            // The other name's page cache keeps the old bytes.
            Regression.ops("hard link: data written through one name reads through the other's descriptor",
                    new FuzzOp.Open(0, "a", CREATE, 0644), new FuzzOp.PWrite(0, 0, 100, 1), new FuzzOp.Link("a", "b"),
                    new FuzzOp.Sleep(1200), new FuzzOp.Open(1, "b", Sys.O_RDONLY, 0), new FuzzOp.PRead(1, 0, 100),
                    new FuzzOp.PWrite(0, 0, 100, 2), new FuzzOp.PRead(1, 0, 100))
                    .known(HARD_LINKS),
            // Locks hang on the kernel inode: two names, two inodes, no conflict.
            Regression.ops("hard link: flock and OFD locks through one name conflict with locks through the other",
                    new FuzzOp.Open(0, "f", CREATE, 0700), new FuzzOp.Link("f", "c"), new FuzzOp.Open(1, "c", Sys.O_RDONLY, 0),
                    new FuzzOp.Open(2, "f", Sys.O_RDWR, 0), new FuzzOp.Flock(2, Sys.LOCK_EX | Sys.LOCK_NB),
                    new FuzzOp.Flock(1, Sys.LOCK_EX | Sys.LOCK_NB), new FuzzOp.FcntlLock(2, FuzzSys.F_OFD_SETLK, Sys.F_WRLCK, 0, 0),
                    new FuzzOp.FcntlLock(1, FuzzSys.F_OFD_GETLK, Sys.F_RDLCK, 0, 0),
                    new FuzzOp.FcntlLock(1, FuzzSys.F_OFD_SETLK, Sys.F_RDLCK, 0, 0))
                    .known(HARD_LINKS),
            // libfuse 2 subtracts one from st_nlink of a hidden (unlinked-while-open) node; d4 has
            // already made the unlink real, so the other name's link is subtracted twice.
            Regression.ops("hard link: an open file unlinked under one name still counts the other link",
                    new FuzzOp.Open(0, "a", CREATE, 0644), new FuzzOp.Link("a", "b"), new FuzzOp.Unlink("a"),
                    new FuzzOp.FStat(0), new FuzzOp.Sleep(1200), new FuzzOp.FStat(0)),
            // rename(2) between two links of one inode does nothing; libfuse 2 first hides the open
            // target (d4 makes that a real unlink), then moves the source over it.
            Regression.ops("hard link: rename between two links of one open file does nothing",
                    new FuzzOp.Open(0, "c", CREATE, 0644), new FuzzOp.Link("c", "h"), new FuzzOp.Rename("h", "c"),
                    new FuzzOp.Stat("h", true), new FuzzOp.Stat("c", true), new FuzzOp.FStat(0))
                    .known(HARD_LINKS),

            // The hidden name is found through its directory's path, which no longer leads there.
            Regression.ops("open-unlinked file: fstat, fchmod, fchown still work after its directory is removed",
                    new FuzzOp.Mkdir("d", 0755), new FuzzOp.Open(0, "d/a", CREATE, 0644), new FuzzOp.Unlink("d/a"),
                    new FuzzOp.Rmdir("d"), new FuzzOp.FStat(0), new FuzzOp.PWrite(0, 0, 10, 1), new FuzzOp.PRead(0, 0, 10),
                    new FuzzOp.FTruncate(0, 3), new FuzzOp.FChmod(0, 0600), new FuzzOp.FChown(0, 1000, 1000), new FuzzOp.FStat(0))
                    .known(HIDDEN_WITHOUT_PATH),
            Regression.ops("open-unlinked file: fstat still works after its directory is replaced by a rename",
                    new FuzzOp.Mkdir("d", 0755), new FuzzOp.Open(0, "d/a", CREATE, 0644), new FuzzOp.Unlink("d/a"),
                    new FuzzOp.Mkdir("e", 0755), new FuzzOp.Rename("e", "d"), new FuzzOp.FStat(0))
                    .known(HIDDEN_WITHOUT_PATH),
            // Passes: renaming the directory is handled (hidden names are kept by directory id).
            Regression.ops("open-unlinked file: fstat still works after its directory is renamed",
                    new FuzzOp.Mkdir("d", 0755), new FuzzOp.Open(0, "d/a", CREATE, 0644), new FuzzOp.Unlink("d/a"),
                    new FuzzOp.Rename("d", "e"), new FuzzOp.FStat(0), new FuzzOp.Mkdir("d", 0755), new FuzzOp.FStat(0)),
            // libfuse 2 hides only files opened through FUSE_OPEN; a directory (opendir) or a FIFO
            // (opened by the kernel alone) is removed for real, and d4 deletes its inode.
            Regression.ops("open directory: fstat still works after rmdir",
                    new FuzzOp.Mkdir("d", 0755), new FuzzOp.Open(0, "d", Sys.O_RDONLY | Sys.O_DIRECTORY, 0),
                    new FuzzOp.Rmdir("d"), new FuzzOp.FStat(0))
                    .known(REMOVED_OPEN_NON_FILES),
            Regression.ops("open directory: fstat still works after it is renamed over",
                    new FuzzOp.Mkdir("d", 0755), new FuzzOp.Mkdir("e", 0755),
                    new FuzzOp.Open(0, "d", Sys.O_RDONLY | Sys.O_DIRECTORY, 0), new FuzzOp.Rename("e", "d"), new FuzzOp.FStat(0))
                    .known(REMOVED_OPEN_NON_FILES),
            Regression.ops("open FIFO: fstat and fchmod still work after unlink",
                    new FuzzOp.Mknod("p", Sys.S_IFIFO | 0644, 0), new FuzzOp.Open(0, "p", Sys.O_RDWR | Sys.O_NONBLOCK, 0),
                    new FuzzOp.Unlink("p"), new FuzzOp.FStat(0), new FuzzOp.FChmod(0, 0600), new FuzzOp.Write(0, 5, 1),
                    new FuzzOp.Read(0, 5))
                    .known(REMOVED_OPEN_NON_FILES),
            // The pipe's I/O is the kernel's; on ext4 it stamps the inode, through FUSE nothing tells d4.
            Regression.ops("FIFO: a write updates its mtime",
                    new FuzzOp.Mknod("f", Sys.S_IFIFO | 0644, 0),
                    new FuzzOp.Utimens("f", 0, Sys.UTIME_NOW, 758717634L, 12856693L, true),
                    new FuzzOp.Open(0, "f", Sys.O_RDWR | Sys.O_NONBLOCK, 0), new FuzzOp.Write(0, 100, 1), new FuzzOp.FStat(0))
                    .known("FIFO I/O is the kernel's alone; FUSE does not tell d4 of it (docs/semantics.md)"),

            // Since Linux 6.2 the VFS drops setgid without group-exec too when the writer is not in
            // the file's group; FUSE's own kill-priv path (no handle_killpriv in libfuse 2) does not.
            // d4 does it on write since 08c8013; truncate, ftruncate, O_TRUNC and fallocate still keep it.
            Regression.ops("setgid without group-exec is cleared by a write, truncate or fallocate of a non-member",
                    new FuzzOp.Mkdir("b", 0777), new FuzzOp.Open(0, "b/d", CREATE, 0666),
                    new FuzzOp.FChmod(0, 02666), new FuzzOp.AsUser(4321, 4321), new FuzzOp.PWrite(0, 0, 10, 1), new FuzzOp.AsUser(0, 0),
                    new FuzzOp.FChmod(0, 02666), new FuzzOp.AsUser(4321, 4321), new FuzzOp.FTruncate(0, 1000), new FuzzOp.AsUser(0, 0),
                    new FuzzOp.FChmod(0, 02666), new FuzzOp.AsUser(4321, 4321), new FuzzOp.Truncate("b/d", 10), new FuzzOp.AsUser(0, 0),
                    new FuzzOp.FChmod(0, 02666), new FuzzOp.AsUser(4321, 4321),
                    new FuzzOp.Open(1, "b/d", Sys.O_WRONLY | Sys.O_TRUNC, 0), new FuzzOp.AsUser(0, 0),
                    new FuzzOp.FChmod(0, 02666), new FuzzOp.AsUser(4321, 4321), new FuzzOp.Fallocate(0, 0, 0, 8192)),

            // ext4 frees blocks preallocated past EOF when a truncate does not grow the file
            // (ftruncate to the same size, O_TRUNC) and keeps them when it grows it; d4 the other way round.
            Regression.ops("fallocate: KEEP_SIZE blocks past EOF go with a truncate that does not grow the file",
                    new FuzzOp.Open(0, "h", CREATE, 0644), new FuzzOp.Fallocate(0, Sys.FALLOC_FL_KEEP_SIZE, 1454, 49792),
                    new FuzzOp.FTruncate(0, 0), new FuzzOp.Fallocate(0, Sys.FALLOC_FL_KEEP_SIZE, 1454, 49792),
                    new FuzzOp.Open(1, "h", Sys.O_RDWR | Sys.O_TRUNC, 0)),
            // A punch that reaches past the end of file frees the block holding the end of file.
            Regression.ops("fallocate: a punch past EOF frees the last partial block",
                    new FuzzOp.Mkdir("e", 01777), new FuzzOp.Open(9, "e/f_f", Sys.O_RDWR | Sys.O_CREAT | Sys.O_APPEND, 0777),
                    new FuzzOp.Fallocate(9, 16, 45309L, 151783L), new FuzzOp.Fallocate(9, 3, 6195L, 191445L)),
            // Found by a 1M-op run after the B+tree landed: ext4 (6.18) punches nothing from a hole that
            // starts at or past EOF, and stops one that reaches past EOF at the block after EOF.
            Regression.ops("fallocate: a punch starting past EOF keeps the KEEP_SIZE blocks there",
                    new FuzzOp.Open(0, "e_f", Sys.O_WRONLY | Sys.O_CREAT | Sys.O_NONBLOCK, 06065),
                    new FuzzOp.Open(1, "e_f", Sys.O_WRONLY | Sys.O_NONBLOCK, 0),
                    new FuzzOp.Fallocate(1, 1, 60698L, 12833L), new FuzzOp.Fallocate(1, 3, 7828L, 124806L)),
            Regression.ops("fallocate: a punch reaching past EOF stops at the block after EOF",
                    new FuzzOp.Open(0, "h", CREATE, 0644), new FuzzOp.Fallocate(0, 0, 0, 5000),
                    new FuzzOp.Fallocate(0, Sys.FALLOC_FL_KEEP_SIZE, 8192, 16384), new FuzzOp.Fallocate(0, 3, 100, 100000)),
            // Found by the same run: chown by a caller outside the file's group clears setgid even
            // without group-exec (Linux 6.x setattr_should_drop_sgid), which FUSE leaves to d4.
            Regression.ops("chown: setgid without group-exec goes when the caller is not in the file's group",
                    new FuzzOp.AsUser(4321, 100), new FuzzOp.Mkdir("b", 06711), new FuzzOp.Mknod("b/c", 016540, 0L),
                    new FuzzOp.AsUser(4321, 4321), new FuzzOp.Chown("b/c", 4321, 4321, true)),
            Regression.ops("fallocate: KEEP_SIZE blocks past EOF stay when a truncate grows the file",
                    new FuzzOp.Open(0, "h", CREATE, 0644), new FuzzOp.Fallocate(0, Sys.FALLOC_FL_KEEP_SIZE, 7314, 144886),
                    new FuzzOp.Truncate("h", 2257)));

    Mount m;
    Path d4Base;
    Path ext4Base;

    @BeforeAll
    void mount(@TempDir Path base) throws Exception {
        // chown to other users, device nodes and running calls as other users need root (as CI runs).
        assumeTrue(FuzzSys.setfsuid(-1) == 0, "the differential fuzzer runs as root");
        // Searchable by other users: ops run as other fsuids (FuzzFamily.CRED) must reach both trees.
        Sys.chmod(base.toString(), 0755);
        m = new Mount(base).mount();
        d4Base = m.mountPoint;
        ext4Base = Files.createDirectories(base.resolve("ext4"));
        Sys.chmod(ext4Base.toString(), 0755);
        // The fuzzer's premise: the reference really is ext4, and the other side really is d4.
        assertEquals(0xEF53, Sys.statfs(ext4Base.toString())[0], "the native side must be ext4 (is /tmp something else?)");
        assertEquals(0x65735546, Sys.statfs(d4Base.toString())[0], "the d4 side must be a FUSE mount");
    }

    @AfterAll
    void unmount() throws Exception {
        if (m != null) {
            m.close();
        }
    }

    private static long longProp(String name, long dflt) {
        return Long.parseLong(System.getProperty(name, Long.toString(dflt)).trim());
    }

    private static FuzzMix mix() {
        String prop = System.getProperty("d4.fuzz.exclude");
        return prop == null ? FuzzMix.DEFAULT : FuzzMix.parse(prop);
    }

    @Test
    void randomSequencesBehaveAsOnExt4() {
        long seed = longProp("d4.fuzz.seed", DEFAULT_SEED);
        int sequences = (int) longProp("d4.fuzz.sequences", DEFAULT_SEQUENCES);
        int ops = (int) longProp("d4.fuzz.ops", DEFAULT_OPS);
        int checkEvery = (int) longProp("d4.fuzz.checkEvery", 50);
        long minimizeMillis = longProp("d4.fuzz.minimizeSeconds", 15) * 1000;
        long minimizeTotalMillis = longProp("d4.fuzz.minimizeTotalSeconds", 40) * 1000;
        FuzzMix mix = mix();
        FuzzRunner runner = new FuzzRunner(d4Base, ext4Base, mix, checkEvery);
        Map<String, String> reports = new LinkedHashMap<>();
        List<String> repeats = new ArrayList<>();
        long[] minimizedMillis = {0};
        long minutes = longProp("d4.fuzz.timeoutMinutes", 20);
        long deadline = System.currentTimeMillis() + minutes * 60_000;
        // The run stops starting sequences at the deadline and reports what it found; the hard
        // timeout, later, is only for a call that hangs in the mount (then @AfterAll unmounts).
        assertTimeoutPreemptively(Duration.ofMinutes(minutes + 5), () -> {
            long started = System.nanoTime();
            int k = 0;
            for (; k < sequences && System.currentTimeMillis() < deadline; k++) {
                long s = seed + k;
                FuzzRunner.Run run = runner.generate(s, ops);
                if (Boolean.getBoolean("d4.fuzz.trace")) {
                    System.out.println("seed " + s + ":\n" + FuzzRunner.trace(run));
                }
                if (!run.failed()) {
                    continue;
                }
                String cls = run.diff().signature();
                if (reports.containsKey(cls) || reports.size() >= MAX_REPORTED) {
                    repeats.add("seed " + s + ": " + cls + " at step " + run.steps().size());
                    continue;
                }
                long budget = Math.min(minimizeMillis, minimizeTotalMillis - minimizedMillis[0]);
                long t0 = System.currentTimeMillis();
                FuzzRunner.Minimized min = runner.minimize(run, Math.max(0, budget));
                minimizedMillis[0] += System.currentTimeMillis() - t0;
                String report = FuzzRunner.report("seed " + s, s, ops, mix, run, min);
                System.out.println(report);
                reports.put(cls, report);
            }
            System.out.printf("d4 fuzz: %d sequences x %d ops from seed %d (excluding %s) in %.1f s, %d distinct differences%s%n",
                    k, ops, seed, mix, (System.nanoTime() - started) / 1e9, reports.size(),
                    k < sequences ? " (stopped at the deadline, " + (sequences - k) + " sequences not run)" : "");
        });
        if (!reports.isEmpty()) {
            fail(reports.size() + " distinct differences between d4 and ext4:\n\n" + String.join("\n", reports.values())
                    + (repeats.isEmpty() ? "" : "\nsame classes again at: " + String.join("; ", repeats)));
        }
    }

    @TestFactory
    Stream<DynamicTest> regressions() {
        return REGRESSIONS.stream().map(r -> DynamicTest.dynamicTest(r.name(), () -> {
            FuzzMix mix = FuzzMix.parse(r.exclude());
            FuzzRunner runner = new FuzzRunner(d4Base, ext4Base, mix, 50);
            // A sequence runs to its end, so that the report shows every step that differs (a
            // difference early on, such as a stale nlink, must not hide a worse one after it).
            FuzzRunner.Run run = r.sequence() == null ? runner.generate(r.seed(), r.ops()) : runner.replay(r.sequence(), true);
            if (r.knownDifference() != null) {
                if (!run.failed()) {
                    fail("d4 now behaves as ext4 in \"" + r.name() + "\": remove .known(...) here and the difference from"
                            + " docs/semantics.md (" + r.knownDifference() + ")");
                }
                return;
            }
            if (run.failed()) {
                FuzzRunner.Minimized min = new FuzzRunner.Minimized(run.ops(), run, 0, true);
                fail(FuzzRunner.report(r.sequence() == null ? "seed " + r.seed() : "regression \"" + r.name() + "\"", r.seed(),
                        r.ops(), mix, run, min));
            }
        }));
    }
}
