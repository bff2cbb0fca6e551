package d4.engine.alloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.D4Exception;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SpaceMapTest {
    private static SpaceMap oneVolume(long start, long end) {
        return new SpaceMap(new long[] {start}, new long[] {end});
    }

    @Test
    void changedChunksExportAndLoadIntoAnEqualMap() {
        long start = 1027;
        long end = start + 3 * SpaceMap.CHUNK_BLOCKS + 100; // the last chunk is partial
        SpaceMap m = oneVolume(start, end);
        assertEquals(4, m.chunkCount(0));
        Run a = m.allocate(10, 0);
        m.markUsed(new Run(0, start + 2 * SpaceMap.CHUNK_BLOCKS - 3, 6), "straddles chunks 1 and 2");
        m.markUsed(new Run(0, end - 1, 1), "the last block");
        List<SpaceMap.Chunk> dirty = m.takeDirtyChunks();
        assertEquals(List.of(new SpaceMap.Chunk(0, 0), new SpaceMap.Chunk(0, 1), new SpaceMap.Chunk(0, 2),
                new SpaceMap.Chunk(0, 3)), dirty);
        assertEquals(List.of(), m.takeDirtyChunks(), "taking forgets them");
        SpaceMap back = oneVolume(start, end);
        for (SpaceMap.Chunk c : dirty) {
            byte[] bits = m.exportChunk(c, List.of());
            assertEquals(SpaceMap.CHUNK_BYTES, bits.length);
            back.loadChunk(0, c.index(), bits);
        }
        assertEquals(m.freeBlocks(), back.freeBlocks());
        assertEquals(List.of(), m.usedNotIn(back));
        assertEquals(List.of(), back.usedNotIn(m));
        // Blocks shown free on export (allocated, not committed) are what the other map lacks.
        SpaceMap partial = oneVolume(start, end);
        partial.loadChunk(0, 0, m.exportChunk(new SpaceMap.Chunk(0, 0), List.of(new Run(0, start + 2, 3))));
        assertEquals(List.of(new Run(0, start, 2), new Run(0, start + 5, 5)), partial.usedNotIn(oneVolume(start, end)));
        assertEquals(List.of(new Run(0, start + 2, 3), new Run(0, start + 2 * SpaceMap.CHUNK_BLOCKS - 3, 6),
                new Run(0, end - 1, 1)), m.usedNotIn(partial));
        m.free(a);
        assertEquals(List.of(new SpaceMap.Chunk(0, 0)), m.takeDirtyChunks());
        m.markDirty(dirty);
        assertEquals(dirty, m.takeDirtyChunks(), "a failed checkpoint puts them back");
        // A stored chunk marking blocks past the data area is damage, not a crash.
        byte[] past = new byte[SpaceMap.CHUNK_BYTES];
        past[SpaceMap.CHUNK_BYTES - 1] = (byte) 0x80;
        assertThrows(D4Exception.Corruption.class, () -> oneVolume(start, end).loadChunk(0, 3, past));
        assertThrows(D4Exception.Corruption.class, () -> oneVolume(start, end).loadChunk(0, 4, new byte[SpaceMap.CHUNK_BYTES]));
    }

    @Test
    void allocatesContiguousRunsInsideTheDataArea() {
        SpaceMap m = oneVolume(10, 110);
        assertEquals(100, m.capacityBlocks(0));
        assertEquals(100, m.freeBlocks());
        Run a = m.allocate(30, 0);
        assertEquals(new Run(0, 10, 30), a);
        Run b = m.allocate(100, 0);
        assertEquals(new Run(0, 40, 70), b, "at most what is left, contiguous");
        assertEquals(0, m.freeBlocks());
        D4Exception.NoSpace e = assertThrows(D4Exception.NoSpace.class, () -> m.allocate(1, 0));
        assertTrue(e.getMessage().contains("full"), e.getMessage());
        m.free(a);
        assertEquals(30, m.freeBlocks());
        assertEquals(new Run(0, 10, 30), m.allocate(50, 0), "the cursor wraps around to the freed run");
    }

    @Test
    void fragmentedSpaceGivesShorterRunsAndNeverOverlaps() {
        SpaceMap m = oneVolume(3, 1003);
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            runs.add(m.allocate(10, 0));
        }
        assertEquals(0, m.freeBlocks());
        for (int i = 0; i < runs.size(); i += 2) {
            m.free(runs.get(i));
        }
        assertEquals(500, m.freeBlocks());
        BitSet seen = new BitSet();
        long total = 0;
        while (m.freeBlocks() > 0) {
            Run r = m.allocate(64, 0);
            assertTrue(r.lengthBlocks() <= 10, "free space is in holes of 10: " + r);
            assertTrue(r.startBlock() >= 3 && r.endBlock() <= 1003, r.toString());
            for (long b = r.startBlock(); b < r.endBlock(); b++) {
                assertTrue(!seen.get((int) b), "block " + b + " handed out twice");
                seen.set((int) b);
            }
            total += r.lengthBlocks();
        }
        assertEquals(500, total);
    }

    @Test
    void randomAllocateAndFreeKeepTheCountsExact() {
        SpaceMap m = oneVolume(100, 5100);
        Random r = new Random(5);
        List<Run> held = new ArrayList<>();
        BitSet used = new BitSet();
        for (int i = 0; i < 5000; i++) {
            if (r.nextInt(3) > 0 && m.freeBlocks() > 0) {
                Run run = m.allocate(1 + r.nextInt(40), 0);
                for (long b = run.startBlock(); b < run.endBlock(); b++) {
                    assertTrue(!used.get((int) b), "double allocation of " + b);
                    used.set((int) b);
                }
                held.add(run);
            } else if (!held.isEmpty()) {
                Run run = held.remove(r.nextInt(held.size()));
                m.free(run);
                used.clear((int) run.startBlock(), (int) run.endBlock());
            }
            assertEquals(5000 - used.cardinality(), m.freeBlocks());
        }
    }

    @Test
    void markUsedTwiceIsCorruption() {
        SpaceMap m = oneVolume(10, 110);
        m.markUsed(new Run(0, 20, 10), "object 1");
        assertEquals(90, m.freeBlocks());
        D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class,
                () -> m.markUsed(new Run(0, 25, 10), "object 2"));
        assertTrue(e.getMessage().contains("block 25") && e.getMessage().contains("object 2"), e.getMessage());
        assertEquals(90, m.freeBlocks(), "the failed mark changed nothing");
        m.markUsed(new Run(0, 30, 5), "object 3"); // adjacent, no overlap
        // Allocation never hands out marked blocks.
        while (m.freeBlocks() > 0) {
            Run r = m.allocate(100, 0);
            assertTrue(r.endBlock() <= 20 || r.startBlock() >= 35, r.toString());
        }
    }

    @Test
    void runsOutsideTheDataAreaAreCorruption() {
        SpaceMap m = oneVolume(10, 110);
        assertThrows(D4Exception.Corruption.class, () -> m.markUsed(new Run(0, 5, 10), "x"));
        assertThrows(D4Exception.Corruption.class, () -> m.markUsed(new Run(0, 105, 10), "x"));
        assertThrows(D4Exception.Corruption.class, () -> m.markUsed(new Run(1, 20, 1), "x"));
        assertThrows(D4Exception.Corruption.class, () -> m.free(new Run(0, 110, 1)));
    }

    @Test
    void doubleFreeIsABug() {
        SpaceMap m = oneVolume(10, 110);
        Run r = m.allocate(10, 0);
        m.free(r);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.free(r));
        assertTrue(e.getMessage().contains("double free"), e.getMessage());
        assertEquals(100, m.freeBlocks());
        // A run that is partly free is a double free too.
        Run a = m.allocate(5, 0);
        assertThrows(IllegalStateException.class, () -> m.free(new Run(0, a.startBlock(), 6)));
        assertThrows(IllegalStateException.class, () -> m.allocate(0, 0));
    }

    @Test
    void reserveRefusesAllocationWhenFreeSpaceIsAtOrBelowIt() {
        SpaceMap m = oneVolume(0 + 3, 103);
        assertThrows(D4Exception.NoSpace.class, () -> m.allocate(1, 100));
        assertThrows(D4Exception.NoSpace.class, () -> m.allocate(1, 1000));
        assertEquals(100, m.freeBlocks());
        Run r = m.allocate(1, 99);
        assertEquals(1, r.lengthBlocks());
        assertThrows(D4Exception.NoSpace.class, () -> m.allocate(1, 99));
        // Reserve 0 still hands out the last blocks (the engine's own checkpoints use it).
        assertEquals(99, m.allocate(200, 0).lengthBlocks());
    }

    @Test
    void allocationNeverEatsIntoTheReserve() {
        SpaceMap m = oneVolume(3, 103);
        Run r = m.allocate(50, 80);
        assertTrue(m.freeBlocks() >= 80, "kept " + m.freeBlocks() + " free blocks after " + r + ", reserve 80");
    }

    @Test
    void multipleVolumesFillOneAfterAnother() {
        SpaceMap m = new SpaceMap(new long[] {1027, 3}, new long[] {1100, 50});
        assertEquals(2, m.volumeCount());
        assertEquals(73 + 47, m.freeBlocks());
        long onV0 = 0;
        long onV1 = 0;
        while (m.freeBlocks() > 0) {
            Run r = m.allocate(16, 0);
            if (r.volume() == 0) {
                assertTrue(r.startBlock() >= 1027 && r.endBlock() <= 1100, r.toString());
                onV0 += r.lengthBlocks();
            } else {
                assertTrue(r.startBlock() >= 3 && r.endBlock() <= 50, r.toString());
                onV1 += r.lengthBlocks();
            }
        }
        assertEquals(73, onV0);
        assertEquals(47, onV1);
        assertEquals(0, m.freeBlocks(0));
        assertEquals(0, m.freeBlocks(1));
        m.free(new Run(1, 10, 5));
        assertEquals(5, m.freeBlocks(1));
        assertEquals(new Run(1, 10, 5), m.allocate(16, 0));
    }
}
