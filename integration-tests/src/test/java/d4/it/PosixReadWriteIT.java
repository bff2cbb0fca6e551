package d4.it;

import static d4.it.Sys.O_CREAT;
import static d4.it.Sys.O_RDONLY;
import static d4.it.Sys.O_RDWR;
import static d4.it.Sys.O_WRONLY;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

/** read/write/pread/pwrite, truncate/ftruncate, lseek with SEEK_DATA/SEEK_HOLE, and st_blocks of sparse files. */
class PosixReadWriteIT extends PosixConformance {
    private static final long KIB = 1024, MIB = 1024 * KIB, GIB = 1024 * MIB;

    private static byte[] filled(int length, int value) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return b;
    }

    @OnBoth
    void holesReadAsZeros(Root r) {
        int fd = open(r.path("f"), O_CREAT | O_RDWR, 0644);
        assertEquals(4, Sys.pwrite(fd, "tail".getBytes(), 10_000));
        assertEquals(4, Sys.pwrite(fd, "head".getBytes(), 3));
        assertEquals(10_004, fstat(fd).size());
        Sys.Bytes all = Sys.pread(fd, 20_000, 0);
        assertEquals(10_004, all.result());
        assertArrayEquals(new byte[3], Arrays.copyOfRange(all.data(), 0, 3));
        assertArrayEquals("head".getBytes(), Arrays.copyOfRange(all.data(), 3, 7));
        assertArrayEquals(new byte[10_000 - 7], Arrays.copyOfRange(all.data(), 7, 10_000));
        assertArrayEquals("tail".getBytes(), Arrays.copyOfRange(all.data(), 10_000, 10_004));
        close(fd);
    }

    @OnBoth
    void readsStopAtEndOfFile(Root r) {
        write(r.path("f"), "12345");
        int fd = open(r.path("f"), O_RDONLY);
        assertEquals(3, Sys.pread(fd, 10, 2).result(), "a read across EOF is short");
        assertEquals(0, Sys.pread(fd, 10, 5).result(), "a read at EOF returns 0");
        assertEquals(0, Sys.pread(fd, 10, 1_000_000).result(), "a read past EOF returns 0");
        assertEquals(5, Sys.read(fd, 100).result());
        assertEquals(0, Sys.read(fd, 100).result(), "sequential reads hit EOF");
        assertErrno(Sys.EINVAL, Sys.pread(fd, 10, -1).result(), "pread at a negative offset");
        close(fd);
    }

    @OnBoth
    void writesAndReadsPastFourGib(Root r) {
        long at = 5 * GIB + 123;
        int fd = open(r.path("big"), O_CREAT | O_RDWR, 0644);
        assertEquals(6, Sys.pwrite(fd, "beyond".getBytes(), at));
        Sys.Stat st = fstat(fd);
        assertEquals(at + 6, st.size());
        assertTrue(st.blocks() <= 1024, "a sparse file over 4 GiB is not allocated: st_blocks " + st.blocks());
        assertArrayEquals("beyond".getBytes(), Sys.pread(fd, 6, at).data());
        assertArrayEquals(new byte[4096], Sys.pread(fd, 4096, 4 * GIB).data(), "the hole below reads as zeros");
        assertEquals(at + 6, Sys.lseek(fd, 0, Sys.SEEK_END));
        ok(Sys.ftruncate(fd, 4 * GIB + 1), "ftruncate");
        assertEquals(4 * GIB + 1, fstat(fd).size());
        close(fd);
    }

    @OnBoth
    void truncateGrowsWithAHoleAndShrinkDiscards(Root r) {
        write(r.path("f"), "abcdef");
        ok(Sys.truncate(r.path("f"), 3), "truncate shrink");
        assertEquals("abc", read(r.path("f")));
        ok(Sys.truncate(r.path("f"), 10), "truncate grow");
        assertEquals("abc\0\0\0\0\0\0\0", read(r.path("f")), "growing shows zeros, never the discarded bytes");
        int fd = open(r.path("f"), O_RDWR);
        ok(Sys.ftruncate(fd, 1), "ftruncate shrink");
        ok(Sys.ftruncate(fd, 8192), "ftruncate grow");
        assertEquals(8192, fstat(fd).size());
        assertArrayEquals(filled(8191, 0), Arrays.copyOfRange(Sys.pread(fd, 9000, 0).data(), 1, 8192));
        close(fd);
    }

    @OnBoth
    void truncateErrors(Root r) {
        write(r.path("f"), "data");
        int ro = open(r.path("f"), O_RDONLY);
        // Linux gives EINVAL (not EBADF) for a descriptor not open for writing.
        assertErrno(Sys.EINVAL, Sys.ftruncate(ro, 0), "ftruncate of an O_RDONLY descriptor");
        close(ro);
        int rw = open(r.path("f"), O_RDWR);
        assertErrno(Sys.EINVAL, Sys.ftruncate(rw, -1), "ftruncate to a negative size");
        close(rw);
        assertErrno(Sys.EINVAL, Sys.truncate(r.path("f"), -1), "truncate to a negative size");
        ok(Sys.mkdir(r.path("d"), 0755), "mkdir");
        assertErrno(Sys.EISDIR, Sys.truncate(r.path("d"), 0), "truncate of a directory");
        assertErrno(Sys.ENOENT, Sys.truncate(r.path("missing"), 0), "truncate of a missing file");
        assertEquals("data", read(r.path("f")));
    }

    /**
     * A 1 GiB file with a single 4 KiB block written must report about that block, not its size. The
     * bound is loose on purpose: a file system may count metadata (ext4's extent blocks) or allocate
     * in larger units than 4 KiB, but a file that reports anywhere near 2097152 sectors is not sparse.
     */
    @OnBoth
    void blocksOfASparseFileCountOnlyWhatIsWritten(Root r) {
        int fd = open(r.path("sparse"), O_CREAT | O_RDWR, 0644);
        ok(Sys.ftruncate(fd, GIB), "ftruncate");
        assertEquals(0, fstat(fd).blocks(), "nothing is allocated by growing");
        assertEquals(4096, Sys.pwrite(fd, filled(4096, 7), 512 * MIB));
        ok(Sys.fsync(fd), "fsync"); // ext4 allocates delayed blocks at writeback; count them after it
        long blocks = fstat(fd).blocks();
        assertTrue(blocks >= 8 && blocks <= 2048, "st_blocks of one written 4 KiB block in a 1 GiB file: " + blocks);
        close(fd);
    }

    /**
     * SEEK_DATA and SEEK_HOLE report where the written ranges are (Linux 3.1+). POSIX would let a file
     * system call a hole data; ext4 reports its extents exactly (this layout is 4 KiB-aligned), and
     * backup and copy tools (cp, tar, rsync) rely on it to keep files sparse.
     */
    @OnBoth
    @KnownDifference("libfuse 2 has no lseek operation: the kernel treats the whole file as data for SEEK_DATA/SEEK_HOLE")
    void seekDataAndSeekHoleFindTheWrittenRanges(Root r) {
        int fd = open(r.path("f"), O_CREAT | O_RDWR, 0644);
        assertEquals(64 * KIB, Sys.pwrite(fd, filled((int) (64 * KIB), 1), MIB));
        ok(Sys.ftruncate(fd, 4 * MIB), "ftruncate");
        ok(Sys.fsync(fd), "fsync");
        assertEquals(MIB, Sys.lseek(fd, 0, Sys.SEEK_DATA), "the first data after a leading hole");
        assertEquals(0, Sys.lseek(fd, 0, Sys.SEEK_HOLE), "a hole at 0");
        assertEquals(MIB + 4096, Sys.lseek(fd, MIB + 4096, Sys.SEEK_DATA), "inside data, SEEK_DATA stays");
        assertEquals(MIB + 64 * KIB, Sys.lseek(fd, MIB, Sys.SEEK_HOLE), "the hole after the data");
        assertErrno(Sys.ENXIO, Sys.lseek(fd, MIB + 64 * KIB, Sys.SEEK_DATA), "no data after the last extent");
        assertErrno(Sys.ENXIO, Sys.lseek(fd, 4 * MIB, Sys.SEEK_HOLE), "SEEK_HOLE at EOF");
        assertErrno(Sys.ENXIO, Sys.lseek(fd, 5 * MIB, Sys.SEEK_DATA), "SEEK_DATA past EOF");
        close(fd);
    }

    @OnBoth
    void lseekRules(Root r) {
        write(r.path("f"), "0123456789");
        int fd = open(r.path("f"), O_RDONLY);
        assertEquals(10, Sys.lseek(fd, 0, Sys.SEEK_END));
        assertEquals(100, Sys.lseek(fd, 100, Sys.SEEK_SET), "seeking past EOF is allowed");
        assertEquals(0, Sys.read(fd, 10).result());
        assertErrno(Sys.EINVAL, Sys.lseek(fd, -1, Sys.SEEK_SET), "a negative offset");
        assertEquals(100, Sys.lseek(fd, 0, Sys.SEEK_CUR), "a failed lseek leaves the offset");
        assertEquals(3, Sys.lseek(fd, 3, Sys.SEEK_SET));
        assertArrayEquals("345".getBytes(), Sys.read(fd, 3).data());
        close(fd);
    }

    @OnBoth
    void writesAtTheOffsetAndOverwriteInPlace(Root r) {
        int fd = open(r.path("f"), O_CREAT | O_WRONLY, 0644);
        byte[] mib = filled((int) MIB, 'a');
        assertEquals(MIB, Sys.write(fd, mib), "a 1 MiB write is written whole");
        assertEquals(MIB, Sys.lseek(fd, 0, Sys.SEEK_CUR));
        assertEquals(3, Sys.pwrite(fd, "XYZ".getBytes(), MIB - 2), "an overwrite that extends");
        assertEquals(MIB, Sys.lseek(fd, 0, Sys.SEEK_CUR), "pwrite does not move the offset");
        assertErrno(Sys.EINVAL, Sys.pwrite(fd, "x".getBytes(), -1), "pwrite at a negative offset");
        assertEquals(0, Sys.pwrite(fd, new byte[0], 2 * MIB), "a zero-length write does nothing");
        close(fd);
        int rd = open(r.path("f"), O_RDONLY);
        assertEquals(MIB + 1, fstat(rd).size());
        assertArrayEquals("aaXYZ".getBytes(), Sys.pread(rd, 10, MIB - 4).data());
        close(rd);
    }
}
