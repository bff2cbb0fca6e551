package d4.engine.io.uring;

import static d4.engine.io.uring.liburing_inline.io_uring_prep_fallocate;
import static d4.engine.io.uring.liburing_inline.io_uring_prep_fsync;
import static d4.engine.io.uring.liburing_inline.io_uring_prep_nop;
import static d4.engine.io.uring.liburing_inline.io_uring_prep_read;
import static d4.engine.io.uring.liburing_inline.io_uring_prep_read_fixed;
import static d4.engine.io.uring.liburing_inline.io_uring_prep_readv;
import static d4.engine.io.uring.liburing_inline.io_uring_prep_write;
import static d4.engine.io.uring.liburing_inline.io_uring_prep_write_fixed;
import static d4.engine.io.uring.liburing_inline.io_uring_prep_writev;
import static d4.engine.io.uring.liburing_inline.io_uring_sqe_set_data64;
import static d4.engine.io.uring.liburing_inline.io_uring_sqe_set_flags;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Real io_uring I/O against temp files: every op d4 uses, errors in cqe.res, full queues, depth. */
class UringIoTest {
    private static final int BLOCK = 4096;
    /** 0, SINGLE_ISSUER|DEFER_TASKRUN, COOP_TASKRUN|SUBMIT_ALL. */
    private static final int PLAIN = 0;
    private static final int DEFER = (1 << 12) | (1 << 13);
    private static final int COOP = (1 << 8) | (1 << 7);

    @TempDir
    Path dir;

    private final Arena arena = Arena.ofConfined();
    private int fd = -1;

    @AfterEach
    void closeFile() {
        if (fd >= 0) {
            assertEquals(0, Libc.close(fd));
        }
        arena.close();
    }

    private int openFile(String name, int extraFlags) {
        int r = Libc.open(dir.resolve(name).toString(),
                Libc.O_RDWR | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC | extraFlags, 0600);
        if (r >= 0) {
            fd = r;
        }
        return r;
    }

    private MemorySegment buffer(long size) {
        return arena.allocate(size, BLOCK);
    }

    private static void fill(MemorySegment buf, long seed) {
        Random random = new Random(seed);
        byte[] bytes = new byte[(int) buf.byteSize()];
        random.nextBytes(bytes);
        MemorySegment.copy(bytes, 0, buf, ValueLayout.JAVA_BYTE, 0, bytes.length);
    }

    /** Submits one prepared SQE and returns its cqe.res, checking user_data. */
    private static int complete(Ring ring, long userData) throws UringException {
        assertEquals(1, ring.submit());
        MemorySegment cqe = ring.waitCqe();
        assertEquals(userData, io_uring_cqe.user_data(cqe));
        int res = io_uring_cqe.res(cqe);
        ring.cqeSeen(cqe);
        return res;
    }

    private static MemorySegment sqe(Ring ring, long userData) {
        MemorySegment sqe = ring.getSqe();
        assertNotNull(sqe);
        io_uring_sqe_set_data64(sqe, userData);
        return sqe;
    }

    @ParameterizedTest
    @ValueSource(ints = {PLAIN, DEFER, COOP})
    void nopRoundTrip(int flags) throws Exception {
        try (Ring ring = Ring.open(4, flags)) {
            for (long i = 0; i < 20; i++) {
                MemorySegment sqe = ring.getSqe();
                io_uring_prep_nop(sqe);
                io_uring_sqe_set_data64(sqe, 0xabc0L + i);
                assertEquals(0, complete(ring, 0xabc0L + i));
            }
            assertEquals(0, ring.cqReady());
            assertNull(ring.peekCqe());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {PLAIN, DEFER, COOP})
    void writeThenReadBack(int flags) throws Exception {
        assertTrue(openFile("data", 0) >= 0);
        MemorySegment out = buffer(4 * BLOCK);
        MemorySegment in = buffer(4 * BLOCK);
        fill(out, 1);
        try (Ring ring = Ring.open(8, flags)) {
            io_uring_prep_write(sqe(ring, 1), fd, out.address(), 4 * BLOCK, BLOCK);
            assertEquals(4 * BLOCK, complete(ring, 1));
            io_uring_prep_read(sqe(ring, 2), fd, in.address(), 4 * BLOCK, BLOCK);
            assertEquals(4 * BLOCK, complete(ring, 2));
        }
        assertEquals(-1, out.mismatch(in));
        assertEquals(5L * BLOCK, Files.size(dir.resolve("data")));
        byte[] onDisk = Files.readAllBytes(dir.resolve("data"));
        assertArrayEquals(out.toArray(ValueLayout.JAVA_BYTE),
                java.util.Arrays.copyOfRange(onDisk, BLOCK, 5 * BLOCK));
    }

    @Test
    void directIoWhereTheFilesystemSupportsIt() throws Exception {
        int r = openFile("direct", Libc.O_DIRECT);
        assumeTrue(r != -Libc.EINVAL, "no O_DIRECT on " + dir);
        assertTrue(r >= 0, () -> "open: " + Libc.errnoName(-r));
        MemorySegment out = buffer(2 * BLOCK);
        MemorySegment in = buffer(2 * BLOCK + BLOCK);
        fill(out, 2);
        try (Ring ring = Ring.open(8, DEFER)) {
            io_uring_prep_write(sqe(ring, 1), fd, out.address(), 2 * BLOCK, 2 * BLOCK);
            assertEquals(2 * BLOCK, complete(ring, 1));
            io_uring_prep_read(sqe(ring, 2), fd, in.address(), 2 * BLOCK, 2 * BLOCK);
            assertEquals(2 * BLOCK, complete(ring, 2));
            assertEquals(-1, out.mismatch(in.asSlice(0, 2 * BLOCK)));
            // Misaligned memory: the kernel refuses direct I/O with EINVAL (alignment 512 on ext4 here).
            // Only over written blocks: reading a hole just zero-fills, unchecked.
            io_uring_prep_read(sqe(ring, 3), fd, in.address() + 1, BLOCK, 2 * BLOCK);
            assertEquals(-Libc.EINVAL, complete(ring, 3));
            // Misaligned file offset, likewise.
            io_uring_prep_read(sqe(ring, 4), fd, in.address(), BLOCK, 2 * BLOCK + 1);
            assertEquals(-Libc.EINVAL, complete(ring, 4));
        }
    }

    @Test
    void vectoredWriteAndRead() throws Exception {
        assertTrue(openFile("vec", 0) >= 0);
        int[] sizes = {BLOCK, 512, 100};
        int total = IntStream.of(sizes).sum();
        MemorySegment outIov = iovec.allocateArray(sizes.length, arena);
        MemorySegment inIov = iovec.allocateArray(sizes.length, arena);
        MemorySegment[] outs = new MemorySegment[sizes.length];
        MemorySegment[] ins = new MemorySegment[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            outs[i] = buffer(sizes[i]);
            ins[i] = buffer(sizes[i]);
            fill(outs[i], 10 + i);
            iovec.iov_base(outIov, i, outs[i].address());
            iovec.iov_len(outIov, i, sizes[i]);
            iovec.iov_base(inIov, i, ins[i].address());
            iovec.iov_len(inIov, i, sizes[i]);
        }
        assertEquals(outs[1].address(), iovec.iov_base(outIov.asSlice(16, 16)));
        try (Ring ring = Ring.open(8, PLAIN)) {
            io_uring_prep_writev(sqe(ring, 1), fd, outIov.address(), sizes.length, 0);
            assertEquals(total, complete(ring, 1));
            io_uring_prep_readv(sqe(ring, 2), fd, inIov.address(), sizes.length, 0);
            assertEquals(total, complete(ring, 2));
        }
        for (int i = 0; i < sizes.length; i++) {
            assertEquals(-1, outs[i].mismatch(ins[i]), "iovec " + i);
        }
        assertEquals(total, Files.size(dir.resolve("vec")));
    }

    @Test
    void fixedBuffersAndFixedFiles() throws Exception {
        assertTrue(openFile("fixed", 0) >= 0);
        MemorySegment bufs = buffer(2 * BLOCK);
        MemorySegment iov = iovec.allocateArray(2, arena);
        for (int i = 0; i < 2; i++) {
            iovec.iov_base(iov, i, bufs.address() + (long) i * BLOCK);
            iovec.iov_len(iov, i, BLOCK);
        }
        MemorySegment out = bufs.asSlice(0, BLOCK);
        MemorySegment in = bufs.asSlice(BLOCK, BLOCK);
        fill(out, 3);
        try (Ring ring = Ring.open(8, DEFER)) {
            ring.registerBuffers(iov, 2);
            io_uring_prep_write_fixed(sqe(ring, 1), fd, out.address(), BLOCK, 0, 0);
            assertEquals(BLOCK, complete(ring, 1));
            io_uring_prep_read_fixed(sqe(ring, 2), fd, in.address(), BLOCK, 0, 1);
            assertEquals(BLOCK, complete(ring, 2));
            assertEquals(-1, out.mismatch(in));

            // Outside the registered buffer: EFAULT.
            io_uring_prep_read_fixed(sqe(ring, 3), fd, in.address() + 1, BLOCK, 0, 1);
            assertEquals(-14, complete(ring, 3));

            // Registered file: the SQE's fd is the index into the table.
            ring.registerFiles(new int[] {fd});
            in.fill((byte) 0);
            MemorySegment sqe = sqe(ring, 4);
            io_uring_prep_read_fixed(sqe, 0, in.address(), BLOCK, 0, 1);
            io_uring_sqe_set_flags(sqe, liburing_h.IOSQE_FIXED_FILE());
            assertEquals(BLOCK, complete(ring, 4));
            assertEquals(-1, out.mismatch(in));
            assertEquals(0, liburing_h.io_uring_unregister_files(ring.struct()));
            assertEquals(0, liburing_h.io_uring_unregister_buffers(ring.struct()));
        }
    }

    @Test
    void fsyncFdatasyncAndFallocate() throws Exception {
        assertTrue(openFile("sync", 0) >= 0);
        MemorySegment out = buffer(BLOCK);
        fill(out, 4);
        try (Ring ring = Ring.open(8, PLAIN)) {
            io_uring_prep_fallocate(sqe(ring, 1), fd, 0, 0, 64 * BLOCK);
            assertEquals(0, complete(ring, 1));
            assertEquals(64L * BLOCK, Files.size(dir.resolve("sync")));
            io_uring_prep_write(sqe(ring, 2), fd, out.address(), BLOCK, 0);
            assertEquals(BLOCK, complete(ring, 2));
            io_uring_prep_fsync(sqe(ring, 3), fd, 0);
            assertEquals(0, complete(ring, 3));
            io_uring_prep_fsync(sqe(ring, 4), fd, liburing_h.IORING_FSYNC_DATASYNC());
            assertEquals(0, complete(ring, 4));
        }
    }

    @Test
    void linkedWriteThenRead() throws Exception {
        assertTrue(openFile("link", 0) >= 0);
        MemorySegment out = buffer(BLOCK);
        MemorySegment in = buffer(BLOCK);
        fill(out, 5);
        try (Ring ring = Ring.open(8, DEFER)) {
            MemorySegment w = sqe(ring, 1);
            io_uring_prep_write(w, fd, out.address(), BLOCK, 0);
            io_uring_sqe_set_flags(w, liburing_h.IOSQE_IO_LINK());
            MemorySegment f = sqe(ring, 2);
            io_uring_prep_fsync(f, fd, liburing_h.IORING_FSYNC_DATASYNC());
            io_uring_sqe_set_flags(f, liburing_h.IOSQE_IO_LINK());
            io_uring_prep_read(sqe(ring, 3), fd, in.address(), BLOCK, 0);
            assertEquals(3, ring.submitAndWait(3));
            assertEquals(3, ring.cqReady());
            for (int i = 0; i < 3; i++) {
                MemorySegment cqe = ring.cqeAt(i);
                assertEquals(i + 1, io_uring_cqe.user_data(cqe));
                assertEquals(i == 1 ? 0 : BLOCK, io_uring_cqe.res(cqe));
            }
            ring.cqAdvance(3);
            assertEquals(0, ring.cqReady());
        }
        assertEquals(-1, out.mismatch(in));
    }

    @Test
    void errorsComeBackInRes() throws Exception {
        assertTrue(openFile("short", 0) >= 0);
        MemorySegment buf = buffer(2 * BLOCK);
        fill(buf, 6);
        try (Ring ring = Ring.open(8, PLAIN)) {
            io_uring_prep_read(sqe(ring, 1), -1, buf.address(), BLOCK, 0);
            assertEquals(-Libc.EBADF, complete(ring, 1));
            io_uring_prep_read(sqe(ring, 2), 1 << 20, buf.address(), BLOCK, 0);
            assertEquals(-Libc.EBADF, complete(ring, 2));
            // A file opened and closed: its number is no longer a descriptor.
            int closed = Libc.open(dir.resolve("closed").toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0600);
            assertTrue(closed >= 0);
            assertEquals(0, Libc.close(closed));
            io_uring_prep_read(sqe(ring, 7), closed, buf.address(), BLOCK, 0);
            assertEquals(-Libc.EBADF, complete(ring, 7));
            assertEquals(-Libc.EBADF, Libc.close(closed));

            io_uring_prep_write(sqe(ring, 3), fd, buf.address(), BLOCK, 0);
            assertEquals(BLOCK, complete(ring, 3));
            io_uring_prep_read(sqe(ring, 4), fd, buf.address(), 2 * BLOCK, 0);
            assertEquals(BLOCK, complete(ring, 4), "short read at EOF");
            io_uring_prep_read(sqe(ring, 5), fd, buf.address(), BLOCK, BLOCK);
            assertEquals(0, complete(ring, 5), "read at EOF");
            io_uring_prep_read(sqe(ring, 6), fd, buf.address(), BLOCK, 1L << 30);
            assertEquals(0, complete(ring, 6), "read past EOF");
        }
        assertEquals(-Libc.ENOENT, Libc.open(dir.resolve("missing").toString(), Libc.O_RDONLY, 0));
    }

    @Test
    void getSqeReturnsNullWhenTheQueueIsFull() throws Exception {
        try (Ring ring = Ring.open(8, PLAIN)) {
            assertEquals(8, ring.sqEntries());
            for (int i = 0; i < 8; i++) {
                MemorySegment sqe = ring.getSqe();
                assertNotNull(sqe, "sqe " + i);
                io_uring_prep_nop(sqe);
                io_uring_sqe_set_data64(sqe, i);
            }
            assertNull(ring.getSqe());
            assertNull(ring.getSqe(), "a failed get_sqe takes nothing");
            assertEquals(8, ring.submit());
            MemorySegment sqe = ring.getSqe();
            assertNotNull(sqe, "space again once the kernel consumed the SQ");
            io_uring_prep_nop(sqe);
            io_uring_sqe_set_data64(sqe, 8);
            assertEquals(1, ring.submitAndWait(9));
            assertEquals(9, ring.cqReady());
            BitSet seen = new BitSet();
            for (MemorySegment cqe; (cqe = ring.peekCqe()) != null; ring.cqeSeen(cqe)) {
                assertEquals(0, io_uring_cqe.res(cqe));
                seen.set((int) io_uring_cqe.user_data(cqe));
            }
            assertEquals(9, seen.cardinality());
            assertEquals(9, seen.nextClearBit(0));
        }
    }

    /**
     * 256 writes then 256 reads through a 64-entry SQ, up to 120 in flight (the CQ holds 128),
     * submitting as SQEs fill and reaping in batches.
     */
    @ParameterizedTest
    @ValueSource(ints = {PLAIN, DEFER, COOP})
    void manyOpsInFlight(int flags) throws Exception {
        int ops = 256;
        assertTrue(openFile("deep", 0) >= 0);
        MemorySegment out = buffer((long) ops * BLOCK);
        MemorySegment in = buffer((long) ops * BLOCK);
        for (int i = 0; i < ops; i++) {
            out.asSlice((long) i * BLOCK, BLOCK).fill((byte) i);
            out.set(ValueLayout.JAVA_INT, (long) i * BLOCK, i);
        }
        try (Ring ring = Ring.open(64, flags)) {
            assertEquals(64, ring.sqEntries());
            assertEquals(128, ring.cqEntries());
            runDeep(ring, ops, true, out);
            runDeep(ring, ops, false, in);
        }
        assertEquals(-1, out.mismatch(in));
    }

    private void runDeep(Ring ring, int ops, boolean write, MemorySegment buf) throws UringException {
        int next = 0;
        int inflight = 0;
        int maxInflight = 0;
        BitSet done = new BitSet(ops);
        while (done.cardinality() < ops) {
            int prepared = 0;
            while (next < ops && inflight < 120) {
                MemorySegment sqe = ring.getSqe();
                if (sqe == null) { // SQ full: hand these to the kernel and carry on preparing
                    assertEquals(ring.sqEntries(), prepared);
                    assertEquals(prepared, ring.submit());
                    prepared = 0;
                    continue;
                }
                long addr = buf.address() + (long) next * BLOCK;
                long offset = (long) next * BLOCK;
                if (write) {
                    io_uring_prep_write(sqe, fd, addr, BLOCK, offset);
                } else {
                    io_uring_prep_read(sqe, fd, addr, BLOCK, offset);
                }
                io_uring_sqe_set_data64(sqe, (write ? 0x1_0000_0000L : 0x2_0000_0000L) | next);
                next++;
                inflight++;
                prepared++;
            }
            maxInflight = Math.max(maxInflight, inflight);
            if (prepared > 0) {
                assertEquals(prepared, ring.submit());
            }
            if (ring.cqReady() == 0) {
                ring.waitCqe();
            }
            int n = ring.cqReady();
            for (int i = 0; i < n; i++) {
                MemorySegment cqe = ring.cqeAt(i);
                long userData = io_uring_cqe.user_data(cqe);
                assertEquals(write ? 1 : 2, userData >>> 32, "op kind");
                int index = (int) userData;
                assertEquals(BLOCK, io_uring_cqe.res(cqe), "op " + index);
                assertTrue(index >= 0 && index < ops && !done.get(index), "duplicate or stray " + index);
                done.set(index);
            }
            ring.cqAdvance(n);
            inflight -= n;
        }
        assertEquals(0, inflight);
        assertTrue(maxInflight > ring.sqEntries(), "kept more in flight than the SQ holds: " + maxInflight);
    }

    /** The per-I/O path (get_sqe, prep, set_data, submit, wait, seen) allocates nothing once compiled. */
    @Test
    void hotPathDoesNotAllocate() throws Exception {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported());
        assertTrue(openFile("hot", 0) >= 0);
        MemorySegment buf = buffer(BLOCK);
        fill(buf, 7);
        try (Ring ring = Ring.open(64, DEFER)) {
            io_uring_prep_write(sqe(ring, 0), fd, buf.address(), BLOCK, 0);
            assertEquals(BLOCK, complete(ring, 0));
            for (int round = 0; round < 30; round++) {
                hotLoop(ring, buf, 10_000);
            }
            long before = threads.getCurrentThreadAllocatedBytes();
            long sum = hotLoop(ring, buf, 100_000);
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertEquals(100_000L * BLOCK, sum);
            assertTrue(allocated < 16 * 1024, "allocated " + allocated + " bytes for 100000 reads");
        }
    }

    private long hotLoop(Ring ring, MemorySegment buf, int reads) throws UringException {
        long sum = 0;
        for (int i = 0; i < reads; i += 16) {
            for (int j = 0; j < 16; j++) {
                MemorySegment sqe = ring.getSqe();
                io_uring_prep_read(sqe, fd, buf.address(), BLOCK, 0);
                io_uring_sqe_set_data64(sqe, i + j);
            }
            ring.submitAndWait(16);
            for (int j = 0; j < 16; j++) {
                MemorySegment cqe = ring.waitCqe();
                sum += io_uring_cqe.res(cqe);
                ring.cqeSeen(cqe);
            }
        }
        return sum;
    }
}
