package d4.it;

import static d4.it.Sys.FALLOC_FL_KEEP_SIZE;
import static d4.it.Sys.FALLOC_FL_PUNCH_HOLE;
import static d4.it.Sys.FALLOC_FL_ZERO_RANGE;
import static d4.it.Sys.O_CREAT;
import static d4.it.Sys.O_RDONLY;
import static d4.it.Sys.O_RDWR;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

/**
 * fallocate(2): preallocation with and without a size change, punching holes, zeroing ranges. Block
 * counts are asserted as bounds (at least the range; a decrease of at least the punched range), since
 * file systems may round to their own allocation unit.
 */
class PosixFallocateIT extends PosixConformance {
    private static final int KIB = 1024, MIB = 1024 * KIB;
    private static final long SECTORS_PER_MIB = MIB / 512;

    private static byte[] filled(int length, int value) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return b;
    }

    @OnBoth
    void modeZeroExtendsTheSizeAndAllocates(Root r) {
        int fd = open(r.path("f"), O_CREAT | O_RDWR, 0644);
        ok(Sys.fallocate(fd, 0, 0, MIB), "fallocate");
        Sys.Stat st = fstat(fd);
        assertEquals(MIB, st.size());
        assertTrue(st.blocks() >= SECTORS_PER_MIB, "1 MiB is allocated: st_blocks " + st.blocks());
        assertArrayEquals(new byte[MIB], Sys.pread(fd, MIB, 0).data(), "preallocated space reads as zeros");
        ok(Sys.fallocate(fd, 0, 0, 4096), "fallocate inside the file");
        assertEquals(MIB, fstat(fd).size(), "a range inside the file leaves the size");
        close(fd);
    }

    @OnBoth
    void keepSizeAllocatesBeyondEndOfFile(Root r) {
        int fd = open(r.path("f"), O_CREAT | O_RDWR, 0644);
        assertEquals(3, Sys.pwrite(fd, "abc".getBytes(), 0));
        ok(Sys.fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, MIB), "fallocate KEEP_SIZE");
        Sys.Stat st = fstat(fd);
        assertEquals(3, st.size(), "KEEP_SIZE does not change the size");
        assertTrue(st.blocks() >= SECTORS_PER_MIB, "but the blocks are allocated: st_blocks " + st.blocks());
        assertArrayEquals("abc".getBytes(), Sys.pread(fd, 100, 0).data());
        close(fd);
    }

    @OnBoth
    void punchHoleZeroesTheRangeAndFreesItsBlocks(Root r) {
        int fd = open(r.path("f"), O_CREAT | O_RDWR, 0644);
        assertEquals(MIB, Sys.pwrite(fd, filled(MIB, 0xab), 0));
        ok(Sys.fsync(fd), "fsync"); // allocate ext4's delayed blocks before counting
        long before = fstat(fd).blocks();
        ok(Sys.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 256 * KIB, 256 * KIB), "punch a hole");
        Sys.Stat st = fstat(fd);
        assertEquals(MIB, st.size());
        assertTrue(before - st.blocks() >= 256 * KIB / 512, "the hole's blocks are freed: " + before + " -> " + st.blocks());
        byte[] all = Sys.pread(fd, MIB, 0).data();
        assertArrayEquals(filled(256 * KIB, 0xab), Arrays.copyOfRange(all, 0, 256 * KIB));
        assertArrayEquals(new byte[256 * KIB], Arrays.copyOfRange(all, 256 * KIB, 512 * KIB), "the hole reads as zeros");
        assertArrayEquals(filled(512 * KIB, 0xab), Arrays.copyOfRange(all, 512 * KIB, MIB));
        // SEEK_HOLE over the punched range: PosixReadWriteIT.seekDataAndSeekHoleFindTheWrittenRanges.
        close(fd);
    }

    @OnBoth
    void punchHoleUnalignedZeroesExactlyTheRange(Root r) {
        int fd = open(r.path("f"), O_CREAT | O_RDWR, 0644);
        assertEquals(10_000, Sys.pwrite(fd, filled(10_000, 0x11), 0));
        ok(Sys.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000, 5000), "punch an unaligned hole");
        byte[] all = Sys.pread(fd, 10_000, 0).data();
        assertArrayEquals(filled(1000, 0x11), Arrays.copyOfRange(all, 0, 1000));
        assertArrayEquals(new byte[5000], Arrays.copyOfRange(all, 1000, 6000));
        assertArrayEquals(filled(4000, 0x11), Arrays.copyOfRange(all, 6000, 10_000));
        close(fd);
    }

    @OnBoth
    void zeroRangeZeroesWithoutChangingTheSize(Root r) {
        int fd = open(r.path("f"), O_CREAT | O_RDWR, 0644);
        assertEquals(64 * KIB, Sys.pwrite(fd, filled(64 * KIB, 0x22), 0));
        ok(Sys.fallocate(fd, FALLOC_FL_ZERO_RANGE, 4096, 8192), "zero a range");
        assertEquals(64 * KIB, fstat(fd).size());
        byte[] all = Sys.pread(fd, 64 * KIB, 0).data();
        assertArrayEquals(new byte[8192], Arrays.copyOfRange(all, 4096, 4096 + 8192));
        assertArrayEquals(filled(4096, 0x22), Arrays.copyOfRange(all, 0, 4096));
        ok(Sys.fallocate(fd, FALLOC_FL_ZERO_RANGE, 60 * KIB, 8 * KIB), "zero a range across EOF");
        assertEquals(68 * KIB, fstat(fd).size(), "without KEEP_SIZE, a range past EOF grows the file");
        close(fd);
    }

    @OnBoth
    void invalidRequestsFail(Root r) {
        int fd = open(r.path("f"), O_CREAT | O_RDWR, 0644);
        assertErrno(Sys.EOPNOTSUPP, Sys.fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), "PUNCH_HOLE without KEEP_SIZE");
        assertErrno(Sys.EINVAL, Sys.fallocate(fd, 0, 0, 0), "a zero length");
        assertErrno(Sys.EINVAL, Sys.fallocate(fd, 0, -1, 4096), "a negative offset");
        close(fd);
        int ro = open(r.path("f"), O_RDONLY);
        assertErrno(Sys.EBADF, Sys.fallocate(ro, 0, 0, 4096), "fallocate on an O_RDONLY descriptor");
        close(ro);
        assertEquals(0, stat(r.path("f")).size());
    }
}
