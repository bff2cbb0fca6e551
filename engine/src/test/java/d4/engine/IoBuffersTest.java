package d4.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The pooled I/O buffers: never a wait (a temporary buffer when all are taken), a batch per pooled buffer. */
class IoBuffersTest {
    @Test
    void allTakenGivesATemporaryBufferWithoutBatchAndNeverWaits() {
        try (IoBuffers buffers = new IoBuffers(4)) {
            List<MemorySegment> taken = new ArrayList<>();
            Set<Object> batches = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                MemorySegment b = buffers.take();
                assertEquals(Limits.IO_CHUNK_BYTES, b.byteSize());
                assertEquals(0, b.address() % Limits.BLOCK_BYTES, "aligned for O_DIRECT");
                assertNotNull(buffers.batchFor(b));
                assertSame(buffers.batchFor(b), buffers.batchFor(b.asSlice(Limits.BLOCK_BYTES, Limits.BLOCK_BYTES)),
                        "a slice of a buffer names the buffer's batch");
                batches.add(buffers.batchFor(b));
                taken.add(b);
            }
            assertEquals(4, batches.size(), "one batch per buffer");
            MemorySegment extra = buffers.take(); // would have waited forever before
            assertEquals(Limits.IO_CHUNK_BYTES, extra.byteSize());
            assertEquals(0, extra.address() % Limits.BLOCK_BYTES);
            assertNull(buffers.batchFor(extra));
            buffers.give(extra); // dropped, not pooled
            buffers.give(taken.getFirst());
            MemorySegment again = buffers.take();
            assertTrue(again.address() == taken.getFirst().address(), "the pooled buffer comes back");
            assertNotNull(buffers.batchFor(again));
            assertNull(buffers.batchFor(MemorySegment.ofArray(new byte[8])), "a heap segment has no batch");
        }
    }
}
