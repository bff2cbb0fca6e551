package d4.it;

import static d4.it.Sys.O_CREAT;
import static d4.it.Sys.O_DIRECTORY;
import static d4.it.Sys.O_RDONLY;
import static d4.it.Sys.O_RDWR;
import static d4.it.Sys.O_WRONLY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

/**
 * statfs(2), and the free space it reports as files are written, deleted, and deleted while open.
 *
 * <p>Free space is compared with a tolerance: the native side is /tmp's ext4, which other processes
 * may write to meanwhile, and both file systems may count some metadata. The file is 64 MiB and the
 * assertions ask for three quarters of it to show, which no metadata or unrelated small write hides.
 */
class PosixStatfsIT extends PosixConformance {
    private static final int MIB = 1024 * 1024;
    private static final long SIZE = 64L * MIB;
    private static final long ENOUGH = SIZE * 3 / 4;

    /**
     * f_bfree in bytes. Each case takes its baseline after a sync, so that space a previous case
     * released (and a file system may account lazily) does not move this case's numbers.
     */
    private static long freeBytes(Root r) {
        long[] fs = Sys.statfs(r.path());
        ok(fs[0], "statfs");
        return fs[3] * fs[1];
    }

    /** Writes 64 MiB of random bytes (incompressible, never all zeros) and fsyncs them. */
    private static int writeBigFile(String path, boolean keepOpen) {
        int fd = open(path, O_CREAT | O_RDWR, 0644);
        byte[] chunk = new byte[MIB];
        Random random = new Random(42);
        for (long off = 0; off < SIZE; off += MIB) {
            random.nextBytes(chunk);
            assertEquals(MIB, Sys.pwrite(fd, chunk, off));
        }
        ok(Sys.fsync(fd), "fsync");
        if (!keepOpen) {
            close(fd);
            return -1;
        }
        return fd;
    }

    /** Makes a removal durable the way a careful application does: fsync of the directory. */
    private static void syncDir(Root r) {
        int fd = open(r.path(), O_RDONLY | O_DIRECTORY);
        ok(Sys.fsync(fd), "fsync of the directory");
        close(fd);
    }

    @OnBoth
    void fieldsAreConsistent(Root r) {
        long[] fs = Sys.statfs(r.path());
        assertEquals(8, fs.length, "statfs: " + describe(fs[0]));
        assertEquals(255, fs[7], "f_namelen");
        assertTrue(fs[1] > 0 && fs[1] % 512 == 0, "f_bsize " + fs[1]);
        assertTrue(fs[2] > 0, "f_blocks");
        assertTrue(fs[3] <= fs[2], "f_bfree <= f_blocks");
        assertTrue(fs[4] <= fs[3], "f_bavail <= f_bfree");
        assertTrue(fs[6] <= fs[5], "f_ffree <= f_files");
        assertEquals(fs[2], Sys.statfs(r.path("."))[2], "any path on the file system reports it");
        write(r.path("f"), "x");
        assertEquals(fs[2], Sys.statfs(r.path("f"))[2], "a file's statfs is its file system's");
        assertErrno(Sys.ENOENT, Sys.statfs(r.path("missing"))[0], "statfs of a missing path");
    }

    @OnBoth
    void writingTakesSpaceAndDeletingGivesItBack(Root r) {
        // Free space is the whole file system's: another process freeing or taking space at the same
        // moment (the native side is the host's /tmp) moves it too, so a case gets three tries.
        AssertionError last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                syncDir(r);
                long before = freeBytes(r);
                writeBigFile(r.path("big"), false);
                long written = freeBytes(r);
                assertTrue(before - written >= ENOUGH, "64 MiB written: free " + before + " -> " + written);
                ok(Sys.unlink(r.path("big")), "unlink");
                syncDir(r);
                long after = freeBytes(r);
                assertTrue(after - written >= ENOUGH, "64 MiB deleted: free " + written + " -> " + after);
                return;
            } catch (AssertionError e) {
                last = e;
                Sys.unlink(r.path("big"));
            }
        }
        throw last;
    }

    /** An unlinked file keeps its blocks while a descriptor is open and frees them at the last close. */
    @OnBoth
    void spaceOfAnOpenUnlinkedFileIsFreedAtTheLastClose(Root r) {
        syncDir(r);
        int fd = writeBigFile(r.path("big"), true);
        int second = open(r.path("big"), O_RDONLY);
        long written = freeBytes(r);
        ok(Sys.unlink(r.path("big")), "unlink");
        syncDir(r);
        long unlinked = freeBytes(r);
        assertTrue(unlinked - written < ENOUGH, "still allocated while open: free " + written + " -> " + unlinked);
        assertEquals(SIZE, fstat(fd).size());
        assertEquals(MIB, Sys.pread(second, MIB, SIZE - MIB).result(), "the data is still readable");
        close(fd);
        assertTrue(freeBytes(r) - written < ENOUGH, "one descriptor is still open");
        close(second);
        // FUSE sends RELEASE after close(2) has returned, so on d4 the space comes back a moment
        // later (docs/semantics.md); ext4 passes at the first look.
        long closed = 0;
        for (int i = 0; i < 40; i++) {
            syncDir(r);
            closed = freeBytes(r);
            if (closed - written >= ENOUGH) {
                break;
            }
            sleepMillis(50);
        }
        assertTrue(closed - written >= ENOUGH, "freed at the last close: free " + written + " -> " + closed);
    }

    @OnBoth
    void truncateFreesSpace(Root r) {
        syncDir(r);
        writeBigFile(r.path("big"), false);
        long written = freeBytes(r);
        int fd = open(r.path("big"), O_WRONLY);
        ok(Sys.ftruncate(fd, 0), "ftruncate");
        ok(Sys.fsync(fd), "fsync");
        close(fd);
        long truncated = freeBytes(r);
        assertTrue(truncated - written >= ENOUGH, "truncating to 0 frees: free " + written + " -> " + truncated);
        assertEquals(0, stat(r.path("big")).blocks());
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
