package d4.it;

import static d4.it.Sys.O_CREAT;
import static d4.it.Sys.O_DIRECTORY;
import static d4.it.Sys.O_EXCL;
import static d4.it.Sys.O_RDONLY;
import static d4.it.Sys.O_WRONLY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** mkdir, rmdir, unlink, directory link counts, and readdir (getdents64) with "." and "..", big and changing directories. */
class PosixDirIT extends PosixConformance {

    private static void touch(String path) {
        close(open(path, O_CREAT | O_EXCL | O_WRONLY, 0644));
    }

    @OnBoth
    void mkdirCreatesAnEmptyDirectory(Root r) {
        ok(Sys.mkdir(r.path("d"), 0750), "mkdir");
        Sys.Stat st = stat(r.path("d"));
        assertEquals(Sys.S_IFDIR, st.type());
        assertEquals(0750 & ~umask(), st.perm());
        assertEquals(2, st.nlink());
        assertEquals(4096, st.size());
        assertEquals(List.of(".", ".."), names(r.path("d")));
        // mkdir keeps the sticky bit but drops setuid and setgid (the parent is not setgid).
        ok(Sys.mkdir(r.path("all"), 07777), "mkdir 07777");
        assertEquals(01777 & ~umask(), stat(r.path("all")).perm());
    }

    @OnBoth
    void mkdirErrors(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        touch(r.path("f"));
        ok(Sys.symlink("nowhere", r.path("dangling")), "symlink");
        assertErrno(Sys.EEXIST, Sys.mkdir(r.path("d"), 0755), "mkdir of an existing directory");
        assertErrno(Sys.EEXIST, Sys.mkdir(r.path("f"), 0755), "mkdir over a file");
        assertErrno(Sys.EEXIST, Sys.mkdir(r.path("dangling"), 0755), "mkdir over a dangling symlink");
        assertErrno(Sys.ENOENT, Sys.mkdir(r.path("missing/d"), 0755), "mkdir in a missing directory");
        assertErrno(Sys.ENOTDIR, Sys.mkdir(r.path("f/d"), 0755), "mkdir under a file");
        assertErrno(Sys.EEXIST, Sys.mkdir(r.path("d/."), 0755), "mkdir of '.'");
    }

    @OnBoth
    void rmdirErrors(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        touch(r.path("d/child"));
        touch(r.path("f"));
        ok(Sys.mkdir(r.path("empty"), 0755), "mkdir");
        assertErrno(Sys.ENOENT, Sys.rmdir(r.path("missing")), "rmdir of a missing name");
        assertErrno(Sys.ENOTEMPTY, Sys.rmdir(r.path("d")), "rmdir of a non-empty directory");
        assertErrno(Sys.ENOTDIR, Sys.rmdir(r.path("f")), "rmdir of a file");
        assertErrno(Sys.EINVAL, Sys.rmdir(r.path("empty/.")), "rmdir of '.'");
        assertErrno(Sys.ENOTEMPTY, Sys.rmdir(r.path("d/..")), "rmdir of '..'");
        ok(Sys.symlink("empty", r.path("link")), "symlink");
        assertErrno(Sys.ENOTDIR, Sys.rmdir(r.path("link")), "rmdir of a symlink to a directory");
        ok(Sys.rmdir(r.path("empty")), "rmdir of an empty directory");
        assertEquals(-Sys.ENOENT, Sys.stat(r.path("empty")).result());
    }

    @OnBoth
    void unlinkErrors(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        touch(r.path("f"));
        assertErrno(Sys.ENOENT, Sys.unlink(r.path("missing")), "unlink of a missing name");
        assertErrno(Sys.EISDIR, Sys.unlink(r.path("d")), "unlink of a directory");
        assertErrno(Sys.ENOTDIR, Sys.unlink(r.path("f/")), "unlink with a trailing slash on a file");
        assertErrno(Sys.ENOTDIR, Sys.unlink(r.path("f/x")), "unlink under a file");
        ok(Sys.symlink("d", r.path("link")), "symlink");
        ok(Sys.unlink(r.path("link")), "unlink removes the symlink, not its target");
        assertEquals(Sys.S_IFDIR, stat(r.path("d")).type());
        ok(Sys.unlink(r.path("f")), "unlink");
        assertEquals(List.of(".", "..", "d"), names(r.path()));
    }

    @OnBoth
    void directoryLinkCountIsTwoPlusSubdirectories(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        long parentBefore = stat(r.path()).nlink();
        assertEquals(3, parentBefore, "the case directory: 2 + d");
        for (String sub : List.of("a", "b", "c")) {
            ok(Sys.mkdir(r.path("d/" + sub), 0755), "mkdir");
        }
        touch(r.path("d/file"));
        ok(Sys.symlink("a", r.path("d/link")), "symlink");
        assertEquals(5, stat(r.path("d")).nlink(), "2 + three subdirectories; files and symlinks do not count");
        ok(Sys.rmdir(r.path("d/b")), "rmdir");
        assertEquals(4, stat(r.path("d")).nlink());
        assertEquals(2, stat(r.path("d/a")).nlink());
        ok(Sys.unlink(r.path("d/file")), "unlink");
        assertEquals(4, stat(r.path("d")).nlink());
        assertEquals(3, stat(r.path()).nlink(), "grandchildren do not count");
    }

    @OnBoth
    void dotAndDotDotArePresentWithTheRightInodes(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        touch(r.path("d/f"));
        ok(Sys.mkdir(r.path("d/sub"), 0755), "mkdir");
        ok(Sys.symlink("f", r.path("d/l")), "symlink");
        Map<String, Sys.Dirent> byName = new HashMap<>();
        for (Sys.Dirent e : entries(r.path("d"))) {
            assertTrue(byName.put(e.nameString(), e) == null, "listed twice: " + e.nameString());
        }
        assertEquals(Set.of(".", "..", "f", "sub", "l"), byName.keySet());
        assertEquals(stat(r.path("d")).ino(), byName.get(".").ino());
        assertEquals(stat(r.path()).ino(), byName.get("..").ino());
        assertEquals(lstat(r.path("d/f")).ino(), byName.get("f").ino());
        assertEquals(Sys.DT_DIR, byName.get(".").type());
        assertEquals(Sys.DT_DIR, byName.get("..").type());
        assertEquals(Sys.DT_REG, byName.get("f").type());
        assertEquals(Sys.DT_DIR, byName.get("sub").type());
        assertEquals(Sys.DT_LNK, byName.get("l").type());
        assertEquals(stat(r.path()).ino(), stat(r.path("d/sub/../..")).ino(), "'..' resolves to the parent");
    }

    @OnBoth
    void aBigDirectoryListsEveryNameExactlyOnce(Root r) {
        int n = 20_000;
        ok(Sys.mkdir(r.path("big"), 0755), "mkdir");
        for (int i = 0; i < n; i++) {
            // mknod: one system call (and one FUSE request) per file, where open+close costs four
            ok(Sys.mknod(r.path("big/entry-" + i), Sys.S_IFREG | 0644, 0), "mknod #" + i);
        }
        Set<String> seen = new HashSet<>();
        List<String> duplicates = new ArrayList<>();
        for (Sys.Dirent e : entries(r.path("big"))) {
            if (!seen.add(e.nameString())) {
                duplicates.add(e.nameString());
            }
        }
        assertEquals(List.of(), duplicates, "names listed twice");
        assertEquals(n + 2, seen.size(), "every entry and . and ..");
        for (int i = 0; i < n; i++) {
            assertTrue(seen.contains("entry-" + i), "missing entry-" + i);
        }
    }

    /**
     * POSIX leaves open whether a name added or removed during a listing shows up, but every name that
     * exists throughout must be returned exactly once, however small the reads.
     */
    @OnBoth
    void namesPresentThroughoutAListingAppearExactlyOnce(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        for (int i = 0; i < 1000; i++) {
            touch(r.path("d/stay-" + i));
            touch(r.path("d/gone-" + i));
        }
        int fd = open(r.path("d"), O_RDONLY | O_DIRECTORY);
        Map<String, Integer> counts = new HashMap<>();
        int round = 0;
        for (Sys.Dirents d; (d = Sys.getdents(fd, 1024)).result() != 0; round++) {
            ok(d.result(), "getdents");
            d.entries().forEach(e -> counts.merge(e.nameString(), 1, Integer::sum));
            if (round < 50) { // churn while the listing is under way
                for (int i = round * 20; i < round * 20 + 20; i++) {
                    ok(Sys.unlink(r.path("d/gone-" + i)), "unlink");
                    touch(r.path("d/new-" + round + "-" + i));
                }
            }
        }
        close(fd);
        for (int i = 0; i < 1000; i++) {
            assertEquals(1, counts.getOrDefault("stay-" + i, 0), "stay-" + i + " must be listed exactly once");
        }
        counts.forEach((name, c) -> assertEquals(1, c, name + " listed " + c + " times"));
    }

    /** rewinddir (lseek to 0) starts over and sees names created since the listing began. */
    @OnBoth
    void rewindSeesNewNames(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        touch(r.path("d/a"));
        int fd = open(r.path("d"), O_RDONLY | O_DIRECTORY);
        assertEquals(3, Sys.getdents(fd, 32768).entries().size());
        assertEquals(0, Sys.getdents(fd, 32768).result(), "the end");
        touch(r.path("d/b"));
        assertEquals(0, Sys.lseek(fd, 0, Sys.SEEK_SET));
        List<String> again = Sys.getdents(fd, 32768).entries().stream().map(Sys.Dirent::nameString).sorted().toList();
        assertEquals(List.of(".", "..", "a", "b"), again);
        close(fd);
    }

    /** telldir/seekdir: an entry's d_off, given back to lseek, continues the listing right after that entry. */
    @OnBoth
    void seekToAnEntryOffsetContinuesAfterIt(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        for (int i = 0; i < 100; i++) {
            touch(r.path("d/e" + i));
        }
        int fd = open(r.path("d"), O_RDONLY | O_DIRECTORY);
        List<Sys.Dirent> all = new ArrayList<>();
        for (Sys.Dirents d; (d = Sys.getdents(fd, 32768)).result() > 0; ) {
            all.addAll(d.entries());
        }
        assertEquals(102, all.size());
        for (int k : new int[] {0, 1, 50, 100}) {
            assertEquals(all.get(k).off(), Sys.lseek(fd, all.get(k).off(), Sys.SEEK_SET), "seekdir");
            List<Sys.Dirent> rest = Sys.getdents(fd, 32768).entries();
            assertFalse(rest.isEmpty(), "entries after #" + k);
            assertEquals(all.get(k + 1).nameString(), rest.getFirst().nameString(), "the entry after #" + k);
        }
        close(fd);
    }

    @OnBoth
    @KnownDifference("fstat of a removed directory through an open descriptor: libfuse 2 sends GETATTR by path, and the path is gone")
    void aRemovedDirectoryCannotBeListedThroughAnOpenDescriptor(Root r) {
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        int fd = open(r.path("d"), O_RDONLY | O_DIRECTORY);
        ok(Sys.rmdir(r.path("d")), "rmdir");
        assertErrno(Sys.ENOENT, Sys.getdents(fd, 32768).result(), "getdents of a removed directory");
        assertEquals(0, fstat(fd).nlink(), "a removed directory has no links, not even '.'");
        close(fd);
    }

    @OnBoth
    void listingAFileFails(Root r) {
        touch(r.path("f"));
        int fd = open(r.path("f"), O_RDONLY);
        assertErrno(Sys.ENOTDIR, Sys.getdents(fd, 32768).result(), "getdents on a file");
        close(fd);
    }
}
