package d4.engine;

import d4.engine.alloc.Run;
import d4.engine.meta.Extent;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A write whose data is already on newly allocated blocks but not yet part of the object: made by
 * {@link Pool#stage} without the pool's write lock, so that the device writes of many writers
 * overlap, and then taken into a transaction by {@link Txn#write(StagedWrite)}, which only maps the
 * blocks. Until then its blocks belong to the pool's set of staged runs: checkpoints store them as
 * free (nothing durable references them), checks count them as in use, and a crash leaves them free.
 *
 * <p>Partial blocks at either end were merged with the object's content as it was when staged. The
 * transaction checks that the mapping of those blocks has not changed since (another write, a
 * truncate or a hole punched meanwhile); if it has, it discards the staged blocks and writes
 * {@link #source()} again under its lock, so a race costs time, never data.
 *
 * <p>Closing discards the blocks unless a transaction took them. Not thread-safe: one caller stages,
 * commits and closes it.
 */
public final class StagedWrite implements AutoCloseable {
    /** What a partial block's old content was read from: its extent's block, or none (zeros). */
    record OldBlock(long logicalBlock, boolean pastEnd, int volume, long physicalBlock, int crc) {
        static OldBlock of(long block, long sizeBytes, List<Extent> mapped) {
            boolean pastEnd = block * Limits.BLOCK_BYTES >= sizeBytes;
            if (pastEnd || mapped.isEmpty()) {
                return new OldBlock(block, pastEnd, -1, -1, 0);
            }
            Extent e = mapped.getFirst();
            return new OldBlock(block, false, e.volume(), e.physicalBlock() + (block - e.logicalBlock()), e.crcOf(block));
        }
    }

    /** One run of the staged data: where it went, which logical blocks it holds, their checksums. */
    record Piece(long logicalBlock, Pool.Placement placement, int[] crcs) {}

    private final Pool pool;
    private final ObjectId id;
    private final long offset;
    private final MemorySegment source;
    final List<Piece> pieces = new ArrayList<>();
    final List<OldBlock> oldBlocks = new ArrayList<>(2);
    /** Set once a transaction owns the blocks, or they were discarded. */
    private boolean handedOver;

    StagedWrite(Pool pool, ObjectId id, long offset, MemorySegment source) {
        this.pool = pool;
        this.id = id;
        this.offset = offset;
        this.source = source;
    }

    public ObjectId id() {
        return id;
    }

    public long offset() {
        return offset;
    }

    /** The bytes written (the caller's buffer: it must stay valid until the transaction commits). */
    public MemorySegment source() {
        return source;
    }

    /** Every block of every copy, for the pool's staged set. */
    List<Run> runs() {
        List<Run> runs = new ArrayList<>();
        for (Piece p : pieces) {
            runs.add(p.placement().primary());
            if (p.placement().mirror() != null) {
                runs.add(p.placement().mirror());
            }
        }
        return runs;
    }

    /** A transaction took the blocks (or they were discarded): closing must not free them. */
    List<Run> handOver() {
        Invariant.check(!handedOver, "staged write of object %d handed over twice", id.value());
        handedOver = true;
        return runs();
    }

    boolean handedOver() {
        return handedOver;
    }

    /** Frees the blocks unless a transaction took them. */
    @Override
    public void close() {
        if (!handedOver) {
            pool.discardStaged(this);
        }
    }
}
