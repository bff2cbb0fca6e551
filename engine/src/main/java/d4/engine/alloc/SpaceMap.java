package d4.engine.alloc;

import d4.engine.D4Exception;
import d4.engine.Invariant;
import java.util.BitSet;

/**
 * The free-space map of a pool: one bit per block of each volume's data area.
 *
 * <p>In this version the map lives in memory and is rebuilt at open from the extents the index
 * references (so it can neither leak nor double-allocate across a crash); the on-disk free-space
 * tree arrives with the B+tree. Callers free blocks only once the commit that released them is
 * durable (see {@code Pool}), so a block is never reused while a durable structure points at it.
 *
 * <p>Thread-safe: every method is synchronized (allocation is short and not on a hot lock path).
 */
public final class SpaceMap {
    private final BitSet[] used;
    private final long[] dataStart;
    private final long[] dataEnd;
    private final long[] cursor;
    private final long[] freeBlocks;
    private int currentVolume;

    /** @param dataStart and dataEnd per volume: the allocatable block range [start, end). */
    public SpaceMap(long[] dataStart, long[] dataEnd) {
        int n = dataStart.length;
        this.used = new BitSet[n];
        this.dataStart = dataStart.clone();
        this.dataEnd = dataEnd.clone();
        this.cursor = dataStart.clone();
        this.freeBlocks = new long[n];
        for (int v = 0; v < n; v++) {
            long blocks = dataEnd[v] - dataStart[v];
            Invariant.check(blocks > 0 && blocks < Integer.MAX_VALUE, "volume data area of %d blocks", blocks);
            used[v] = new BitSet((int) blocks);
            freeBlocks[v] = blocks;
        }
    }

    public synchronized long freeBlocks() {
        long total = 0;
        for (long f : freeBlocks) {
            total += f;
        }
        return total;
    }

    public synchronized long freeBlocks(int volume) {
        return freeBlocks[volume];
    }

    public long capacityBlocks(int volume) {
        return dataEnd[volume] - dataStart[volume];
    }

    public int volumeCount() {
        return used.length;
    }

    /**
     * Allocates one contiguous run of at most {@code maxBlocks} blocks (fewer when free space is
     * fragmented), keeping {@code reserveBlocks} free for the engine's own checkpoints.
     */
    public synchronized Run allocate(int maxBlocks, long reserveBlocks) {
        Invariant.check(maxBlocks > 0, "allocate %d blocks", maxBlocks);
        long allowed = freeBlocks() - reserveBlocks;
        if (allowed <= 0) {
            throw new D4Exception.NoSpace("the pool is full: free space by deleting files, or add a volume");
        }
        maxBlocks = (int) Math.min(maxBlocks, allowed);
        for (int tried = 0; tried < used.length; tried++) {
            int v = (currentVolume + tried) % used.length;
            if (freeBlocks[v] == 0) {
                continue;
            }
            Run run = allocateOn(v, maxBlocks);
            currentVolume = v;
            return run;
        }
        throw new D4Exception.NoSpace("the pool is full: free space by deleting files, or add a volume");
    }

    /**
     * Allocates up to {@code maxBlocks} contiguous blocks on any volume but {@code excludedVolume}
     * (the second copy of a mirrored extent), keeping {@code reserveBlocks} free.
     */
    public synchronized Run allocateOther(int excludedVolume, int maxBlocks, long reserveBlocks) {
        Invariant.check(maxBlocks > 0, "allocate %d blocks", maxBlocks);
        long allowed = freeBlocks() - reserveBlocks;
        if (allowed <= 0) {
            throw new D4Exception.NoSpace("the pool is full: free space by deleting files, or add a volume");
        }
        maxBlocks = (int) Math.min(maxBlocks, allowed);
        int best = -1;
        for (int v = 0; v < used.length; v++) {
            if (v != excludedVolume && freeBlocks[v] > 0 && (best < 0 || freeBlocks[v] > freeBlocks[best])) {
                best = v;
            }
        }
        if (best < 0) {
            throw new D4Exception.NoSpace("no volume but " + excludedVolume + " has room for the second copy: free space"
                    + " by deleting files, or add a volume");
        }
        return allocateOn(best, maxBlocks);
    }

    private Run allocateOn(int v, int maxBlocks) {
        BitSet bits = used[v];
        int size = (int) (dataEnd[v] - dataStart[v]);
        int from = (int) (cursor[v] - dataStart[v]);
        int start = bits.nextClearBit(from);
        if (start >= size) {
            start = bits.nextClearBit(0);
        }
        Invariant.check(start < size, "volume with free blocks has no clear bit (%d of %d)", start, size);
        int end = bits.nextSetBit(start);
        if (end < 0 || end > size) {
            end = size;
        }
        int length = Math.min(end - start, maxBlocks);
        bits.set(start, start + length);
        freeBlocks[v] -= length;
        cursor[v] = dataStart[v] + start + length;
        return new Run(v, dataStart[v] + start, length);
    }

    /** Marks a run used while rebuilding the map at open; a block referenced twice is corruption. */
    public synchronized void markUsed(Run run, String owner) {
        checkInside(run);
        int from = (int) (run.startBlock() - dataStart[run.volume()]);
        BitSet bits = used[run.volume()];
        int clash = bits.nextSetBit(from);
        if (clash >= 0 && clash < from + run.lengthBlocks()) {
            throw new D4Exception.Corruption("block " + (dataStart[run.volume()] + clash) + " of volume " + run.volume()
                    + " is referenced twice (second time by " + owner + "): the metadata is damaged; run d4 fsck");
        }
        bits.set(from, from + run.lengthBlocks());
        freeBlocks[run.volume()] -= run.lengthBlocks();
    }

    /** Returns a run to free space. Freeing a block that is already free is a bug. */
    public synchronized void free(Run run) {
        checkInside(run);
        int from = (int) (run.startBlock() - dataStart[run.volume()]);
        BitSet bits = used[run.volume()];
        int firstFree = bits.nextClearBit(from);
        Invariant.check(firstFree >= from + run.lengthBlocks(), "double free of block %d on volume %d",
                dataStart[run.volume()] + firstFree, run.volume());
        bits.clear(from, from + run.lengthBlocks());
        freeBlocks[run.volume()] += run.lengthBlocks();
    }

    private void checkInside(Run run) {
        int v = run.volume();
        if (v >= used.length || run.startBlock() < dataStart[v] || run.endBlock() > dataEnd[v]) {
            throw new D4Exception.Corruption("extent " + run + " lies outside the data area of its volume: the metadata is damaged; run d4 fsck");
        }
    }
}
