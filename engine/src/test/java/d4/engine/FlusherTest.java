package d4.engine;

import static d4.engine.Pools.create;
import static d4.engine.Pools.read;
import static d4.engine.Pools.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.io.DriveFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The background flusher: commits become durable without an explicit sync, and close() loses nothing. */
class FlusherTest {
    @TempDir
    Path dir;

    private static byte[] stamp(int i) {
        return ByteBuffer.allocate(4096).putInt(0, i).putInt(4092, ~i).array();
    }

    @Test
    void theFlusherMakesCommitsDurableWithoutAnExplicitSync() throws Exception {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = Pool.open(List.of(v), new PoolOptions(Pools.DRIVES, 20))) {
            ObjectId id = create(pool);
            write(pool, id, 0, stamp(7));
            Thread.sleep(300); // many flusher intervals
            Path copy = Pools.crashCopy(dir.resolve("crash"), v).getFirst();
            try (Pool c = Pools.open(copy)) {
                assertArrayEquals(stamp(7), read(c, id, 0, 4096), "flushed by the background flusher");
            }
            assertFalse(pool.failure().isPresent());
        }
    }

    /**
     * Pool.close() interrupts the flusher; when the flusher is inside a FileChannel write or force at
     * that moment, the interrupt closes the volume's channel (ClosedByInterruptException). The flusher
     * then marks the pool failed, close() skips its checkpoint, and throws DriveFailure ("closing
     * volume ... failed: null"); committed but unsynced transactions are lost. Reproduces in most
     * rounds with a 1 ms commit interval.
     */
    @Test
    void closeWithABusyFlusherKeepsEveryCommit() throws Exception {
        Path v = Pools.formatOne(dir, "p");
        PoolOptions busy = new PoolOptions(Pools.DRIVES, 1);
        for (int round = 0; round < 30; round++) {
            Pool pool = Pool.open(List.of(v), busy);
            ObjectId id = create(pool);
            long until = System.nanoTime() + 30_000_000L;
            int i = 0;
            while (System.nanoTime() < until) {
                write(pool, id, (i % 64) * 4096L, stamp(i));
                i++;
            }
            int last = i - 1;
            RuntimeException closeError = null;
            try {
                pool.close();
            } catch (RuntimeException e) {
                closeError = e;
            }
            try (Pool again = Pools.open(v)) {
                byte[] got = read(again, id, (last % 64) * 4096L, 4096);
                int found = got.length == 4096 ? ByteBuffer.wrap(got).getInt(0) : -1; // -1: past the end
                assertArrayEquals(stamp(last), got, "round " + round + ": the last committed write (" + last
                        + ") survives close; found write " + found + "; close threw " + closeError);
                assertTrue(closeError == null, "round " + round + ": close threw " + closeError);
            }
        }
    }
}
