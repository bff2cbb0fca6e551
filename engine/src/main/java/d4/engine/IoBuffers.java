package d4.engine;

import d4.engine.io.IoBatch;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * A fixed set of aligned off-heap buffers of {@link Limits#IO_CHUNK_BYTES}, allocated once at open:
 * data reads and writes borrow one instead of allocating per call (more threads than buffers get
 * temporary ones). Each
 * buffer comes with an {@link IoBatch} big enough for one request per block of it, for the thread
 * that holds the buffer to read the pieces of a fragmented range at once.
 */
final class IoBuffers implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final ArrayBlockingQueue<MemorySegment> free;
    /** All buffers, back to back: a buffer's (or slice's) address names its batch. */
    private final MemorySegment all;
    private final IoBatch[] batches;

    IoBuffers(int count) {
        free = new ArrayBlockingQueue<>(count);
        all = arena.allocate((long) count * Limits.IO_CHUNK_BYTES, Limits.BLOCK_BYTES);
        batches = new IoBatch[count];
        for (int i = 0; i < count; i++) {
            free.add(all.asSlice((long) i * Limits.IO_CHUNK_BYTES, Limits.IO_CHUNK_BYTES));
            batches[i] = new IoBatch(Limits.IO_CHUNK_BYTES / Limits.BLOCK_BYTES);
        }
    }

    /**
     * One of the buffers, or, when all are taken, a new one the garbage collector frees (it has no
     * batch). Never waits: threads take buffers both before and while holding the pool's lock, so
     * waiting here could deadlock with a thread that holds a buffer and waits for the lock.
     */
    MemorySegment take() {
        MemorySegment b = free.poll();
        return b != null ? b : Arena.ofAuto().allocate(Limits.IO_CHUNK_BYTES, Limits.BLOCK_BYTES);
    }

    void give(MemorySegment buffer) {
        if (isOurs(buffer)) {
            Invariant.check(free.offer(buffer), "returned more buffers than were taken");
        }
    }

    private boolean isOurs(MemorySegment segment) {
        long at = segment.address() - all.address();
        return segment.isNative() && at >= 0 && at + segment.byteSize() <= all.byteSize();
    }

    /**
     * The batch of the buffer that {@code segment} lies in (the caller holds that buffer), or null
     * when it is not one of these buffers.
     */
    IoBatch batchFor(MemorySegment segment) {
        if (!isOurs(segment)) {
            return null;
        }
        long at = segment.address() - all.address();
        int i = (int) (at / Limits.IO_CHUNK_BYTES);
        return at + segment.byteSize() <= (long) (i + 1) * Limits.IO_CHUNK_BYTES ? batches[i] : null;
    }

    @Override
    public void close() {
        arena.close();
    }
}
