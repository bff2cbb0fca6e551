package d4.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * A fixed set of aligned off-heap buffers of {@link Limits#IO_CHUNK_BYTES}, allocated once at open:
 * data reads and writes borrow one instead of allocating per call. Bounded, so memory is too.
 */
final class IoBuffers implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final ArrayBlockingQueue<MemorySegment> free;

    IoBuffers(int count) {
        free = new ArrayBlockingQueue<>(count);
        for (int i = 0; i < count; i++) {
            free.add(arena.allocate(Limits.IO_CHUNK_BYTES, Limits.BLOCK_BYTES));
        }
    }

    MemorySegment take() {
        try {
            return free.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new D4Exception.DriveFailure("interrupted while waiting for an I/O buffer", e);
        }
    }

    void give(MemorySegment buffer) {
        Invariant.check(free.offer(buffer), "returned more buffers than were taken");
    }

    @Override
    public void close() {
        arena.close();
    }
}
