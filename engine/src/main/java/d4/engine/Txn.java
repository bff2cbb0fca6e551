package d4.engine;

import d4.engine.alloc.Run;
import d4.engine.meta.Extent;
import d4.engine.meta.Op;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * A transaction: changes that become visible together at {@link #commit()} and are journaled as
 * one record, so a crash applies all of them or none. It holds the pool's write lock from
 * {@link Pool#begin()} until commit or close; closing without commit discards every change and
 * frees the blocks its writes allocated.
 *
 * <p>Reads made while the transaction is open (through the {@link Pool}) see the state before it.
 * Data changes ({@link #write}, {@link #truncate}) are computed against that state too, so a
 * transaction may change the data of an object at most once.
 */
public final class Txn implements AutoCloseable {
    private final Pool pool;
    private final List<Op> ops = new ArrayList<>();
    private final List<Run> allocated = new ArrayList<>();
    private final Set<Long> created = new HashSet<>();
    private final Set<Long> dataChanged = new HashSet<>();
    private final Set<Long> deleted = new HashSet<>();
    /** Entries this transaction put (true) or removed (false), over the committed state. */
    private final java.util.Map<EntryRef, Boolean> entryChanges = new java.util.HashMap<>();

    private record EntryRef(long owner, d4.engine.meta.EntryKey key) {}
    private boolean done;

    Txn(Pool pool) {
        this.pool = pool;
    }

    /** Creates an object with the given attributes; it exists once the transaction commits. */
    public ObjectId create(byte[] attrs) {
        open();
        checkAttrs(attrs);
        long id = pool.index().reserveObjectId();
        ops.add(new Op.CreateObject(id, attrs.clone()));
        created.add(id);
        return new ObjectId(id);
    }

    public void setAttrs(ObjectId id, byte[] attrs) {
        open();
        checkAttrs(attrs);
        mustExist(id);
        ops.add(new Op.SetAttrs(id.value(), attrs.clone()));
    }

    public void putEntry(ObjectId owner, byte[] key, byte[] value) {
        open();
        if (key.length == 0 || key.length > Limits.MAX_KEY_BYTES || value.length > Limits.MAX_VALUE_BYTES) {
            throw new D4Exception.InvalidArgument("entry key of " + key.length + " bytes or value of " + value.length
                    + " bytes is out of bounds");
        }
        mustExist(owner);
        entryChanges.put(new EntryRef(owner.value(), new d4.engine.meta.EntryKey(key.clone())), true);
        ops.add(new Op.PutEntry(owner.value(), key.clone(), value.clone()));
    }

    /** Removes an entry, which must exist (check with {@link Pool#entry} first). */
    public void removeEntry(ObjectId owner, byte[] key) {
        open();
        mustExist(owner);
        EntryRef ref = new EntryRef(owner.value(), new d4.engine.meta.EntryKey(key.clone()));
        Boolean changed = entryChanges.get(ref);
        boolean present = changed != null ? changed
                : !created.contains(owner.value()) && pool.index().entry(owner.value(), key) != null;
        if (!present) {
            throw new D4Exception.InvalidArgument("object " + owner.value() + " has no such entry to remove");
        }
        entryChanges.put(ref, false);
        ops.add(new Op.RemoveEntry(owner.value(), key.clone()));
    }

    /** Deletes an object with its data and entries. */
    public void delete(ObjectId id) {
        open();
        Invariant.check(id.value() != 0, "delete of the pool object");
        mustExist(id);
        deleted.add(id.value());
        ops.add(new Op.DeleteObject(id.value()));
    }

    /**
     * Writes {@code src} at {@code offset}: the data goes to newly allocated blocks now (partial
     * blocks at either end are merged with the old content), and the object maps them at commit.
     *
     * @throws D4Exception.NoSpace when the pool has no room; nothing of this write is kept
     */
    public void write(ObjectId id, long offset, MemorySegment src) {
        open();
        long length = src.byteSize();
        if (offset < 0 || offset > Limits.MAX_OBJECT_BYTES - length) {
            throw new D4Exception.InvalidArgument("write of " + length + " bytes at " + offset + " is beyond the largest object");
        }
        beginDataChange(id);
        if (length == 0) {
            return;
        }
        long oldSize = pool.index().sizeBytes(id.value());
        long end = offset + length;
        long firstBlock = offset / Limits.BLOCK_BYTES;
        long endBlock = (end + Limits.BLOCK_BYTES - 1) / Limits.BLOCK_BYTES;
        int chunkBlocks = Math.min(Limits.IO_CHUNK_BYTES / Limits.BLOCK_BYTES, Limits.MAX_EXTENT_BLOCKS);
        MemorySegment buf = pool.buffers().take();
        try {
            long block = firstBlock;
            while (block < endBlock) {
                Pool.Placement run = place((int) Math.min(endBlock - block, chunkBlocks));
                long runEnd = block + run.lengthBlocks();
                long runStartByte = block * Limits.BLOCK_BYTES;
                MemorySegment data = buf.asSlice(0, (long) run.lengthBlocks() * Limits.BLOCK_BYTES);
                // Old content is needed only for the partial blocks at either end of the write.
                boolean partialHead = offset > runStartByte;
                boolean partialTail = end < runEnd * Limits.BLOCK_BYTES;
                if (partialHead) {
                    fillOld(id, block, oldSize, data.asSlice(0, Limits.BLOCK_BYTES));
                }
                if (partialTail && !(partialHead && run.lengthBlocks() == 1)) {
                    fillOld(id, runEnd - 1, oldSize,
                            data.asSlice((long) (run.lengthBlocks() - 1) * Limits.BLOCK_BYTES, Limits.BLOCK_BYTES));
                }
                long copyFrom = Math.max(offset, runStartByte);
                long copyTo = Math.min(end, runEnd * Limits.BLOCK_BYTES);
                MemorySegment.copy(src, copyFrom - offset, data, copyFrom - runStartByte, copyTo - copyFrom);
                int[] crcs = checksums(data, run.lengthBlocks());
                pool.writePlacement(run, data);
                ops.add(new Op.PutExtent(id.value(), run.extent(block, crcs)));
                block = runEnd;
            }
        } finally {
            pool.buffers().give(buf);
        }
        if (end > oldSize) {
            ops.add(new Op.SetSize(id.value(), end));
        }
    }

    /**
     * Maps the blocks of a write staged by {@link Pool#stage} (its data is already on them). When the
     * partial blocks at its ends have changed since it was staged, its blocks are discarded and the
     * write is made again here, under the lock, from its source. Counts as this transaction's data
     * change of the object, as {@link #write(ObjectId, long, MemorySegment)} does.
     */
    public void write(StagedWrite staged) {
        open();
        ObjectId id = staged.id();
        long length = staged.source().byteSize();
        if (length == 0 || !pool.stagedStillValid(staged)) {
            pool.discardStaged(staged);
            write(id, staged.offset(), staged.source());
            return;
        }
        beginDataChange(id);
        long oldSize = pool.index().sizeBytes(id.value());
        allocated.addAll(pool.adoptStaged(staged));
        for (StagedWrite.Piece p : staged.pieces) {
            ops.add(new Op.PutExtent(id.value(), p.placement().extent(p.logicalBlock(), p.crcs())));
        }
        long end = staged.offset() + length;
        if (end > oldSize) {
            ops.add(new Op.SetSize(id.value(), end));
        }
    }

    /**
     * Moves the mapped blocks of logical range [fromBlock, toBlock) of an object to newly allocated
     * blocks (every copy), with the same bytes and checksums: how data leaves a volume being removed.
     * The range must be fully mapped (holes are not filled). Size and times do not change.
     */
    public void relocate(ObjectId id, long fromBlock, long toBlock) {
        open();
        beginDataChange(id);
        int chunkBlocks = Math.min(Limits.IO_CHUNK_BYTES / Limits.BLOCK_BYTES, Limits.MAX_EXTENT_BLOCKS);
        MemorySegment buf = pool.buffers().take();
        try {
            long block = fromBlock;
            while (block < toBlock) {
                Pool.Placement run = place((int) Math.min(toBlock - block, chunkBlocks));
                long runStart = block;
                long runEnd = block + run.lengthBlocks();
                Invariant.check(pool.index().extents(id.value(), runStart, runEnd).stream().mapToLong(
                        e -> Math.min(runEnd, e.endLogicalBlock()) - Math.max(runStart, e.logicalBlock())).sum()
                        == runEnd - runStart, "relocation of unmapped blocks of object %d", id.value());
                MemorySegment data = buf.asSlice(0, (long) run.lengthBlocks() * Limits.BLOCK_BYTES);
                pool.readBlocksLocked(id, block, runEnd, data); // verified against the checksums
                pool.writePlacement(run, data);
                ops.add(new Op.PutExtent(id.value(), run.extent(block, checksums(data, run.lengthBlocks()))));
                block = runEnd;
            }
        } finally {
            pool.buffers().give(buf);
        }
    }

    /** Reads the old content of one block (zeros where the object has none) into {@code dst}. */
    private void fillOld(ObjectId id, long block, long oldSize, MemorySegment dst) {
        if (block * Limits.BLOCK_BYTES >= oldSize) {
            dst.fill((byte) 0);
        } else {
            pool.readBlocksLocked(id, block, block + 1, dst);
        }
    }

    static int[] checksums(MemorySegment data, int blocks) {
        int[] crcs = new int[blocks];
        checksumsInto(data, crcs);
        return crcs;
    }

    /** The CRC32C of each of the first {@code crcs.length} blocks of {@code data}, into {@code crcs}. */
    static void checksumsInto(MemorySegment data, int[] crcs) {
        CRC32C crc = new CRC32C();
        for (int i = 0; i < crcs.length; i++) {
            crc.reset();
            crc.update(data.asSlice((long) i * Limits.BLOCK_BYTES, Limits.BLOCK_BYTES).asByteBuffer());
            crcs[i] = (int) crc.getValue();
        }
    }

    /**
     * Sets the object's size. Growing leaves a hole that reads as zeros; shrinking releases the blocks
     * past the end and zeroes the tail of the last block (so growing again later shows zeros there).
     */
    public void truncate(ObjectId id, long sizeBytes) {
        open();
        if (sizeBytes < 0 || sizeBytes > Limits.MAX_OBJECT_BYTES) {
            throw new D4Exception.InvalidArgument("size " + sizeBytes + " is out of range");
        }
        beginDataChange(id);
        long oldSize = pool.index().sizeBytes(id.value());
        if (sizeBytes < oldSize && sizeBytes % Limits.BLOCK_BYTES != 0) {
            long block = sizeBytes / Limits.BLOCK_BYTES;
            if (!pool.index().extents(id.value(), block, block + 1).isEmpty()) {
                MemorySegment buf = pool.buffers().take();
                try {
                    MemorySegment one = buf.asSlice(0, Limits.BLOCK_BYTES);
                    pool.readBlocksLocked(id, block, block + 1, one);
                    one.asSlice(sizeBytes % Limits.BLOCK_BYTES).fill((byte) 0);
                    Pool.Placement run = place(1);
                    pool.writePlacement(run, one);
                    ops.add(new Op.PutExtent(id.value(), run.extent(block, checksums(one, 1))));
                } finally {
                    pool.buffers().give(buf);
                }
            }
        }
        // Always, also for the same size: a size that does not grow releases blocks past it.
        ops.add(new Op.SetSize(id.value(), sizeBytes));
    }

    /**
     * Gives the holes in [offset, offset + length) real zero-filled blocks (fallocate mode 0): later
     * reads see zeros as before, and the space is taken now. Blocks already mapped keep their data.
     * With {@code keepSize} false, the size grows to the end of the range if that is beyond it.
     *
     * @throws D4Exception.NoSpace when the pool has no room; nothing of this call is kept
     */
    public void allocate(ObjectId id, long offset, long length, boolean keepSize) {
        open();
        checkRange(offset, length);
        beginDataChange(id);
        long end = offset + length;
        long block = offset / Limits.BLOCK_BYTES;
        long endBlock = (end + Limits.BLOCK_BYTES - 1) / Limits.BLOCK_BYTES;
        MemorySegment buf = pool.buffers().take();
        try {
            buf.fill((byte) 0);
            int zeroCrc = checksums(buf, 1)[0];
            while (block < endBlock) {
                List<Extent> mapped = pool.index().extents(id.value(), block, endBlock);
                long holeEnd = mapped.isEmpty() ? endBlock : mapped.getFirst().logicalBlock();
                if (holeEnd <= block) {
                    block = mapped.getFirst().endLogicalBlock();
                    continue;
                }
                writeZeroBlocks(id, block, holeEnd, buf, zeroCrc);
                block = holeEnd;
            }
        } finally {
            pool.buffers().give(buf);
        }
        if (!keepSize && end > pool.index().sizeBytes(id.value())) {
            ops.add(new Op.SetSize(id.value(), end));
        }
    }

    /** Maps logical blocks [from, to) to newly written zero blocks ({@code zeros} holds zeros). */
    private void writeZeroBlocks(ObjectId id, long from, long to, MemorySegment zeros, int zeroCrc) {
        int chunkBlocks = Math.min((int) (zeros.byteSize() / Limits.BLOCK_BYTES), Limits.MAX_EXTENT_BLOCKS);
        long block = from;
        while (block < to) {
            Pool.Placement run = place((int) Math.min(to - block, chunkBlocks));
            pool.writePlacement(run, zeros);
            int[] crcs = new int[run.lengthBlocks()];
            java.util.Arrays.fill(crcs, zeroCrc);
            ops.add(new Op.PutExtent(id.value(), run.extent(block, crcs)));
            block += run.lengthBlocks();
        }
    }

    /**
     * Makes [offset, offset + length) read as zeros with real blocks behind it (fallocate
     * ZERO_RANGE): whole blocks are replaced by zeroed ones, partial blocks at the edges rewritten
     * with the range zeroed. With {@code keepSize} false the size grows to cover the range.
     */
    public void zeroRange(ObjectId id, long offset, long length, boolean keepSize) {
        open();
        checkRange(offset, length);
        beginDataChange(id);
        long end = offset + length;
        long size = pool.index().sizeBytes(id.value());
        long first = offset / Limits.BLOCK_BYTES;
        long last = (end - 1) / Limits.BLOCK_BYTES; // inclusive
        long wholeFrom = first;
        long wholeTo = last + 1;
        if (offset % Limits.BLOCK_BYTES != 0 && mapped(id, first)) {
            zeroInBlock(id, first, offset, Math.min(end, (first + 1) * Limits.BLOCK_BYTES), size);
            wholeFrom = first + 1;
        }
        if (end % Limits.BLOCK_BYTES != 0 && last >= wholeFrom && mapped(id, last)) {
            zeroInBlock(id, last, Math.max(offset, last * Limits.BLOCK_BYTES), end, size);
            wholeTo = last;
        }
        if (wholeFrom < wholeTo) {
            MemorySegment buf = pool.buffers().take();
            try {
                buf.fill((byte) 0);
                writeZeroBlocks(id, wholeFrom, wholeTo, buf, checksums(buf, 1)[0]);
            } finally {
                pool.buffers().give(buf);
            }
        }
        if (!keepSize && end > size) {
            ops.add(new Op.SetSize(id.value(), end));
        }
    }

    private boolean mapped(ObjectId id, long block) {
        return !pool.index().extents(id.value(), block, block + 1).isEmpty();
    }

    /**
     * Makes [offset, offset + length) read as zeros and releases the whole blocks inside it
     * (fallocate PUNCH_HOLE | KEEP_SIZE); partial blocks at the edges are rewritten with zeros in
     * the range. The size does not change.
     */
    public void punchHole(ObjectId id, long offset, long length) {
        open();
        checkRange(offset, length);
        beginDataChange(id);
        long size = pool.index().sizeBytes(id.value());
        long end = offset + length;
        // As ext4 (Linux 6.18, measured): a punch that starts at or past the end of file releases
        // nothing (blocks fallocate KEEP_SIZE placed there stay), and one that reaches past it stops
        // at the block boundary after the end of file: the block holding the end goes whole.
        if (offset >= size) {
            return;
        }
        if (end > size) {
            end = (size + Limits.BLOCK_BYTES - 1) / Limits.BLOCK_BYTES * Limits.BLOCK_BYTES;
        }
        long firstWhole = (offset + Limits.BLOCK_BYTES - 1) / Limits.BLOCK_BYTES;
        long endWhole = end / Limits.BLOCK_BYTES;
        long headBlock = offset / Limits.BLOCK_BYTES;
        long tailBlock = end / Limits.BLOCK_BYTES;
        if (offset % Limits.BLOCK_BYTES != 0) {
            long zeroTo = Math.min(end, (headBlock + 1) * Limits.BLOCK_BYTES);
            zeroInBlock(id, headBlock, offset, zeroTo, size);
        }
        if (end % Limits.BLOCK_BYTES != 0 && (tailBlock != headBlock || offset % Limits.BLOCK_BYTES == 0)) {
            zeroInBlock(id, tailBlock, Math.max(offset, tailBlock * Limits.BLOCK_BYTES), end, size);
        }
        if (firstWhole < endWhole) {
            ops.add(new Op.UnmapRange(id.value(), firstWhole, endWhole));
        }
    }

    /** Rewrites one mapped block inside the object's size with bytes [from, to) zeroed. */
    private void zeroInBlock(ObjectId id, long block, long from, long to, long size) {
        if (block * Limits.BLOCK_BYTES >= size || pool.index().extents(id.value(), block, block + 1).isEmpty()) {
            return; // a hole, or past the end: reads there are zeros already
        }
        MemorySegment buf = pool.buffers().take();
        try {
            MemorySegment one = buf.asSlice(0, Limits.BLOCK_BYTES);
            pool.readBlocksLocked(id, block, block + 1, one);
            long base = block * Limits.BLOCK_BYTES;
            one.asSlice(from - base, to - from).fill((byte) 0);
            Pool.Placement run = place(1);
            pool.writePlacement(run, one);
            ops.add(new Op.PutExtent(id.value(), run.extent(block, checksums(one, 1))));
        } finally {
            pool.buffers().give(buf);
        }
    }

    /** The blocks this transaction allocated so far (nothing durable references them yet). */
    List<Run> allocatedRuns() {
        return List.copyOf(allocated);
    }

    /** Allocates new blocks (every copy), owned by this transaction until it commits. */
    private Pool.Placement place(int maxBlocks) {
        Pool.Placement p = pool.allocatePlacement(maxBlocks);
        allocated.add(p.primary());
        if (p.mirror() != null) {
            allocated.add(p.mirror());
        }
        return p;
    }

    private static void checkRange(long offset, long length) {
        if (offset < 0 || length <= 0 || offset > Limits.MAX_OBJECT_BYTES - length) {
            throw new D4Exception.InvalidArgument("range of " + length + " bytes at " + offset + " is out of bounds");
        }
    }

    /** Makes the changes visible and journals them (durable at the next {@link Pool#sync()}). */
    public void commit() {
        open();
        try {
            if (!ops.isEmpty()) {
                pool.commit(List.copyOf(ops), allocated);
            }
            allocated.clear(); // now referenced by the committed extents
            if (!ops.isEmpty()) {
                pool.checkpointIfDue();
            }
        } finally {
            finish();
        }
    }

    /** Discards the transaction unless it committed. */
    @Override
    public void close() {
        if (!done) {
            finish();
        }
    }

    private void finish() {
        done = true;
        try {
            for (Run r : allocated) {
                pool.space().free(r); // never referenced by anything durable: free at once
            }
            allocated.clear();
        } finally {
            pool.unlockWrite();
        }
    }

    private void open() {
        Invariant.check(!done, "use of a finished transaction");
    }

    private void mustExist(ObjectId id) {
        if (deleted.contains(id.value()) || !created.contains(id.value()) && !pool.index().exists(id.value())) {
            throw new D4Exception.ObjectNotFound(id);
        }
    }

    private void beginDataChange(ObjectId id) {
        if (deleted.contains(id.value()) || !pool.index().exists(id.value())) {
            throw new D4Exception.ObjectNotFound(id);
        }
        Invariant.check(dataChanged.add(id.value()), "second data change of object %d in one transaction", id.value());
    }

    private static void checkAttrs(byte[] attrs) {
        if (attrs.length > Limits.MAX_ATTRS_BYTES) {
            throw new D4Exception.InvalidArgument("attributes of " + attrs.length + " bytes exceed "
                    + Limits.MAX_ATTRS_BYTES);
        }
    }
}
