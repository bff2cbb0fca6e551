package d4.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.D4Exception;
import d4.engine.Tmpfs;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link IoWindow} on both drives, on real files: random data written and read back through the
 * window at depths 1, 16 and 64, errors reported per request with their tags, misuse refused.
 */
class IoWindowTest {
    static final int BLOCK = 4096;

    @TempDir
    Path dir;

    Path volume(long bytes) throws Exception {
        Path p = dir.resolve("v" + System.nanoTime() + ".img");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    static void fill(MemorySegment s, long seed) {
        byte[] b = new byte[(int) s.byteSize()];
        new Random(seed).nextBytes(b);
        MemorySegment.copy(b, 0, s, ValueLayout.JAVA_BYTE, 0, b.length);
    }

    static boolean hasPattern(MemorySegment s, long seed) {
        byte[] want = new byte[(int) s.byteSize()];
        new Random(seed).nextBytes(want);
        return s.mismatch(MemorySegment.ofArray(want)) == -1;
    }

    /**
     * Writes {@code requests} requests of 1 to 4 blocks at distinct places of the volume through a
     * window of {@code depth}, refilling as each completes, then reads them all back the same way
     * and checks every byte. Buffer {@code k} of the window's {@code depth} buffers is the tag.
     */
    @ParameterizedTest
    @CsvSource({"io_uring,1", "io_uring,16", "io_uring,64", "filechannel,1", "filechannel,16", "filechannel,64"})
    void randomDataRoundTripsThroughTheWindow(String engine, int depth) throws Exception {
        int requests = 1500;
        long slots = 4L * requests; // request i owns blocks [4 * place(i), +4)
        Path p = volume(slots * BLOCK);
        long[] place = new long[requests];
        int[] blocks = new int[requests];
        Random rnd = new Random(depth);
        BitSet used = new BitSet();
        for (int i = 0; i < requests; i++) {
            int at;
            do {
                at = rnd.nextInt(requests);
            } while (used.get(at));
            used.set(at);
            place[i] = 4L * at * BLOCK;
            blocks[i] = 1 + rnd.nextInt(4);
        }
        try (Drive d = DriveBatchTest.open(engine, p); Arena arena = Arena.ofShared()) {
            MemorySegment[] bufs = new MemorySegment[depth];
            int[] request = new int[depth];
            for (int k = 0; k < depth; k++) {
                bufs[k] = arena.allocate(4L * BLOCK, BLOCK);
            }
            for (boolean write : new boolean[] {true, false}) {
                try (IoWindow w = d.openWindow(depth)) {
                    assertEquals(depth, w.depth());
                    BitSet freeBufs = new BitSet();
                    freeBufs.set(0, depth);
                    int next = 0;
                    int taken = 0;
                    while (taken < requests) {
                        while (next < requests && w.hasRoom()) {
                            int k = freeBufs.nextSetBit(0);
                            freeBufs.clear(k);
                            request[k] = next;
                            MemorySegment b = bufs[k].asSlice(0, (long) blocks[next] * BLOCK);
                            if (write) {
                                fill(b, next);
                                w.write(place[next], b, k);
                            } else {
                                b.fill((byte) 0x55);
                                w.read(place[next], b, k);
                            }
                            next++;
                        }
                        assertTrue(w.inFlight() <= depth);
                        int k = (int) w.take();
                        taken++;
                        assertNull(w.failure(), "request " + request[k]);
                        assertFalse(freeBufs.get(k), "tag " + k + " taken twice");
                        if (!write) {
                            int i = request[k];
                            assertTrue(hasPattern(bufs[k].asSlice(0, (long) blocks[i] * BLOCK), i),
                                    "request " + i + " reads back other bytes than were written");
                        }
                        freeBufs.set(k);
                    }
                    assertEquals(0, w.inFlight());
                }
            }
            if (engine.equals("io_uring")) {
                assertTrue(((UringDrive) d).stats().peakInFlight() >= Math.min(depth, 2),
                        "the requests were in the kernel together: " + ((UringDrive) d).stats());
            }
        }
    }

    /** Batches on the caller's own ring, at depth 1, 16, 64 and 300 (more than the ring holds: refills). */
    @ParameterizedTest
    @ValueSource(ints = {1, 16, 64, 300})
    void batchesOnTheCallersRingRoundTripAcrossWaves(int depth) throws Exception {
        Path p = volume(64L << 20);
        try (UringDrive d = UringDrive.open(p, BLOCK); Arena arena = Arena.ofShared()) {
            long blocks = d.sizeBytes() / BLOCK;
            MemorySegment all = arena.allocate((long) depth * BLOCK, BLOCK);
            MemorySegment back = arena.allocate((long) depth * BLOCK, BLOCK);
            IoBatch batch = new IoBatch(depth);
            Random rnd = new Random(depth);
            for (int round = 0; round < 5; round++) {
                long[] offsets = new long[depth];
                BitSet used = new BitSet();
                for (int i = 0; i < depth; i++) {
                    int b;
                    do {
                        b = rnd.nextInt((int) blocks);
                    } while (used.get(b));
                    used.set(b);
                    offsets[i] = (long) b * BLOCK;
                }
                fill(all, round * 1000L + depth);
                batch.clear();
                for (int i = 0; i < depth; i++) {
                    batch.write(offsets[i], all.asSlice((long) i * BLOCK, BLOCK));
                }
                d.submit(batch);
                back.fill((byte) 0x55);
                batch.clear();
                for (int i = 0; i < depth; i++) {
                    batch.read(offsets[i], back.asSlice((long) i * BLOCK, BLOCK));
                }
                d.submit(batch);
                assertEquals(-1, back.mismatch(all), "round " + round + " reads back other bytes");
            }
            DriveStats s = d.stats();
            assertEquals(2, s.rings(), "the batches ran on the caller's own ring: " + s);
            assertEquals(Math.min(depth, UringDrive.THREAD_RING_ENTRIES), s.peakInFlight(),
                    "a batch is in the kernel all at once, up to the ring's size: " + s);
        }
    }

    /**
     * Writes that run out of space on a 1 MiB tmpfs among reads of blocks written before: each
     * failing write is reported with its own tag as NoSpace, the reads complete with the right
     * bytes, and the window works on afterwards.
     */
    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "filechannel"})
    void failuresAreReportedPerRequestWithTheirTags(String engine) throws Exception {
        try (Tmpfs host = Tmpfs.mount(dir, "1m")) {
            Path p = host.path().resolve("v.img");
            try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                f.setLength(8 << 20); // sparse: 8 MiB promised, 1 MiB real
            }
            try (Drive d = DriveBatchTest.open(engine, p); Arena arena = Arena.ofShared();
                    IoWindow w = d.openWindow(32)) {
                MemorySegment first = arena.allocate(4 * BLOCK, BLOCK);
                fill(first, 7);
                d.write(0, first);
                MemorySegment chunk = arena.allocate(256 << 10, BLOCK);
                fill(chunk, 8);
                int writes = 0;
                for (long off = 1 << 20; off < (8 << 20); off += chunk.byteSize()) {
                    w.write(off, chunk, 1000 + writes++); // 7 MiB more than the 1 MiB there is
                }
                MemorySegment[] reads = new MemorySegment[4];
                for (int i = 0; i < reads.length; i++) {
                    reads[i] = arena.allocate(BLOCK, BLOCK);
                    reads[i].fill((byte) 0x55);
                    w.read((long) i * BLOCK, reads[i], i);
                }
                int noSpace = 0;
                BitSet seen = new BitSet();
                while (w.inFlight() > 0) {
                    int tag = (int) w.take();
                    assertFalse(seen.get(tag), "tag " + tag + " twice");
                    seen.set(tag);
                    if (tag < 1000) {
                        assertNull(w.failure(), "read " + tag);
                        assertEquals(-1, reads[tag].mismatch(first.asSlice((long) tag * BLOCK, BLOCK)), "read " + tag);
                    } else if (w.failure() != null) {
                        D4Exception.NoSpace e = assertInstanceOf(D4Exception.NoSpace.class, w.failure());
                        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
                        noSpace++;
                    }
                }
                assertEquals(writes + reads.length, seen.cardinality(), "every request was taken once");
                assertTrue(noSpace >= 20, "most of 7 MiB did not fit into 1 MiB: " + noSpace + " of " + writes);
                MemorySegment again = arena.allocate(4 * BLOCK, BLOCK);
                w.read(0, again, 7);
                assertEquals(7, w.take());
                assertNull(w.failure());
                assertEquals(-1, again.mismatch(first));
            }
        }
    }

    /** A read past the end of a file cut short reads zeros there, as Drive.read does, and is no failure. */
    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "filechannel"})
    void aReadPastTheEndOfAShortFileReadsZeros(String engine) throws Exception {
        Path p = volume(1 << 20);
        try (Drive d = DriveBatchTest.open(engine, p); Arena arena = Arena.ofShared(); IoWindow w = d.openWindow(4)) {
            MemorySegment data = arena.allocate(4 * BLOCK, BLOCK);
            fill(data, 3);
            d.write(0, data);
            d.flush();
            try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                f.setLength(2 * BLOCK);
            }
            MemorySegment r = arena.allocate(4 * BLOCK, BLOCK);
            r.fill((byte) 7);
            MemorySegment beyond = arena.allocate(BLOCK, BLOCK);
            beyond.fill((byte) 7);
            w.read(0, r, 1);
            w.read(8 * BLOCK, beyond, 2);
            w.take();
            assertNull(w.failure());
            w.take();
            assertNull(w.failure());
            assertEquals(-1, r.asSlice(0, 2 * BLOCK).mismatch(data.asSlice(0, 2 * BLOCK)));
            for (long i = 2 * BLOCK; i < 4 * BLOCK; i++) {
                assertEquals(0, r.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
            }
            for (long i = 0; i < BLOCK; i++) {
                assertEquals(0, beyond.get(ValueLayout.JAVA_BYTE, i), "byte " + i + " of the block beyond the end");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "filechannel"})
    void misuseIsRefused(String engine) throws Exception {
        Path p = volume(1 << 20);
        try (Drive d = DriveBatchTest.open(engine, p); Arena arena = Arena.ofShared()) {
            assertThrows(IllegalArgumentException.class, () -> d.openWindow(0));
            assertThrows(IllegalArgumentException.class, () -> d.openWindow(129));
            MemorySegment b = arena.allocate(BLOCK, BLOCK);
            try (IoWindow w = d.openWindow(2)) {
                assertThrows(IllegalStateException.class, w::take, "nothing in flight");
                assertThrows(IllegalStateException.class, () -> w.read(1 << 20, b, 0), "outside the volume");
                assertThrows(IllegalStateException.class, () -> w.read(100, b, 0), "misaligned");
                assertEquals(0, w.inFlight(), "a bad request is not started");
                w.read(0, b, 0);
                w.read(BLOCK, arena.allocate(BLOCK, BLOCK), 1);
                assertFalse(w.hasRoom());
                assertThrows(IllegalStateException.class, () -> w.read(2 * BLOCK, b, 2), "full");
                AtomicReference<Throwable> other = new AtomicReference<>();
                Thread t = Thread.ofPlatform().start(() -> {
                    try {
                        w.take();
                    } catch (Throwable e) {
                        other.set(e);
                    }
                });
                t.join();
                assertInstanceOf(IllegalStateException.class, other.get(), "another thread may not use the window");
                w.take();
                w.take();
                // Heap and misaligned buffers work, as with read and write.
                byte[] heap = new byte[BLOCK];
                w.write(0, MemorySegment.ofArray(heap), 5);
                assertEquals(5, w.take());
                assertNull(w.failure());
            }
        }
    }

    /** A window on a drive with no rings of callers allowed is the synchronous one, and works. */
    @Test
    void withoutThreadRingsTheWindowRunsThroughTheRingThread() throws Exception {
        Path p = volume(1 << 20);
        try (UringDrive d = UringDrive.open(p, BLOCK, 0); Arena arena = Arena.ofShared(); IoWindow w = d.openWindow(8)) {
            assertInstanceOf(SyncWindow.class, w);
            List<MemorySegment> bufs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                MemorySegment b = arena.allocate(BLOCK, BLOCK);
                fill(b, i);
                bufs.add(b);
                w.write((long) i * BLOCK, b, i);
            }
            while (w.inFlight() > 0) {
                w.take();
                assertNull(w.failure());
            }
            MemorySegment r = arena.allocate(BLOCK, BLOCK);
            d.read(3 * BLOCK, r);
            assertTrue(hasPattern(r, 3));
            assertEquals(1, d.stats().rings());
        }
    }
}
