package d4.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.D4Exception;
import d4.engine.Limits;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChannelDriveTest {
    private static final int B = Limits.BLOCK_BYTES;

    @TempDir
    Path dir;

    private Path file(long blocks) throws Exception {
        Path f = dir.resolve("vol");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(blocks * B);
        }
        return f;
    }

    @Test
    void writeReadRoundTripAtBlockOffsets() throws Exception {
        Path f = file(16);
        byte[] data = new byte[3 * B];
        new Random(1).nextBytes(data);
        try (ChannelDrive d = ChannelDrive.open(f, B); Arena arena = Arena.ofConfined()) {
            assertEquals(16L * B, d.sizeBytes());
            assertEquals(B, d.alignmentBytes());
            assertEquals("filechannel", d.engine());
            MemorySegment src = arena.allocate(data.length, B);
            MemorySegment.copy(data, 0, src, ValueLayout.JAVA_BYTE, 0, data.length);
            d.write(5L * B, src);
            d.flush();
            MemorySegment dst = arena.allocate(data.length, B);
            d.read(5L * B, dst);
            assertArrayEquals(data, dst.toArray(ValueLayout.JAVA_BYTE));
        }
        byte[] onDisk = Files.readAllBytes(f);
        byte[] slice = java.util.Arrays.copyOfRange(onDisk, 5 * B, 8 * B);
        assertArrayEquals(data, slice, "the bytes are where the offset says");
    }

    @Test
    void misalignedOrOutOfRangeIoIsABug() throws Exception {
        Path f = file(4);
        try (ChannelDrive d = ChannelDrive.open(f, B); Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocate(B, B);
            assertThrows(IllegalStateException.class, () -> d.read(1, one));
            assertThrows(IllegalStateException.class, () -> d.read(0, one.asSlice(0, 100)));
            assertThrows(IllegalStateException.class, () -> d.read(4L * B, one));
            assertThrows(IllegalStateException.class, () -> d.write(-B, one));
            d.read(3L * B, one); // the last block is fine
        }
    }

    @Test
    void missingFileIsPoolUnavailable() {
        Path missing = dir.resolve("missing");
        D4Exception.PoolUnavailable e = assertThrows(D4Exception.PoolUnavailable.class, () -> ChannelDrive.open(missing, B));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void aLockedVolumeCannotBeOpenedTwice() throws Exception {
        Path f = file(4);
        try (ChannelDrive d = ChannelDrive.open(f, B)) {
            D4Exception.PoolUnavailable e = assertThrows(D4Exception.PoolUnavailable.class, () -> ChannelDrive.open(f, B));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
            assertEquals(4L * B, d.sizeBytes());
        }
        ChannelDrive.open(f, B).close(); // released on close
    }

    /**
     * FileChannel is an interruptible channel: an I/O call made by an interrupted thread closes the
     * channel for every thread. One interrupted reader (or Pool.close() interrupting its flusher in
     * the middle of a sync) leaves the volume unusable until the pool is reopened.
     */
    @Test
    void anInterruptedCallerDoesNotBreakTheDriveForOthers() throws Exception {
        Path f = file(4);
        try (ChannelDrive d = ChannelDrive.open(f, B); Arena arena = Arena.ofShared()) {
            MemorySegment one = arena.allocate(B, B);
            Thread t = new Thread(() -> {
                Thread.currentThread().interrupt();
                try {
                    d.read(0, one);
                } catch (RuntimeException expectedForThisThread) {
                    // the interrupted thread may fail its own read
                }
            });
            t.start();
            t.join();
            d.read(B, one); // another, uninterrupted thread
            d.write(B, one);
            d.flush();
        }
    }
}
