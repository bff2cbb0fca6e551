package d4.engine.alloc;

import d4.engine.D4Exception;
import d4.engine.Invariant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * The free-space map of a pool: one bit per block of each volume's data area.
 *
 * <p>The map lives in memory and is persisted by the pool's checkpoints as chunks of
 * {@value #CHUNK_BLOCKS} bits (records of the metadata tree): the map remembers which chunks changed
 * since the last checkpoint ({@link #takeDirtyChunks}), so a checkpoint rewrites only those. Callers
 * free blocks only once the commit that released them is durable (see {@code Pool}), so a block is
 * never reused while a durable structure points at it.
 *
 * <p>Thread-safe: every method is synchronized (allocation is short and not on a hot lock path).
 */
public final class SpaceMap {
    private final BitSet[] used;
    private final long[] dataStart;
    private final long[] dataEnd;
    private final long[] cursor;
    private final long[] freeBlocks;
    private final BitSet[] dirtyChunks;
    /** Volumes being emptied for removal: nothing is allocated there and their free space is not offered. */
    private final boolean[] retired;
    private int currentVolume;

    /** Blocks per persisted chunk of the bitmap. */
    public static final int CHUNK_BLOCKS = 4096;
    public static final int CHUNK_BYTES = CHUNK_BLOCKS / 8;

    /** A chunk of one volume's bitmap that changed since the last {@link #takeDirtyChunks}. */
    public record Chunk(int volume, long index) {}

    /** @param dataStart and dataEnd per volume: the allocatable block range [start, end). */
    public SpaceMap(long[] dataStart, long[] dataEnd) {
        int n = dataStart.length;
        this.used = new BitSet[n];
        this.dataStart = dataStart.clone();
        this.dataEnd = dataEnd.clone();
        this.cursor = dataStart.clone();
        this.freeBlocks = new long[n];
        this.dirtyChunks = new BitSet[n];
        this.retired = new boolean[n];
        for (int v = 0; v < n; v++) {
            long blocks = dataEnd[v] - dataStart[v];
            Invariant.check(blocks > 0 && blocks < Integer.MAX_VALUE, "volume data area of %d blocks", blocks);
            used[v] = new BitSet((int) blocks);
            dirtyChunks[v] = new BitSet();
            freeBlocks[v] = blocks;
        }
    }

    /** Free blocks that allocations can have (retired volumes' are not counted). */
    public synchronized long freeBlocks() {
        long total = 0;
        for (int v = 0; v < freeBlocks.length; v++) {
            total += retired[v] ? 0 : freeBlocks[v];
        }
        return total;
    }

    /** Stops allocating on {@code volume} (it is being emptied to be removed from the pool). */
    public synchronized void retire(int volume) {
        retired[volume] = true;
    }

    /** Blocks in use on one volume. */
    public synchronized long usedBlocks(int volume) {
        return capacityBlocks(volume) - freeBlocks[volume];
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
     * fragmented), keeping {@code reserveBlocks} free for the engine's own checkpoints. Successive
     * runs go to successive volumes (those with free space, not retired).
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
            if (freeBlocks[v] == 0 || retired[v]) {
                continue;
            }
            Run run = allocateOn(v, maxBlocks);
            // Round robin: the next run goes to the next volume, so data spreads over all of them
            // (in runs of up to 1 MiB, as the engine allocates) and they fill evenly.
            currentVolume = (v + 1) % used.length;
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
            if (v != excludedVolume && !retired[v] && freeBlocks[v] > 0
                    && (best < 0 || freeBlocks[v] > freeBlocks[best])) {
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
        touch(v, start, length);
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
        touch(run.volume(), from, run.lengthBlocks());
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
        touch(run.volume(), from, run.lengthBlocks());
        freeBlocks[run.volume()] += run.lengthBlocks();
    }

    /** True when every block of the run is marked used. */
    public synchronized boolean isUsed(Run run) {
        checkInside(run);
        int from = (int) (run.startBlock() - dataStart[run.volume()]);
        int firstFree = used[run.volume()].nextClearBit(from);
        return firstFree >= from + run.lengthBlocks();
    }

    private void touch(int v, int from, int length) {
        dirtyChunks[v].set(from / CHUNK_BLOCKS, (from + length - 1) / CHUNK_BLOCKS + 1);
    }

    /** Chunks per volume (the last one may cover fewer blocks than {@value #CHUNK_BLOCKS}). */
    public long chunkCount(int volume) {
        return (dataEnd[volume] - dataStart[volume] + CHUNK_BLOCKS - 1) / CHUNK_BLOCKS;
    }

    /** Takes over {@code other}'s used blocks (a map rebuilt from the metadata); every chunk becomes changed. */
    public void replaceWith(SpaceMap other) {
        Invariant.check(other != this && other.used.length == used.length, "maps of different pools");
        synchronized (this) {
            synchronized (other) {
                for (int v = 0; v < used.length; v++) {
                    used[v].clear();
                    used[v].or(other.used[v]);
                    freeBlocks[v] = other.freeBlocks[v];
                }
            }
            markAllDirty();
        }
    }

    /** How many chunks changed since the last {@link #takeDirtyChunks}. */
    public synchronized long dirtyChunkCount() {
        long n = 0;
        for (BitSet d : dirtyChunks) {
            n += d.cardinality();
        }
        return n;
    }

    /** The chunks changed since the last call, which forgets them (see {@link #markDirty} to undo). */
    public synchronized List<Chunk> takeDirtyChunks() {
        List<Chunk> out = new ArrayList<>();
        for (int v = 0; v < used.length; v++) {
            for (int c = dirtyChunks[v].nextSetBit(0); c >= 0; c = dirtyChunks[v].nextSetBit(c + 1)) {
                out.add(new Chunk(v, c));
            }
            dirtyChunks[v].clear();
        }
        return out;
    }

    /** Marks chunks changed again (a checkpoint that took them failed). */
    public synchronized void markDirty(List<Chunk> chunks) {
        for (Chunk c : chunks) {
            dirtyChunks[c.volume()].set((int) c.index());
        }
    }

    /** Every chunk of every volume marked changed (a new pool, or a map rebuilt by fsck). */
    public synchronized void markAllDirty() {
        for (int v = 0; v < used.length; v++) {
            dirtyChunks[v].set(0, (int) chunkCount(v));
        }
    }

    /**
     * One chunk of the bitmap as stored ({@value #CHUNK_BYTES} bytes; bit i of byte j is block
     * 8j + i of the chunk), with the blocks of {@code treatAsFree} (runs allocated but not yet
     * committed) shown free.
     */
    public synchronized byte[] exportChunk(Chunk chunk, List<Run> treatAsFree) {
        int v = chunk.volume();
        int from = (int) (chunk.index() * CHUNK_BLOCKS);
        BitSet bits = used[v].get(from, from + CHUNK_BLOCKS);
        for (Run r : treatAsFree) {
            if (r.volume() != v) {
                continue;
            }
            long s = Math.max(r.startBlock() - dataStart[v], from);
            long e = Math.min(r.endBlock() - dataStart[v], from + CHUNK_BLOCKS);
            if (s < e) {
                bits.clear((int) (s - from), (int) (e - from));
            }
        }
        return Arrays.copyOf(bits.toByteArray(), CHUNK_BYTES);
    }

    /** Loads one stored chunk at open (the map must be fresh there); bits past the data area are damage. */
    public synchronized void loadChunk(int volume, long chunk, byte[] stored) {
        if (volume < 0 || volume >= used.length || chunk < 0 || chunk >= chunkCount(volume)
                || stored.length != CHUNK_BYTES) {
            throw new D4Exception.Corruption("a free-space record names volume " + volume + ", chunk " + chunk
                    + ", which the pool does not have: the metadata is damaged; run d4 fsck");
        }
        BitSet bits = BitSet.valueOf(stored);
        int from = (int) (chunk * CHUNK_BLOCKS);
        int size = (int) (dataEnd[volume] - dataStart[volume]);
        if (bits.length() > size - from) {
            throw new D4Exception.Corruption("a free-space record of volume " + volume + " marks blocks past the end of"
                    + " its data area used: the metadata is damaged; run d4 fsck");
        }
        BitSet target = used[volume];
        if (target.nextSetBit(from) >= 0 && target.nextSetBit(from) < from + CHUNK_BLOCKS) {
            throw new D4Exception.Corruption("the free-space record of chunk " + chunk + " of volume " + volume
                    + " appears twice: the metadata is damaged; run d4 fsck");
        }
        for (int b = bits.nextSetBit(0); b >= 0; b = bits.nextSetBit(b + 1)) {
            target.set(from + b);
        }
        freeBlocks[volume] -= bits.cardinality();
    }

    /** The maximal runs of blocks used in this map and free in {@code other} (a map of the same volumes). */
    public List<Run> usedNotIn(SpaceMap other) {
        Invariant.check(other != this && other.used.length == used.length, "maps of different pools");
        List<Run> out = new ArrayList<>();
        synchronized (this) {
            synchronized (other) {
                for (int v = 0; v < used.length; v++) {
                    BitSet diff = (BitSet) used[v].clone();
                    diff.andNot(other.used[v]);
                    for (int s = diff.nextSetBit(0); s >= 0; ) {
                        int e = diff.nextClearBit(s);
                        out.add(new Run(v, dataStart[v] + s, e - s));
                        s = diff.nextSetBit(e);
                    }
                }
            }
        }
        return out;
    }

    /** Every maximal run of used blocks, in order (fsck compares them with what the metadata references). */
    public synchronized List<Run> usedRuns() {
        List<Run> out = new ArrayList<>();
        for (int v = 0; v < used.length; v++) {
            BitSet bits = used[v];
            for (int s = bits.nextSetBit(0); s >= 0; ) {
                int e = bits.nextClearBit(s);
                while (s < e) {
                    int len = Math.min(e - s, Integer.MAX_VALUE);
                    out.add(new Run(v, dataStart[v] + s, len));
                    s += len;
                }
                s = bits.nextSetBit(e);
            }
        }
        return out;
    }

    private void checkInside(Run run) {
        int v = run.volume();
        if (v >= used.length || run.startBlock() < dataStart[v] || run.endBlock() > dataEnd[v]) {
            throw new D4Exception.Corruption("blocks " + run + " lie outside the data area of their volume: the metadata is damaged;"
                    + " run d4 fsck");
        }
    }
}
