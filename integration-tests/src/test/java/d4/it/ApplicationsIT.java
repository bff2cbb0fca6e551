package d4.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real applications on a d4 mount, unchanged: git, tar, cp -a, rsync -aHAX, sqlite3 in WAL mode,
 * make with gcc. Each works on the mount as it does on a native directory, and what it copies
 * compares equal to its source (content, modes, links, times, extended attributes).
 */
@Timeout(300)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApplicationsIT {
    Mount m;
    Path d4;
    Path nativeDir;

    @BeforeAll
    void mount(@TempDir Path base, @TempDir Path nativeBase) throws Exception {
        m = new Mount(base).mount();
        d4 = m.mountPoint;
        nativeDir = nativeBase;
        makeSourceTree(nativeDir.resolve("src"));
    }

    @AfterAll
    void unmount() throws Exception {
        m.close();
    }

    /** A tree with the things copy tools must keep: modes, a hard link, symlinks, an xattr, times, a sparse file. */
    private static void makeSourceTree(Path src) throws Exception {
        Files.createDirectories(src.resolve("dir/sub"));
        Files.writeString(src.resolve("dir/a.txt"), "alpha\n".repeat(1000));
        Files.write(src.resolve("dir/sub/b.bin"), new byte[70_000]);
        Files.createLink(src.resolve("dir/a-link.txt"), src.resolve("dir/a.txt"));
        Files.createSymbolicLink(src.resolve("dir/to-a"), Path.of("a.txt"));
        Files.createSymbolicLink(src.resolve("dangling"), Path.of("nowhere"));
        run(src, "chmod", "0750", "dir/sub");
        run(src, "chmod", "4755", "dir/a.txt");
        run(src, "touch", "-d", "2001-02-03 04:05:06.123456789", "dir/sub/b.bin");
        run(src, "truncate", "-s", "50M", "sparse");
        run(src, "sh", "-c", "printf tail >> sparse");
        assertEquals(0, Sys.setxattr(src.resolve("dir/a.txt").toString(), "user.origin", "test".getBytes(), 0));
    }

    private static String run(Path dir, String... cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("GIT_AUTHOR_NAME", "d4");
        pb.environment().put("GIT_AUTHOR_EMAIL", "d4@example.org");
        pb.environment().put("GIT_COMMITTER_NAME", "d4");
        pb.environment().put("GIT_COMMITTER_EMAIL", "d4@example.org");
        pb.environment().put("HOME", dir.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not finish in 120 s:\n" + out);
        }
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " in " + dir + " failed:\n" + out);
        return out;
    }

    private static boolean installed(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Every entry under a tree: relative path, type, mode, size, link count, mtime (ns), content hash, xattrs. */
    private static List<String> describe(Path root) throws IOException {
        List<String> out = new ArrayList<>();
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted().toList()) {
                Sys.Stat st = Sys.lstat(p.toString());
                String rel = root.relativize(p).toString();
                String content = st.type() == Sys.S_IFREG ? Integer.toHexString(java.util.Arrays.hashCode(Files.readAllBytes(p)))
                        : st.type() == Sys.S_IFLNK ? Files.readSymbolicLink(p).toString() : "";
                String xattrs = st.type() == Sys.S_IFLNK ? "" : String.join(",", Sys.xattrNames(Sys.listxattr(p.toString(), 4096)));
                out.add(rel + " mode=" + Integer.toOctalString(st.mode()) + " size=" + (st.type() == Sys.S_IFDIR ? "-" : st.size())
                        + " nlink=" + (st.type() == Sys.S_IFDIR ? "-" : st.nlink()) + " mtime="
                        + (st.type() == Sys.S_IFLNK ? "-" : st.mtimeSec() + "." + st.mtimeNsec()) + " " + content + " [" + xattrs + "]");
            }
        }
        return out;
    }

    @Test
    void cpArchiveCopiesEverything() throws Exception {
        run(nativeDir, "cp", "-a", "src", d4.resolve("cp").toString());
        assertEquals(describe(nativeDir.resolve("src")), describe(d4.resolve("cp")));
        Sys.Stat sparse = Sys.stat(d4.resolve("cp/sparse").toString());
        assertTrue(sparse.blocks() * 512 < 10L << 20, "cp kept the file sparse: " + sparse.blocks() + " blocks");
    }

    @Test
    void tarRoundTripsThroughTheMount() throws Exception {
        run(nativeDir, "tar", "--xattrs", "-cf", d4.resolve("t.tar").toString(), "src");
        Path out = Files.createDirectories(d4.resolve("untar"));
        run(out, "tar", "--xattrs", "-xpf", d4.resolve("t.tar").toString());
        assertEquals(describe(nativeDir.resolve("src")), describe(out.resolve("src")));
        run(d4, "tar", "-tf", "t.tar");
    }

    @Test
    void rsyncWithHardLinksAclsAndXattrs() throws Exception {
        Assumptions.assumeTrue(installed("rsync"), "rsync is not installed (.ci/run installs it)");
        run(nativeDir, "rsync", "-aHAX", "src/", d4.resolve("rs").toString() + "/");
        assertEquals(describe(nativeDir.resolve("src")), describe(d4.resolve("rs")));
        String again = run(nativeDir, "rsync", "-aHAXc", "--itemize-changes", "--dry-run", "src/", d4.resolve("rs") + "/");
        assertEquals("", again.trim(), "a second rsync finds nothing to do");
    }

    @Test
    void gitCommitsClonesAndFscks() throws Exception {
        Path repo = Files.createDirectories(d4.resolve("repo"));
        run(repo, "git", "init", "-q", "-b", "main");
        for (int i = 0; i < 30; i++) {
            Files.writeString(repo.resolve("f" + i + ".txt"), "line " + i + "\n");
        }
        run(repo, "git", "add", ".");
        run(repo, "git", "commit", "-q", "-m", "first");
        Files.writeString(repo.resolve("f1.txt"), "changed\n");
        run(repo, "git", "mv", "f2.txt", "renamed.txt");
        run(repo, "git", "commit", "-q", "-am", "second");
        run(repo, "git", "gc", "-q");
        run(repo, "git", "fsck", "--full");
        run(d4, "git", "clone", "-q", "repo", "clone");
        assertEquals("changed\n", Files.readString(d4.resolve("clone/f1.txt")));
        assertTrue(run(d4.resolve("clone"), "git", "log", "--oneline").lines().count() == 2);
        assertEquals("", run(repo, "git", "status", "--porcelain"));
    }

    @Test
    void sqliteInWalModeStaysIntact() throws Exception {
        Assumptions.assumeTrue(installed("sqlite3"), "sqlite3 is not installed (.ci/run installs it)");
        Path db = d4.resolve("app.db");
        String script = """
                PRAGMA journal_mode=WAL;
                CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
                  INSERT INTO t(v) SELECT hex(randomblob(32)) FROM n;
                UPDATE t SET v = 'x' WHERE id % 7 = 0;
                DELETE FROM t WHERE id % 11 = 0;
                PRAGMA wal_checkpoint(TRUNCATE);
                PRAGMA integrity_check;
                SELECT count(*) FROM t;
                """;
        String out = run(d4, "sqlite3", db.toString(), script);
        assertTrue(out.contains("wal"), out);
        assertTrue(out.contains("ok"), "integrity_check: " + out);
        assertTrue(out.trim().endsWith("18182"), "20000 rows minus every 11th: " + out);
        // A second connection sees the data through the WAL and the shared-memory index (mmap).
        String reader = run(d4, "sqlite3", db.toString(), "PRAGMA journal_mode; SELECT count(*) FROM t WHERE v = 'x';");
        assertTrue(reader.startsWith("wal"), reader);
    }

    @Test
    void makeBuildsWithGcc() throws Exception {
        Assumptions.assumeTrue(installed("gcc") && installed("make"), "gcc or make is not installed");
        Path proj = Files.createDirectories(d4.resolve("build"));
        Files.writeString(proj.resolve("main.c"), "#include <stdio.h>\nint add(int,int);\nint main(void){printf(\"%d\\n\", add(2,3));return 0;}\n");
        Files.writeString(proj.resolve("add.c"), "int add(int a,int b){return a+b;}\n");
        Files.writeString(proj.resolve("Makefile"), "app: main.o add.o\n\tgcc -o app main.o add.o\n%.o: %.c\n\tgcc -c -o $@ $<\n");
        run(proj, "make", "-s");
        assertEquals("5", run(proj, "./app").trim());
        assertEquals("", run(proj, "make", "-q", "app").trim(), "make sees the build as up to date (mtimes are right)");
    }
}
