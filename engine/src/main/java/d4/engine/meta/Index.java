package d4.engine.meta;

import d4.engine.D4Exception;
import d4.engine.Decoder;
import d4.engine.Encoder;
import d4.engine.Entry;
import d4.engine.Invariant;
import d4.engine.Limits;
import d4.engine.ObjectId;
import d4.engine.ObjectInfo;
import d4.engine.alloc.Run;
import d4.engine.meta.tree.Tree;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The metadata index: every object with its attributes, size, extents and entries, and the pool's
 * free-space bitmap, as records of the copy-on-write B+tree (key layout in docs/format.md, "Metadata
 * records"). Pages are read on demand; nothing here grows with the number of objects.
 *
 * <p>Keys start with the owner's 8-byte big-endian id and a record type, so one object's records are
 * adjacent: its object record, then its extents by logical block, then its entries by key. Not
 * thread-safe by itself: reads run under the pool's read lock, {@link #apply} under its write lock.
 */
public final class Index {
    /** Record types: the byte after the id. */
    static final byte HEADER = 0;
    static final byte OBJECT = 1;
    static final byte EXTENT = 2;
    static final byte ENTRY = 3;
    static final byte SPACE = 4;
    /** The pseudo-object that owns the free-space bitmap: no real id reaches it. */
    static final long SPACE_OWNER = -1L;
    /** Bytes of bitmap per space record: 4096 blocks (16 MiB of volume) per record, inline in a leaf. */
    static final int SPACE_CHUNK_BYTES = d4.engine.alloc.SpaceMap.CHUNK_BYTES;
    private static final int OBJECT_FIXED_BYTES = 24;
    private static final int SCAN_BATCH = 512;

    private final Tree tree;
    private long nextObjectId;
    private long objectCount;
    /** Volumes of the pool: an extent naming another is damage (Integer.MAX_VALUE until told). */
    private int volumeCount = Integer.MAX_VALUE;

    private Index(Tree tree, long nextObjectId, long objectCount) {
        this.tree = tree;
        this.nextObjectId = nextObjectId;
        this.objectCount = objectCount;
    }

    /** The index of a new pool, in a new tree: the header and the pool object 0. */
    public static Index create(Tree tree) {
        Index index = new Index(tree, 1, 1);
        index.tree.put(objectKey(0), encodeObject(1, 0, 0, new byte[0]));
        index.putHeader();
        return index;
    }

    /** The index held by an opened tree: reads its header. */
    public static Index open(Tree tree) {
        byte[] h = tree.get(key(0, HEADER)).orElseThrow(() -> new D4Exception.Corruption(
                "the metadata tree has no pool header record: the metadata is damaged; run d4 fsck"));
        Decoder d = new Decoder(h, "pool header record");
        long next = d.i64();
        long count = d.i64();
        if (next < 1 || count < 1 || d.remaining() != 0) {
            throw new D4Exception.Corruption("the pool header record is damaged (next id " + next + ", " + count
                    + " objects); run d4 fsck");
        }
        return new Index(tree, next, count);
    }

    public Tree tree() {
        return tree;
    }

    /** Tells the index how many volumes the pool has, so that an extent naming another reads as damage. */
    public void setVolumeCount(int volumes) {
        this.volumeCount = volumes;
    }

    public long nextObjectId() {
        return nextObjectId;
    }

    /** Hands out the next id; the CreateObject op that uses it makes the counter durable. */
    public long reserveObjectId() {
        return nextObjectId++;
    }

    public long objectCount() {
        return objectCount;
    }

    // ------------------------------------------------------------------------------------------
    // Keys (big-endian, so that byte order is numeric order)

    static byte[] key(long id, byte type) {
        byte[] k = new byte[9];
        putLong(k, 0, id);
        k[8] = type;
        return k;
    }

    static byte[] objectKey(long id) {
        return key(id, OBJECT);
    }

    static byte[] extentKey(long id, long logicalBlock) {
        byte[] k = new byte[17];
        putLong(k, 0, id);
        k[8] = EXTENT;
        putLong(k, 9, logicalBlock);
        return k;
    }

    static byte[] entryKey(long owner, byte[] key) {
        byte[] k = new byte[9 + key.length];
        putLong(k, 0, owner);
        k[8] = ENTRY;
        System.arraycopy(key, 0, k, 9, key.length);
        return k;
    }

    static byte[] spaceKey(int volume, long chunk) {
        byte[] k = new byte[21];
        putLong(k, 0, SPACE_OWNER);
        k[8] = SPACE;
        k[9] = (byte) (volume >>> 24);
        k[10] = (byte) (volume >>> 16);
        k[11] = (byte) (volume >>> 8);
        k[12] = (byte) volume;
        putLong(k, 13, chunk);
        return k;
    }

    private static void putLong(byte[] b, int at, long v) {
        for (int i = 7; i >= 0; i--) {
            b[at + i] = (byte) v;
            v >>>= 8;
        }
    }

    static long getLong(byte[] b, int at) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = v << 8 | (b[at + i] & 0xff);
        }
        return v;
    }

    private static boolean isRecord(byte[] k, long id, byte type) {
        return k.length >= 9 && k[8] == type && getLong(k, 0) == id;
    }

    // ------------------------------------------------------------------------------------------
    // Object records: generation, size, allocated blocks (i64 each, little-endian), then the attributes

    private record ObjectRecord(long generation, long sizeBytes, long allocatedBlocks, byte[] attrs) {}

    private static byte[] encodeObject(long generation, long size, long allocated, byte[] attrs) {
        return new Encoder(OBJECT_FIXED_BYTES + attrs.length).i64(generation).i64(size).i64(allocated).bytes(attrs)
                .toByteArray();
    }

    private static ObjectRecord decodeObject(long id, byte[] v) {
        if (v.length < OBJECT_FIXED_BYTES || v.length > OBJECT_FIXED_BYTES + Limits.MAX_ATTRS_BYTES) {
            throw new D4Exception.Corruption("the record of object " + id + " is " + v.length
                    + " bytes long: the metadata is damaged; run d4 fsck");
        }
        Decoder d = new Decoder(v, "record of object " + id);
        return new ObjectRecord(d.i64(), d.i64(), d.i64(), d.bytes(d.remaining()));
    }

    private ObjectRecord record(long id) {
        byte[] v = tree.get(objectKey(id)).orElseThrow(() -> new D4Exception.ObjectNotFound(new ObjectId(id)));
        return decodeObject(id, v);
    }

    private void putRecord(long id, ObjectRecord r) {
        tree.put(objectKey(id), encodeObject(r.generation(), r.sizeBytes(), r.allocatedBlocks(), r.attrs()));
    }

    private void putHeader() {
        tree.put(key(0, HEADER), new Encoder(16).i64(nextObjectId).i64(objectCount).toByteArray());
    }

    // ------------------------------------------------------------------------------------------
    // Reads

    public boolean exists(long id) {
        return id >= 0 && tree.get(objectKey(id)).isPresent();
    }

    public ObjectInfo info(long id) {
        ObjectRecord r = record(id);
        return new ObjectInfo(new ObjectId(id), r.generation(), r.sizeBytes(), r.allocatedBlocks() * Limits.BLOCK_BYTES,
                r.attrs());
    }

    /** Like {@link #info}, empty when there is no such object (one tree lookup). */
    public Optional<ObjectInfo> find(long id) {
        if (id < 0) {
            return Optional.empty();
        }
        return tree.get(objectKey(id)).map(v -> {
            ObjectRecord r = decodeObject(id, v);
            return new ObjectInfo(new ObjectId(id), r.generation(), r.sizeBytes(), r.allocatedBlocks() * Limits.BLOCK_BYTES,
                    r.attrs());
        });
    }

    public long sizeBytes(long id) {
        return record(id).sizeBytes();
    }

    /** The extents overlapping logical blocks [from, to), in order. */
    public List<Extent> extents(long id, long fromBlock, long toBlock) {
        List<Extent> out = new ArrayList<>();
        if (fromBlock >= toBlock) {
            return out;
        }
        Extent first = floorExtent(id, fromBlock);
        if (first != null && first.endLogicalBlock() > fromBlock) {
            out.add(first);
        }
        // The floor covers an extent starting exactly at fromBlock, so the scan starts after it.
        byte[] from = extentKey(id, fromBlock);
        byte[] to = extentKey(id, toBlock);
        while (true) {
            List<Entry> batch = tree.scan(from, false, to, SCAN_BATCH);
            for (Entry e : batch) {
                out.add(decodeExtent(id, e));
            }
            if (batch.size() < SCAN_BATCH) {
                return out;
            }
            from = batch.getLast().key();
        }
    }

    /** The extent with the greatest start at or before {@code block}, or null. */
    private Extent floorExtent(long id, long block) {
        Optional<Entry> floor = tree.floor(extentKey(id, block));
        if (floor.isEmpty() || !isRecord(floor.get().key(), id, EXTENT)) {
            return null;
        }
        return decodeExtent(id, floor.get());
    }

    private Extent decodeExtent(long id, Entry e) {
        byte[] k = e.key();
        if (k.length != 17) {
            throw new D4Exception.Corruption("an extent key of object " + id + " is " + k.length
                    + " bytes long: the metadata is damaged; run d4 fsck");
        }
        Decoder d = new Decoder(e.value(), "extent record of object " + id);
        Extent x = Op.decodeExtent(d);
        if (x.logicalBlock() != getLong(k, 9) || d.remaining() != 0) {
            throw new D4Exception.Corruption("the extent record of object " + id + " at block " + getLong(k, 9)
                    + " does not match its key: the metadata is damaged; run d4 fsck");
        }
        if (x.volume() >= volumeCount || x.mirrorVolume() >= volumeCount) {
            throw new D4Exception.Corruption("the extent record of object " + id + " at block " + x.logicalBlock()
                    + " names volume " + Math.max(x.volume(), x.mirrorVolume()) + " of a pool of " + volumeCount
                    + ": the metadata is damaged; run d4 fsck");
        }
        return x;
    }

    private static byte[] encodeExtent(Extent x) {
        Encoder e = new Encoder(36 + 4 * x.lengthBlocks());
        Op.encodeExtent(e, x);
        return e.toByteArray();
    }

    /** The first extent that covers {@code fromBlock} or starts after it, or null. */
    public Extent nextExtent(long id, long fromBlock) {
        Extent floor = floorExtent(id, fromBlock);
        if (floor != null && floor.endLogicalBlock() > fromBlock) {
            return floor;
        }
        List<Entry> after = tree.scan(extentKey(id, fromBlock), false, key(id, ENTRY), 1);
        return after.isEmpty() ? null : decodeExtent(id, after.getFirst());
    }

    public byte[] entry(long owner, byte[] key) {
        return tree.get(entryKey(owner, key)).orElse(null);
    }

    /** Entries of {@code owner} whose key starts with {@code prefix}, after {@code afterKey} (exclusive; null = from the start). */
    public List<Entry> entries(long owner, byte[] prefix, byte[] afterKey, int limit) {
        if (limit <= 0) {
            return List.of();
        }
        List<Entry> found = tree.scanPrefix(entryKey(owner, prefix), afterKey == null ? null : entryKey(owner, afterKey),
                limit);
        List<Entry> out = new ArrayList<>(found.size());
        for (Entry e : found) {
            out.add(new Entry(Arrays.copyOfRange(e.key(), 9, e.key().length), e.value()));
        }
        return out;
    }

    public boolean hasEntries(long owner, byte[] prefix) {
        return !tree.scanPrefix(entryKey(owner, prefix), null, 1).isEmpty();
    }

    /** Every object id, ascending (a walk of the whole tree: for fsck and tests). */
    public List<Long> objectIds() {
        List<Long> ids = new ArrayList<>();
        forEachRecord(e -> {
            if (e.key().length == 9 && e.key()[8] == OBJECT) {
                ids.add(getLong(e.key(), 0));
            }
        });
        return ids;
    }

    /** Calls {@code consumer} with every record of the tree in key order, reading it in batches. */
    private void forEachRecord(Consumer<Entry> consumer) {
        byte[] from = null;
        while (true) {
            List<Entry> batch = tree.scan(from, false, null, SCAN_BATCH);
            batch.forEach(consumer);
            if (batch.size() < SCAN_BATCH) {
                return;
            }
            from = batch.getLast().key();
        }
    }

    /**
     * Checks every record (fsck): record types and lengths, each object's extent map (logical ranges
     * that overlap, checksum lists whose length differs from the extent's, an allocated-block count
     * that differs from the extents'), sizes out of range, extents and entries without an object,
     * object ids at or beyond the next id to hand out, and the header's object count. One line per
     * problem. A record that cannot be decoded is reported and the walk goes on.
     */
    public List<String> check() {
        List<String> problems = new ArrayList<>();
        long[] objects = {0};
        // State of the object whose records are being walked (they are adjacent, object record first).
        long[] current = {Long.MIN_VALUE, 0, -1, 0}; // id, allocated blocks claimed, end of last extent, blocks seen
        boolean[] haveObject = {false};
        Runnable finishObject = () -> {
            if (haveObject[0] && current[1] != current[3]) {
                problems.add("object " + current[0] + " counts " + current[1] + " allocated blocks but its extents hold "
                        + current[3]);
            }
            haveObject[0] = false;
        };
        forEachRecord(e -> {
            byte[] k = e.key();
            if (k.length < 9) {
                problems.add("a metadata record has a " + k.length + "-byte key: damaged");
                return;
            }
            long id = getLong(k, 0);
            byte type = k[8];
            if (id != current[0]) {
                finishObject.run();
                current[0] = id;
                current[2] = -1;
                current[3] = 0;
            }
            try {
                switch (type) {
                    case HEADER -> {
                        if (id != 0 || k.length != 9) {
                            problems.add("a header record for object " + id + " (only object 0 has one)");
                        }
                    }
                    case OBJECT -> {
                        ObjectRecord r = decodeObject(id, e.value());
                        objects[0]++;
                        haveObject[0] = true;
                        current[1] = r.allocatedBlocks();
                        if (id < 0 || id >= nextObjectId) {
                            problems.add("object " + id + " is at or beyond the next object id " + nextObjectId);
                        }
                        if (r.sizeBytes() < 0 || r.sizeBytes() > Limits.MAX_OBJECT_BYTES) {
                            problems.add("object " + id + " has an impossible size " + r.sizeBytes());
                        }
                    }
                    case EXTENT -> {
                        if (!haveObject[0]) {
                            problems.add("an extent record of object " + id + ", which does not exist");
                            return;
                        }
                        Extent x = decodeExtent(id, e);
                        if (x.logicalBlock() < current[2]) {
                            problems.add("object " + id + ": extent at block " + x.logicalBlock()
                                    + " overlaps the one before it");
                        }
                        current[2] = x.endLogicalBlock();
                        current[3] += x.lengthBlocks();
                    }
                    case ENTRY -> {
                        if (!haveObject[0]) {
                            problems.add("an entry record of object " + id + ", which does not exist");
                        }
                    }
                    case SPACE -> {
                        if (id != SPACE_OWNER || k.length != 21 || e.value().length != SPACE_CHUNK_BYTES) {
                            problems.add("a free-space record has a bad key or length (" + k.length + ", "
                                    + e.value().length + ")");
                        }
                    }
                    default -> problems.add("a metadata record of unknown type " + type + " for object " + id);
                }
            } catch (D4Exception.Corruption c) {
                problems.add(c.getMessage());
            }
        });
        finishObject.run();
        if (objects[0] != objectCount) {
            problems.add("the pool header counts " + objectCount + " objects but the tree holds " + objects[0]);
        }
        return problems;
    }

    // ------------------------------------------------------------------------------------------
    // Changes

    /**
     * Applies one op. Runs whose blocks the op released go to {@code freed}. An op that does not fit
     * the state (an object that is missing, an id that exists) is a bug on the live path and damage on
     * replay; it throws IllegalStateException before changing anything.
     */
    public void apply(Op op, Consumer<Run> freed) {
        switch (op) {
            case Op.CreateObject c -> {
                Invariant.check(c.id() > 0 && !exists(c.id()), "create of existing object %d", c.id());
                tree.put(objectKey(c.id()), encodeObject(1, 0, 0, c.attrs()));
                nextObjectId = Math.max(nextObjectId, c.id() + 1);
                objectCount++;
                putHeader();
            }
            case Op.SetAttrs a -> {
                ObjectRecord r = existing(a.id());
                putRecord(a.id(), new ObjectRecord(r.generation(), r.sizeBytes(), r.allocatedBlocks(), a.attrs()));
            }
            case Op.SetSize z -> {
                ObjectRecord r = existing(z.id());
                Invariant.check(z.sizeBytes() >= 0 && z.sizeBytes() <= Limits.MAX_OBJECT_BYTES, "size %d", z.sizeBytes());
                long allocated = r.allocatedBlocks();
                // As ext4: a size that does not grow releases every block past it (also blocks that
                // fallocate KEEP_SIZE placed there); growing keeps them.
                if (z.sizeBytes() <= r.sizeBytes()) {
                    long keepBlocks = (z.sizeBytes() + Limits.BLOCK_BYTES - 1) / Limits.BLOCK_BYTES;
                    allocated -= removeRange(z.id(), keepBlocks, Long.MAX_VALUE, freed);
                }
                putRecord(z.id(), new ObjectRecord(r.generation(), z.sizeBytes(), allocated, r.attrs()));
            }
            case Op.PutExtent p -> {
                ObjectRecord r = existing(p.id());
                Extent e = p.extent();
                long allocated = r.allocatedBlocks() - removeRange(p.id(), e.logicalBlock(), e.endLogicalBlock(), freed);
                Extent left = e.logicalBlock() == 0 ? null : floorExtent(p.id(), e.logicalBlock() - 1);
                if (left != null && canMerge(left, e)) {
                    int[] crcs = Arrays.copyOf(left.crcs(), left.lengthBlocks() + e.lengthBlocks());
                    System.arraycopy(e.crcs(), 0, crcs, left.lengthBlocks(), e.lengthBlocks());
                    tree.put(extentKey(p.id(), left.logicalBlock()), encodeExtent(new Extent(left.logicalBlock(),
                            left.volume(), left.physicalBlock(), crcs.length, crcs, left.mirrorVolume(),
                            left.mirrorPhysicalBlock())));
                } else {
                    tree.put(extentKey(p.id(), e.logicalBlock()), encodeExtent(e));
                }
                putRecord(p.id(), new ObjectRecord(r.generation(), r.sizeBytes(), allocated + e.lengthBlocks(), r.attrs()));
            }
            case Op.DeleteObject d -> {
                Invariant.check(d.id() != 0, "delete of the pool object");
                existing(d.id());
                removeAll(key(d.id(), EXTENT), e -> decodeExtent(d.id(), e).runs().forEach(freed));
                removeAll(key(d.id(), ENTRY), e -> { });
                tree.remove(objectKey(d.id()));
                objectCount--;
                putHeader();
            }
            case Op.UnmapRange u -> {
                Invariant.check(u.fromBlock() >= 0 && u.fromBlock() < u.toBlock(), "unmap of blocks [%d, %d)",
                        u.fromBlock(), u.toBlock());
                ObjectRecord r = existing(u.id());
                long removed = removeRange(u.id(), u.fromBlock(), u.toBlock(), freed);
                if (removed > 0) {
                    putRecord(u.id(), new ObjectRecord(r.generation(), r.sizeBytes(), r.allocatedBlocks() - removed,
                            r.attrs()));
                }
            }
            case Op.PutEntry p -> {
                existing(p.owner());
                tree.put(entryKey(p.owner(), p.key()), p.value());
            }
            case Op.RemoveEntry r -> {
                existing(r.owner());
                byte[] k = entryKey(r.owner(), r.key());
                Invariant.check(tree.get(k).isPresent(), "remove of a missing entry of object %d", r.owner());
                tree.remove(k);
            }
        }
    }

    private static boolean canMerge(Extent l, Extent r) {
        return l.endLogicalBlock() == r.logicalBlock()
                && l.volume() == r.volume()
                && l.physicalBlock() + l.lengthBlocks() == r.physicalBlock()
                && l.mirrorVolume() == r.mirrorVolume()
                && (!l.mirrored() || l.mirrorPhysicalBlock() + l.lengthBlocks() == r.mirrorPhysicalBlock())
                && (long) l.lengthBlocks() + r.lengthBlocks() <= Limits.MAX_EXTENT_BLOCKS;
    }

    private ObjectRecord existing(long id) {
        Optional<byte[]> v = id < 0 ? Optional.empty() : tree.get(objectKey(id));
        Invariant.check(v.isPresent(), "op on missing object %d", id);
        return decodeObject(id, v.get());
    }

    /** Unmaps logical blocks [from, to), splitting extents that straddle the edges; returns the blocks unmapped. */
    private long removeRange(long id, long from, long to, Consumer<Run> freed) {
        long removed = 0;
        for (Extent e : extents(id, from, to)) {
            tree.remove(extentKey(id, e.logicalBlock()));
            if (e.logicalBlock() < from) {
                Extent left = e.slice(e.logicalBlock(), from);
                tree.put(extentKey(id, left.logicalBlock()), encodeExtent(left));
            }
            if (e.endLogicalBlock() > to) {
                Extent right = e.slice(to, e.endLogicalBlock());
                tree.put(extentKey(id, right.logicalBlock()), encodeExtent(right));
            }
            Extent gone = e.slice(from, to);
            removed += gone.lengthBlocks();
            gone.runs().forEach(freed);
        }
        return removed;
    }

    /** Removes every record whose key starts with {@code prefix}, showing each to {@code each} first. */
    private void removeAll(byte[] prefix, Consumer<Entry> each) {
        while (true) {
            List<Entry> batch = tree.scanPrefix(prefix, null, SCAN_BATCH);
            for (Entry e : batch) {
                each.accept(e);
                tree.remove(e.key());
            }
            if (batch.size() < SCAN_BATCH) {
                return;
            }
        }
    }

    /** Every run the index references, with its object (a walk of the whole tree: fsck and tests). */
    public void forEachRun(BiConsumer<Long, Run> consumer) {
        forEachRecord(e -> {
            if (e.key().length == 17 && e.key()[8] == EXTENT) {
                long id = getLong(e.key(), 0);
                for (Run r : decodeExtent(id, e).runs()) {
                    consumer.accept(id, r);
                }
            }
        });
    }

    // ------------------------------------------------------------------------------------------
    // The free-space bitmap

    /** One chunk of a volume's free-space bitmap as stored: bit i set = block chunk·4096 + i of the data area used. */
    public interface SpaceChunkConsumer {
        void accept(int volume, long chunk, byte[] bits);
    }

    /** Stores one bitmap chunk; null (or all zeros) removes its record: no record means every block is free. */
    public void putSpaceChunk(int volume, long chunk, byte[] bits) {
        byte[] k = spaceKey(volume, chunk);
        if (bits == null || isZero(bits)) {
            tree.remove(k);
        } else {
            Invariant.check(bits.length == SPACE_CHUNK_BYTES, "a space chunk of %d bytes", bits.length);
            tree.put(k, bits);
        }
    }

    /** Every stored bitmap chunk, in order. */
    public void forEachSpaceChunk(SpaceChunkConsumer consumer) {
        byte[] prefix = key(SPACE_OWNER, SPACE);
        byte[] after = null;
        while (true) {
            List<Entry> batch = tree.scanPrefix(prefix, after, SCAN_BATCH);
            for (Entry e : batch) {
                byte[] k = e.key();
                if (k.length != 21 || e.value().length != SPACE_CHUNK_BYTES) {
                    throw new D4Exception.Corruption("a free-space record is damaged (key of " + k.length + " bytes, value of "
                            + e.value().length + "); run d4 fsck");
                }
                int volume = (k[9] & 0xff) << 24 | (k[10] & 0xff) << 16 | (k[11] & 0xff) << 8 | k[12] & 0xff;
                consumer.accept(volume, getLong(k, 13), e.value());
            }
            if (batch.size() < SCAN_BATCH) {
                return;
            }
            after = batch.getLast().key();
        }
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }
}
