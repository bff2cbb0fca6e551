package d4.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.ObjectId;
import d4.engine.Pool;
import d4.engine.PoolOptions;
import d4.engine.VolumeSpec;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The namespace without FUSE: POSIX semantics and errors on a real pool in a temp file. */
class FileSystemTest {
    @TempDir
    Path dir;

    Path volume;
    Pool pool;
    FileSystem fs;
    final Caller alice = new Caller(1000, 1000);

    @BeforeEach
    void open() {
        volume = dir.resolve("v.d4vol");
        Pool.format("t", List.of(new VolumeSpec(volume, 64L << 20)));
        reopen();
    }

    void reopen() {
        if (pool != null) {
            pool.close();
        }
        pool = Pool.open(List.of(volume), PoolOptions.defaults().withDriveFactory(
                d4.engine.io.DriveFactory.forEngine(System.getProperty("d4.test.ioEngine", "io_uring"))));
        fs = new FileSystem(pool);
    }

    @AfterEach
    void close() {
        pool.close();
    }

    static FsError errorOf(Runnable r) {
        FsException e = assertThrows(FsException.class, r::run);
        return e.error();
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    void write(String path, String content) {
        Inode i = fs.create(path, 0644, alice);
        fs.write(i.id(), 0, MemorySegment.ofArray(utf8(content)));
        fs.release(i.id());
    }

    String read(String path) {
        Inode i = fs.open(path);
        try {
            byte[] b = new byte[(int) i.sizeBytes()];
            int n = fs.read(i.id(), 0, MemorySegment.ofArray(b));
            return new String(b, 0, n, StandardCharsets.UTF_8);
        } finally {
            fs.release(i.id());
        }
    }

    @Test
    void rootIsADirectoryThatPersists() {
        Inode root = fs.getattr("/");
        assertTrue(root.isDirectory());
        assertEquals(2, root.nlink());
        long id = root.id();
        reopen();
        assertEquals(id, fs.getattr("/").id());
    }

    @Test
    void createWriteReadAndOwnership() {
        write("/f", "hello");
        Inode f = fs.getattr("/f");
        assertEquals(5, f.sizeBytes());
        assertEquals(Inode.S_IFREG | 0644, f.mode());
        assertEquals(1000, f.uid());
        assertEquals(1000, f.gid());
        assertEquals("hello", read("/f"));
        assertEquals(FsError.EXISTS, errorOf(() -> fs.create("/f", 0644, alice)));
        assertEquals(FsError.NOT_FOUND, errorOf(() -> fs.getattr("/missing")));
        assertEquals(FsError.NOT_DIRECTORY, errorOf(() -> fs.getattr("/f/x")));
        assertEquals(FsError.NOT_FOUND, errorOf(() -> fs.create("/nodir/f", 0644, alice)));
        assertEquals(FsError.NAME_TOO_LONG, errorOf(() -> fs.create("/" + "n".repeat(256), 0644, alice)));
        fs.create("/" + "n".repeat(255), 0644, alice);
    }

    @Test
    void directoriesCountLinksAndRefuseWrongRemovals() {
        fs.mkdir("/d", 0755, alice);
        fs.mkdir("/d/sub", 0755, alice);
        assertEquals(3, fs.getattr("/d").nlink());
        assertEquals(3, fs.getattr("/").nlink());
        write("/d/file", "x");
        assertEquals(FsError.NOT_EMPTY, errorOf(() -> fs.rmdir("/d")));
        assertEquals(FsError.NOT_DIRECTORY, errorOf(() -> fs.rmdir("/d/file")));
        assertEquals(FsError.IS_DIRECTORY, errorOf(() -> fs.unlink("/d/sub")));
        fs.rmdir("/d/sub");
        assertEquals(2, fs.getattr("/d").nlink());
        List<String> names = fs.readdir("/d").stream().map(e -> new String(e.name(), StandardCharsets.UTF_8)).toList();
        assertEquals(List.of(".", "..", "file"), names);
        assertEquals(fs.getattr("/").id(), fs.readdir("/d").get(1).inode(), ".. is the parent");
    }

    @Test
    void renameFollowsRename2() {
        fs.mkdir("/a", 0755, alice);
        fs.mkdir("/a/b", 0755, alice);
        fs.mkdir("/c", 0755, alice);
        write("/c/f", "f");
        assertEquals(FsError.INVALID, errorOf(() -> fs.rename("/a", "/a/b/inside")));
        assertEquals(FsError.NOT_DIRECTORY, errorOf(() -> fs.rename("/a", "/c/f")));
        assertEquals(FsError.IS_DIRECTORY, errorOf(() -> fs.rename("/c/f", "/a")));
        assertEquals(FsError.NOT_EMPTY, errorOf(() -> fs.rename("/c", "/a")), "a is not empty");
        assertEquals(FsError.NOT_FOUND, errorOf(() -> fs.rename("/nope", "/x")));
        long bId = fs.getattr("/a/b").id();
        fs.rename("/a/b", "/c/b2"); // a directory changes parent
        assertEquals(bId, fs.getattr("/c/b2").id());
        assertEquals(2, fs.getattr("/a").nlink());
        assertEquals(3, fs.getattr("/c").nlink());
        assertEquals(fs.getattr("/c").id(), fs.getattr("/c/b2").parent());
        write("/g", "new");
        fs.rename("/g", "/c/f"); // replaces a file
        assertEquals("new", read("/c/f"));
        assertEquals(FsError.NOT_FOUND, errorOf(() -> fs.getattr("/g")));
        fs.mkdir("/empty", 0755, alice);
        fs.rename("/a", "/empty"); // replaces an empty directory
        assertEquals(FsError.NOT_FOUND, errorOf(() -> fs.getattr("/a")));
        fs.link("/c/f", "/c/f-link");
        fs.rename("/c/f", "/c/f-link"); // two names of one inode: nothing happens
        assertEquals(2, fs.getattr("/c/f").nlink());
        reopen();
        assertEquals("new", read("/c/f-link"));
        assertTrue(fs.getattr("/empty").isDirectory());
    }

    @Test
    void hardLinksAndSymlinks() {
        write("/f", "data");
        fs.link("/f", "/g");
        assertEquals(2, fs.getattr("/f").nlink());
        assertEquals(fs.getattr("/f").id(), fs.getattr("/g").id());
        fs.mkdir("/d", 0755, alice);
        assertEquals(FsError.NOT_PERMITTED, errorOf(() -> fs.link("/d", "/d2")));
        assertEquals(FsError.EXISTS, errorOf(() -> fs.link("/f", "/g")));
        fs.unlink("/f");
        assertEquals(1, fs.getattr("/g").nlink());
        assertEquals("data", read("/g"));
        fs.symlink(utf8("g"), "/s", alice);
        Inode s = fs.getattr("/s");
        assertTrue(s.isSymlink());
        assertEquals(1, s.sizeBytes(), "a symlink's size is its target's length");
        assertArrayEquals(utf8("g"), fs.readlink("/s"));
        assertEquals(FsError.INVALID, errorOf(() -> fs.readlink("/g")));
    }

    @Test
    void unlinkedOpenFileLivesUntilLastCloseOrNextMount() {
        write("/f", "still here");
        Inode open = fs.open("/f");
        fs.unlink("/f");
        assertEquals(FsError.NOT_FOUND, errorOf(() -> fs.getattr("/f")));
        assertEquals(0, fs.getattr(open.id()).nlink());
        byte[] b = new byte[10];
        fs.read(open.id(), 0, MemorySegment.ofArray(b));
        assertEquals("still here", new String(b, StandardCharsets.UTF_8));
        fs.release(open.id());
        assertFalse(pool.find(new ObjectId(open.id())).isPresent(), "deleted at the last close");

        write("/h", "orphan");
        Inode h = fs.open("/h");
        fs.unlink("/h");
        pool.sync();
        reopen(); // as after a crash with the file still open: the orphan is removed at mount
        assertFalse(pool.find(new ObjectId(h.id())).isPresent());
    }

    @Test
    void libfuseHiddenRenameActsAsUnlink() {
        write("/f", "x");
        Inode open = fs.open("/f");
        String hidden = "/.fuse_hidden0000000500000001";
        fs.rename("/f", hidden);
        assertEquals(FsError.NOT_FOUND, errorOf(() -> fs.getattr("/f")));
        assertEquals(open.id(), fs.getattr(hidden).id(), "the hidden path still answers (fstat)");
        assertEquals(0, fs.getattr(hidden).nlink());
        assertEquals(2, fs.readdir("/").size(), "no hidden name in the listing");
        fs.release(open.id());
        fs.unlink(hidden);
        assertFalse(pool.find(new ObjectId(open.id())).isPresent());
        assertEquals(FsError.NOT_FOUND, errorOf(() -> fs.getattr(hidden)));
        write("/closed", "y"); // the same rename of a file nobody has open is a plain rename
        fs.rename("/closed", "/.fuse_hidden0000000600000002");
        assertEquals("y", read("/.fuse_hidden0000000600000002"));
    }

    @Test
    void attributeChanges() {
        write("/f", "x");
        fs.chmod("/f", 04755);
        assertEquals(Inode.S_IFREG | 04755, fs.getattr("/f").mode());
        fs.chown("/f", 7, -1);
        Inode f = fs.getattr("/f");
        assertEquals(7, f.uid());
        assertEquals(1000, f.gid(), "-1 keeps the group");
        assertEquals(0, f.mode() & 04000, "chown clears setuid");
        Timestamp t = new Timestamp(1_000_000_000L, 123_456_789);
        fs.utimens("/f", null, t);
        assertEquals(t, fs.getattr("/f").mtime());
        assertEquals(f.atime(), fs.getattr("/f").atime(), "null keeps atime");
        fs.mkdir("/sg", 02775, alice);
        fs.chown("/sg", -1, 50);
        fs.mkdir("/sg/child", 0755, new Caller(1, 1));
        assertEquals(50, fs.getattr("/sg/child").gid(), "a setgid directory hands down its group");
        assertEquals(02000, fs.getattr("/sg/child").mode() & 02000, "and its setgid bit to directories");
    }

    @Test
    void truncateGrowsWithZerosAndShrinks() {
        write("/f", "0123456789");
        fs.truncate("/f", 4);
        fs.truncate("/f", 8);
        Inode i = fs.open("/f");
        byte[] b = new byte[8];
        fs.read(i.id(), 0, MemorySegment.ofArray(b));
        fs.release(i.id());
        assertArrayEquals(new byte[] {'0', '1', '2', '3', 0, 0, 0, 0}, b);
        fs.mkdir("/d", 0755, alice);
        assertEquals(FsError.IS_DIRECTORY, errorOf(() -> fs.truncate("/d", 0)));
    }

    @Test
    void statfsReportsThePool() {
        FsStats s = fs.statfs();
        assertEquals(4096, s.blockSizeBytes());
        assertTrue(s.totalBlocks() > 0 && s.freeBlocks() > 0 && s.freeBlocks() <= s.totalBlocks());
        assertEquals(255, s.maxNameBytes());
    }

    /** Regression: libfuse follows its node tree after an ancestor's rename; the hidden name must too. */
    @Test
    void aHiddenNameSurvivesTheRenameOfItsDirectory() {
        fs.mkdir("/a", 0755, alice);
        write("/a/f", "x");
        Inode open = fs.open("/a/f");
        fs.rename("/a/f", "/a/.fuse_hidden0000000700000001");
        fs.rename("/a", "/b");
        assertEquals(open.id(), fs.getattr("/b/.fuse_hidden0000000700000001").id());
        fs.release(open.id());
        fs.unlink("/b/.fuse_hidden0000000700000001");
        assertEquals(FsError.NOT_FOUND, errorOf(() -> fs.getattr("/b/.fuse_hidden0000000700000001")));
        fs.rmdir("/b"); // nothing is left in it
    }

    /** Regression: more orphans than one journal record can hold are all removed at the next mount. */
    @Test
    void manyOrphansAreRemovedInSeveralTransactions() {
        int n = 27_000;
        List<Long> ids = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            Inode f = fs.create("/o" + i, 0644, alice); // created and left open
            ids.add(f.id());
            fs.unlink("/o" + i);
        }
        pool.sync();
        reopen(); // as after a crash with all of them open
        for (long id : List.of(ids.getFirst(), ids.get(n / 2), ids.getLast())) {
            assertFalse(pool.find(new ObjectId(id)).isPresent());
        }
        assertFalse(pool.hasEntries(ObjectId.POOL, "fs.orphan.".getBytes(StandardCharsets.US_ASCII)));
    }
}
