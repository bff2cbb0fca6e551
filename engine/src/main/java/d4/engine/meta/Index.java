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
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The metadata index: every object with its attributes, size, extents and entries.
 *
 * <p>This version keeps the whole index in memory and persists it as a checkpoint image plus the
 * journal (see {@code Pool}); the copy-on-write B+tree that loads pages on demand replaces the
 * in-memory maps without changing this class's operations. Not thread-safe: the pool's lock guards it.
 */
public final class Index {
    static final byte[] CHECKPOINT_MAGIC = "D4CKPT01".getBytes(StandardCharsets.US_ASCII);

    private static final class ObjectState {
        final long id;
        final long generation;
        long sizeBytes;
        byte[] attrs;
        long allocatedBlocks;
        final TreeMap<Long, Extent> extents = new TreeMap<>();
        final TreeMap<EntryKey, byte[]> entries = new TreeMap<>();

        ObjectState(long id, long generation, byte[] attrs) {
            this.id = id;
            this.generation = generation;
            this.attrs = attrs;
        }
    }

    private final Map<Long, ObjectState> objects = new HashMap<>();
    private long nextObjectId;

    private Index(long nextObjectId) {
        this.nextObjectId = nextObjectId;
    }

    /** The index of a new pool: just the pool object. */
    public static Index empty() {
        Index index = new Index(1);
        index.objects.put(0L, new ObjectState(0, 1, new byte[0]));
        return index;
    }

    public long nextObjectId() {
        return nextObjectId;
    }

    /** Hands out the next id; the CreateObject op that uses it makes the counter durable. */
    public long reserveObjectId() {
        return nextObjectId++;
    }

    public long objectCount() {
        return objects.size();
    }

    public boolean exists(long id) {
        return objects.containsKey(id);
    }

    public ObjectInfo info(long id) {
        ObjectState s = objects.get(id);
        if (s == null) {
            throw new D4Exception.ObjectNotFound(new ObjectId(id));
        }
        return new ObjectInfo(new ObjectId(id), s.generation, s.sizeBytes, s.allocatedBlocks * Limits.BLOCK_BYTES,
                s.attrs.clone());
    }

    public long sizeBytes(long id) {
        return state(id).sizeBytes;
    }

    /** The extents overlapping logical blocks [from, to), in order. */
    public List<Extent> extents(long id, long fromBlock, long toBlock) {
        ObjectState s = state(id);
        List<Extent> out = new ArrayList<>();
        Map.Entry<Long, Extent> floor = s.extents.floorEntry(fromBlock);
        if (floor != null && floor.getValue().endLogicalBlock() > fromBlock) {
            out.add(floor.getValue());
        }
        // floorEntry covers an extent starting exactly at fromBlock, so the submap excludes it.
        out.addAll(s.extents.subMap(fromBlock, false, toBlock, false).values());
        return out;
    }

    /** Every object id, ascending. */
    public List<Long> objectIds() {
        List<Long> ids = new ArrayList<>(objects.keySet());
        ids.sort(null);
        return ids;
    }

    /**
     * Checks each object's extent map (fsck): logical ranges that overlap, checksum lists whose
     * length differs from the extent's, an allocated-block count that differs from the extents', a
     * size out of range, and object ids at or beyond the next id to hand out. One line per problem.
     */
    public List<String> check() {
        List<String> problems = new ArrayList<>();
        for (long id : objectIds()) {
            ObjectState s = objects.get(id);
            if (id >= nextObjectId) {
                problems.add("object " + id + " is at or beyond the next object id " + nextObjectId);
            }
            if (s.sizeBytes < 0 || s.sizeBytes > Limits.MAX_OBJECT_BYTES) {
                problems.add("object " + id + " has an impossible size " + s.sizeBytes);
            }
            long blocks = 0;
            long end = -1;
            for (Extent e : s.extents.values()) {
                if (e.logicalBlock() < end) {
                    problems.add("object " + id + ": extent at block " + e.logicalBlock() + " overlaps the one before it");
                }
                if (e.crcs().length != e.lengthBlocks()) {
                    problems.add("object " + id + ": extent at block " + e.logicalBlock() + " has " + e.crcs().length
                            + " checksums for " + e.lengthBlocks() + " blocks");
                }
                end = e.endLogicalBlock();
                blocks += e.lengthBlocks();
            }
            if (blocks != s.allocatedBlocks) {
                problems.add("object " + id + " counts " + s.allocatedBlocks + " allocated blocks but its extents hold "
                        + blocks);
            }
        }
        return problems;
    }

    /** The first extent that covers {@code fromBlock} or starts after it, or null. */
    public Extent nextExtent(long id, long fromBlock) {
        ObjectState s = state(id);
        Map.Entry<Long, Extent> floor = s.extents.floorEntry(fromBlock);
        if (floor != null && floor.getValue().endLogicalBlock() > fromBlock) {
            return floor.getValue();
        }
        Map.Entry<Long, Extent> after = s.extents.higherEntry(fromBlock);
        return after == null ? null : after.getValue();
    }

    public byte[] entry(long owner, byte[] key) {
        byte[] v = state(owner).entries.get(new EntryKey(key));
        return v == null ? null : v.clone();
    }

    /** Entries of {@code owner} whose key starts with {@code prefix}, after {@code afterKey} (exclusive; null = from the start). */
    public List<Entry> entries(long owner, byte[] prefix, byte[] afterKey, int limit) {
        ObjectState s = state(owner);
        // Start at the prefix, or just after afterKey when that lies beyond the prefix's start.
        NavigableMap<EntryKey, byte[]> tail = afterKey == null || new EntryKey(afterKey).compareTo(new EntryKey(prefix)) < 0
                ? s.entries.tailMap(new EntryKey(prefix), true)
                : s.entries.tailMap(new EntryKey(afterKey), false);
        List<Entry> out = new ArrayList<>();
        for (Map.Entry<EntryKey, byte[]> e : tail.entrySet()) {
            byte[] k = e.getKey().bytes();
            if (!startsWith(k, prefix) || out.size() >= limit) {
                break;
            }
            out.add(new Entry(k.clone(), e.getValue().clone()));
        }
        return out;
    }

    public boolean hasEntries(long owner, byte[] prefix) {
        EntryKey first = state(owner).entries.ceilingKey(new EntryKey(prefix));
        return first != null && startsWith(first.bytes(), prefix);
    }

    private static boolean startsWith(byte[] k, byte[] prefix) {
        return k.length >= prefix.length && java.util.Arrays.equals(k, 0, prefix.length, prefix, 0, prefix.length);
    }

    private ObjectState state(long id) {
        ObjectState s = objects.get(id);
        if (s == null) {
            throw new D4Exception.ObjectNotFound(new ObjectId(id));
        }
        return s;
    }

    /**
     * Applies one op. Runs whose blocks the op released go to {@code freed}. An op that does not fit
     * the state (an object that is missing, an id that exists) is a bug on the live path and damage on
     * replay; it throws IllegalStateException before changing anything.
     */
    public void apply(Op op, Consumer<Run> freed) {
        switch (op) {
            case Op.CreateObject c -> {
                Invariant.check(!objects.containsKey(c.id()), "create of existing object %d", c.id());
                objects.put(c.id(), new ObjectState(c.id(), 1, c.attrs()));
                nextObjectId = Math.max(nextObjectId, c.id() + 1);
            }
            case Op.SetAttrs a -> existing(a.id()).attrs = a.attrs();
            case Op.SetSize z -> {
                ObjectState s = existing(z.id());
                Invariant.check(z.sizeBytes() >= 0 && z.sizeBytes() <= Limits.MAX_OBJECT_BYTES, "size %d", z.sizeBytes());
                // As ext4: a size that does not grow releases every block past it (also blocks that
                // fallocate KEEP_SIZE placed there); growing keeps them.
                if (z.sizeBytes() <= s.sizeBytes) {
                    long keepBlocks = (z.sizeBytes() + Limits.BLOCK_BYTES - 1) / Limits.BLOCK_BYTES;
                    removeRange(s, keepBlocks, Long.MAX_VALUE, freed);
                }
                s.sizeBytes = z.sizeBytes();
            }
            case Op.PutExtent p -> {
                ObjectState s = existing(p.id());
                Extent e = p.extent();
                removeRange(s, e.logicalBlock(), e.endLogicalBlock(), freed);
                Map.Entry<Long, Extent> left = s.extents.lowerEntry(e.logicalBlock());
                if (left != null && canMerge(left.getValue(), e)) {
                    Extent l = left.getValue();
                    int[] crcs = java.util.Arrays.copyOf(l.crcs(), l.lengthBlocks() + e.lengthBlocks());
                    System.arraycopy(e.crcs(), 0, crcs, l.lengthBlocks(), e.lengthBlocks());
                    s.extents.put(l.logicalBlock(), new Extent(l.logicalBlock(), l.volume(), l.physicalBlock(), crcs.length,
                            crcs, l.mirrorVolume(), l.mirrorPhysicalBlock()));
                } else {
                    s.extents.put(e.logicalBlock(), e);
                }
                s.allocatedBlocks += e.lengthBlocks();
            }
            case Op.DeleteObject d -> {
                Invariant.check(d.id() != 0, "delete of the pool object");
                ObjectState s = existing(d.id());
                for (Extent e : s.extents.values()) {
                    e.runs().forEach(freed);
                }
                objects.remove(d.id());
            }
            case Op.UnmapRange u -> {
                Invariant.check(u.fromBlock() >= 0 && u.fromBlock() < u.toBlock(), "unmap of blocks [%d, %d)",
                        u.fromBlock(), u.toBlock());
                removeRange(existing(u.id()), u.fromBlock(), u.toBlock(), freed);
            }
            case Op.PutEntry p -> existing(p.owner()).entries.put(new EntryKey(p.key()), p.value());
            case Op.RemoveEntry r -> {
                byte[] old = existing(r.owner()).entries.remove(new EntryKey(r.key()));
                Invariant.check(old != null, "remove of a missing entry of object %d", r.owner());
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

    private ObjectState existing(long id) {
        ObjectState s = objects.get(id);
        Invariant.check(s != null, "op on missing object %d", id);
        return s;
    }

    /** Unmaps logical blocks [from, to), splitting extents that straddle the edges. */
    private static void removeRange(ObjectState s, long from, long to, Consumer<Run> freed) {
        List<Extent> hit = new ArrayList<>();
        Map.Entry<Long, Extent> floor = s.extents.floorEntry(from);
        if (floor != null && floor.getValue().endLogicalBlock() > from) {
            hit.add(floor.getValue());
        }
        hit.addAll(s.extents.subMap(from, false, to, false).values());
        for (Extent e : hit) {
            s.extents.remove(e.logicalBlock());
            if (e.logicalBlock() < from) {
                Extent left = e.slice(e.logicalBlock(), from);
                s.extents.put(left.logicalBlock(), left);
            }
            if (e.endLogicalBlock() > to) {
                Extent right = e.slice(to, e.endLogicalBlock());
                s.extents.put(right.logicalBlock(), right);
            }
            Extent gone = e.slice(from, to);
            s.allocatedBlocks -= gone.lengthBlocks();
            gone.runs().forEach(freed);
        }
    }

    /** Every run the index references, for rebuilding the free-space map. */
    public void forEachRun(java.util.function.BiConsumer<Long, Run> consumer) {
        for (ObjectState s : objects.values()) {
            for (Extent e : s.extents.values()) {
                for (Run r : e.runs()) {
                    consumer.accept(s.id, r);
                }
            }
        }
    }

    /** The whole index as a checkpoint image (layout in docs/format.md, "Checkpoint image"). */
    public byte[] encode() {
        Encoder e = new Encoder(1 << 16);
        e.bytes(CHECKPOINT_MAGIC).i64(nextObjectId).i64(objects.size());
        for (ObjectState s : objects.values()) {
            e.i64(s.id).i64(s.generation).i64(s.sizeBytes).blob(s.attrs);
            e.i32(s.extents.size());
            for (Extent x : s.extents.values()) {
                Op.encodeExtent(e, x);
            }
            e.i32(s.entries.size());
            for (Map.Entry<EntryKey, byte[]> en : s.entries.entrySet()) {
                e.blob(en.getKey().bytes()).blob(en.getValue());
            }
        }
        return e.toByteArray();
    }

    public static Index decode(byte[] image, int length) {
        Decoder d = new Decoder(image, 0, length, "checkpoint image");
        byte[] magic = d.bytes(CHECKPOINT_MAGIC.length);
        if (!java.util.Arrays.equals(magic, CHECKPOINT_MAGIC)) {
            throw new D4Exception.Corruption("checkpoint image has no magic: the metadata is damaged; run d4 fsck");
        }
        Index index = new Index(d.i64());
        long count = d.i64();
        for (long i = 0; i < count; i++) {
            long id = d.i64();
            ObjectState s = new ObjectState(id, d.i64(), null);
            s.sizeBytes = d.i64();
            s.attrs = d.blob(Limits.MAX_ATTRS_BYTES);
            int extents = d.i32();
            long prevEnd = 0;
            for (int x = 0; x < extents; x++) {
                Extent e = Op.decodeExtent(d);
                if (e.logicalBlock() < prevEnd) {
                    throw new D4Exception.Corruption("checkpoint image: extents of object " + id + " overlap or are out of order");
                }
                prevEnd = e.endLogicalBlock();
                s.extents.put(e.logicalBlock(), e);
                s.allocatedBlocks += e.lengthBlocks();
            }
            int entries = d.i32();
            for (int x = 0; x < entries; x++) {
                s.entries.put(new EntryKey(d.blob(Limits.MAX_KEY_BYTES)), d.blob(Limits.MAX_VALUE_BYTES));
            }
            if (id < 0 || id >= index.nextObjectId && id != 0 || index.objects.put(id, s) != null) {
                throw new D4Exception.Corruption("checkpoint image: object id " + id + " is duplicated or beyond the id counter");
            }
        }
        if (d.remaining() != 0 || !index.objects.containsKey(0L)) {
            throw new D4Exception.Corruption("checkpoint image is damaged (trailing bytes or no pool object)");
        }
        return index;
    }
}
