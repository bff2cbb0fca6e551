package d4.engine;

import d4.engine.alloc.Run;
import d4.engine.io.IoBatch;
import d4.engine.meta.tree.PageStore;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * The metadata tree's pages on the pool's volumes. A page address packs a volume index and a block:
 * {@code volume << 40 | block} (block 0 of volume 0 is the superblock, so no page has address 0).
 *
 * <p>Reads go through a few aligned one-page buffers of their own (O_DIRECT drives need aligned
 * memory; the pool's data buffers may all be held by readers that are waiting for a page). A
 * checkpoint's writes are sorted and neighbouring pages coalesced into writes of up to
 * {@link Limits#IO_CHUNK_BYTES}, through one of the pool's data buffers (taking one never waits), and
 * the runs that fill a buffer go to their volume as one batch.
 */
final class VolumePages implements PageStore {
    private static final int VOLUME_SHIFT = 40;
    private static final long BLOCK_MASK = (1L << VOLUME_SHIFT) - 1;
    private static final int READ_BUFFERS = 32;

    private final List<Volume> volumes;
    private final IoBuffers writeBuffers;
    private final Arena arena = Arena.ofShared();
    private final ArrayBlockingQueue<MemorySegment> readBuffers = new ArrayBlockingQueue<>(READ_BUFFERS);

    VolumePages(List<Volume> volumes, IoBuffers writeBuffers) {
        this.volumes = volumes;
        this.writeBuffers = writeBuffers;
        for (int i = 0; i < READ_BUFFERS; i++) {
            readBuffers.add(arena.allocate(Limits.BLOCK_BYTES, Limits.BLOCK_BYTES));
        }
    }

    static long address(int volume, long block) {
        return (long) volume << VOLUME_SHIFT | block;
    }

    static long address(Run oneBlock) {
        return address(oneBlock.volume(), oneBlock.startBlock());
    }

    static Run run(long address) {
        return new Run((int) (address >>> VOLUME_SHIFT), address & BLOCK_MASK, 1);
    }

    private Volume volume(long address) {
        long v = address >>> VOLUME_SHIFT;
        if (address <= 0 || v >= volumes.size()) {
            throw new D4Exception.Corruption(describe(address) + " names a volume the pool does not have: the metadata is"
                    + " damaged; run d4 fsck");
        }
        return volumes.get((int) v);
    }

    @Override
    public void read(long address, MemorySegment dst) {
        Volume v = volume(address);
        MemorySegment buf;
        try {
            buf = readBuffers.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new D4Exception.DriveFailure("interrupted while waiting for a metadata buffer", e);
        }
        try {
            v.drive().read((address & BLOCK_MASK) * Limits.BLOCK_BYTES, buf);
            MemorySegment.copy(buf, 0, dst, 0, Limits.BLOCK_BYTES);
        } finally {
            readBuffers.add(buf);
        }
    }

    @Override
    public void write(long address, MemorySegment src) {
        writeAll(new long[] {address}, List.of(src.toArray(ValueLayout.JAVA_BYTE)));
    }

    @Override
    public void writeAll(long[] addresses, List<byte[]> images) {
        Integer[] order = new Integer[addresses.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Long.compare(addresses[a], addresses[b]));
        int maxPages = Limits.IO_CHUNK_BYTES / Limits.BLOCK_BYTES;
        MemorySegment buf = writeBuffers.take();
        // The runs of pages that fill one buffer go to their volume as one batch: a checkpoint's
        // pages are scattered over the volume, and the drive writes them all at once.
        IoBatch batch = writeBuffers.batchFor(buf); // null for a temporary buffer: run by run
        try {
            int i = 0;
            int used = 0; // pages of buf holding runs not written yet
            Volume batchVolume = null;
            while (i < order.length) {
                long first = addresses[order[i]];
                Volume v = volume(first);
                if (batch != null && batch.size() > 0 && (used == maxPages || v != batchVolume)) {
                    batchVolume.drive().submit(batch);
                    batch.clear();
                    used = 0;
                }
                batchVolume = v;
                int n = 0;
                while (i + n < order.length && used + n < maxPages && addresses[order[i + n]] == first + n) {
                    MemorySegment.copy(images.get(order[i + n]), 0, buf, ValueLayout.JAVA_BYTE,
                            (long) (used + n) * Limits.BLOCK_BYTES, Limits.BLOCK_BYTES);
                    n++;
                }
                MemorySegment run = buf.asSlice((long) used * Limits.BLOCK_BYTES, (long) n * Limits.BLOCK_BYTES);
                if (batch == null) {
                    v.drive().write((first & BLOCK_MASK) * Limits.BLOCK_BYTES, run);
                } else {
                    batch.write((first & BLOCK_MASK) * Limits.BLOCK_BYTES, run);
                    used += n;
                }
                i += n;
            }
            if (batch != null && batch.size() > 0) {
                batchVolume.drive().submit(batch);
            }
        } finally {
            if (batch != null) {
                batch.clear();
            }
            writeBuffers.give(buf);
        }
    }

    @Override
    public String describe(long address) {
        long v = address >>> VOLUME_SHIFT;
        String where = v < volumes.size() ? volumes.get((int) v).path().toString() : "volume " + v;
        return "metadata page at block " + (address & BLOCK_MASK) + " of " + where;
    }

    void close() {
        arena.close();
    }
}
