package d4.engine;

import d4.engine.alloc.Run;
import d4.engine.alloc.SpaceMap;
import d4.engine.io.Drive;
import d4.engine.io.IoBatch;
import d4.engine.meta.Extent;
import d4.engine.meta.Index;
import d4.engine.meta.Journal;
import d4.engine.meta.MetaSlot;
import d4.engine.meta.Op;
import d4.engine.volume.BlockDevices;
import d4.engine.volume.Superblock;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.zip.CRC32C;

/**
 * A pool: a set of volumes holding objects. The engine's public API.
 *
 * <p>Reads ({@link #read}, {@link #find}, {@link #entries}) see the last committed state.
 * Changes go through a {@link Txn}: one writer at a time holds the pool's write lock from
 * {@link #begin()} to commit; its data writes go to newly allocated blocks (copy-on-write) before
 * the metadata that points at them is committed. {@link #sync()} makes everything committed durable
 * (data first, then the journal record). Blocks released by a transaction return to free space only
 * once that transaction is durable, so a crash never leaves durable metadata pointing at reused blocks.
 *
 * <p>On disk: superblocks, two meta slots, the journal, and the metadata B+tree with the free-space
 * bitmap among its records (see docs/format.md). Checkpoints write the tree's changed pages to new
 * places and publish its root in the other meta slot; they happen when the journal fills past half,
 * when {@link #DIRTY_PAGE_LIMIT} pages have changed, at every open (each session writes its own
 * journal epoch), and at close.
 */
public final class Pool implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("d4.engine");
    /** Changed metadata pages (pinned in memory) that make a commit checkpoint: 16 MiB. */
    public static final int DIRTY_PAGE_LIMIT = 4096;
    /** Blocks kept free beyond the changed pages, for the pages a checkpoint may still add. */
    private static final int CHECKPOINT_SLACK_BLOCKS = 1024;

    private final String name;
    private final UUID uuid;
    private final List<Volume> volumes;
    /** Per volume (same index): reserves host space ahead of the writes (see {@link Preallocation}). */
    private final List<Preallocation> preallocations;
    private final Index index;
    private final VolumePages pages;
    private final SpaceMap space;
    private final Journal journal;
    private final IoBuffers buffers;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /**
     * Held (read) by a scrub verifying the published tree without the pool's lock, and (write) by a
     * checkpoint: no checkpoint publishes, and so frees the pages that scrub walks, meanwhile. Taken
     * only inside the pool's write lock by checkpoints; commit-triggered ones skip when it is busy.
     */
    private final ReentrantReadWriteLock checkpointGate = new ReentrantReadWriteLock();
    private final java.util.concurrent.atomic.AtomicLong checksumFailures = new java.util.concurrent.atomic.AtomicLong();
    private boolean readOnly; // set once, before the pool is handed out
    /** How many copies of each data block the pool keeps (1, or 2 on different volumes). */
    private final int copies;
    /** Blocks of every volume's data area. */
    private final long dataBlocks;
    /** Leaves the free-space records take at most (seven 512-byte records to a leaf), plus one. */
    private final long chunkLeaves;
    private final java.util.concurrent.atomic.AtomicLong repairedBlocks = new java.util.concurrent.atomic.AtomicLong();
    private List<String> spaceProblems = List.of();
    /** What an open with rebuildFreeSpace changed, until {@link #repairFreeSpace} reports it. */
    private String freeSpaceRebuilt;
    private final List<CommitListener> commitListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final PoolOptions options;

    // Guarded by the write lock: the published checkpoint.
    private MetaSlot slot;

    // Guarded by itself: runs released by committed transactions, freed once their seq is durable.
    private final ArrayDeque<PendingFree> pendingFrees = new ArrayDeque<>();

    /**
     * A run a committed transaction released: free once its record is durable ({@code epoch},
     * {@code seq}) and no reader that may still read it is left ({@code generation}, see
     * {@link ReadPins}).
     */
    private record PendingFree(long epoch, long seq, long generation, Run run) {}

    /**
     * Counts commits that released blocks (under the write lock): a reader notes it with its extent
     * map, and blocks a later commit released stay allocated until that reader is done.
     */
    private final java.util.concurrent.atomic.AtomicLong freeGeneration = new java.util.concurrent.atomic.AtomicLong();

    /** Readers doing device I/O without the pool lock (see {@link #read}). */
    private final ReadPins readPins = new ReadPins(64);

    private volatile boolean closed;
    private volatile Throwable failure;

    /**
     * Blocks of writes staged outside the write lock ({@link #stage}) that no transaction has taken
     * yet: checkpoints store them as free, checks count them as in use. Guarded by itself; added to
     * and removed from only under the pool's lock (read or write), so that a checkpoint, which holds
     * the write lock, sees every block either here or referenced by the tree.
     */
    private final java.util.Set<Run> staged = new java.util.HashSet<>();

    /** Stages copying data now: close waits for them before the drives and buffers go. */
    private final java.util.concurrent.atomic.AtomicInteger stagesInFlight = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean closing;
    private final Thread flusher;

    private Pool(String name, UUID uuid, List<Volume> volumes, Index index, VolumePages pages, IoBuffers buffers,
            SpaceMap space, Journal journal, MetaSlot slot, PoolOptions options) {
        this.name = name;
        this.uuid = uuid;
        this.volumes = volumes;
        this.preallocations = volumes.stream()
                .map(v -> options.readOnly() ? Preallocation.NONE : Preallocation.of(v.path(), v.superblock().sizeBytes()))
                .toList();
        this.index = index;
        this.pages = pages;
        this.space = space;
        this.journal = journal;
        this.slot = slot;
        this.options = options;
        this.copies = volumes.getFirst().superblock().copies();
        this.dataBlocks = volumes.stream().mapToLong(v -> v.superblock().dataEndBlock() - v.superblock().dataStartBlock())
                .sum();
        this.chunkLeaves = (dataBlocks / SpaceMap.CHUNK_BLOCKS + volumes.size()) / 7 + 1;
        this.buffers = buffers;
        this.flusher = Thread.ofPlatform().name("d4-flusher-" + name).daemon(true).unstarted(this::flushLoop);
    }

    // ------------------------------------------------------------------------------------------
    // Format

    /**
     * Creates a pool on new volumes: files, which must not exist yet (or be empty) and are created
     * sparse with their size, or block devices (checked by the caller: d4 format refuses devices in use
     * or holding a file system). Returns the new pool's UUID.
     */
    public static UUID format(String name, List<VolumeSpec> specs) {
        return format(name, specs, 1);
    }

    /**
     * As {@link #format(String, List)}, keeping {@code copies} (1 or 2) of every data block: with 2,
     * each block is written to two different volumes, so the pool needs at least two.
     */
    public static UUID format(String name, List<VolumeSpec> specs, int copies) {
        checkPoolName(name);
        if (specs.isEmpty()) {
            throw new D4Exception.InvalidArgument("a pool needs at least one volume");
        }
        if (copies != 1 && copies != 2) {
            throw new D4Exception.InvalidArgument("copies must be 1 or 2, not " + copies);
        }
        if (copies == 2 && specs.size() < 2) {
            throw new D4Exception.InvalidArgument("a pool with 2 copies needs at least 2 volumes (each copy of a block"
                    + " goes to a different volume); give another --volume");
        }
        UUID poolUuid = UUID.randomUUID();
        long created = System.currentTimeMillis();
        List<Superblock> superblocks = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            VolumeSpec spec = specs.get(i);
            long size = spec.sizeBytes() / Limits.BLOCK_BYTES * Limits.BLOCK_BYTES;
            if (size > Limits.MAX_VOLUME_BYTES) {
                throw new D4Exception.InvalidArgument("volume " + spec.path() + " of " + spec.sizeBytes()
                        + " bytes is too large: this release supports volumes up to " + (Limits.MAX_VOLUME_BYTES >> 40)
                        + " TiB; use several volumes");
            }
            if (size < Limits.MIN_VOLUME_BYTES) {
                throw new D4Exception.InvalidArgument("volume " + spec.path() + " of " + spec.sizeBytes()
                        + " bytes is too small: a volume needs at least " + (Limits.MIN_VOLUME_BYTES >> 20) + " MiB");
            }
            long blocks = size / Limits.BLOCK_BYTES;
            long journalBlocks = i == 0 ? journalBlocksFor(blocks) : 0;
            long dataStart = Superblock.FIRST_FREE_BLOCK + journalBlocks;
            superblocks.add(new Superblock(Superblock.FORMAT_VERSION, Limits.BLOCK_BYTES, poolUuid, UUID.randomUUID(), i,
                    specs.size(), size, Superblock.FIRST_FREE_BLOCK, journalBlocks, dataStart, blocks - 1, created, name,
                    copies));
        }
        List<Path> created0 = new ArrayList<>();
        try {
            for (int i = 0; i < specs.size(); i++) {
                createVolumeFile(specs.get(i).path(), superblocks.get(i));
                created0.add(specs.get(i).path());
            }
            writeInitialCheckpoint(specs.stream().map(VolumeSpec::path).toList(), superblocks);
        } catch (RuntimeException e) {
            for (Path p : created0) {
                try {
                    if (BlockDevices.isBlockDevice(p)) {
                        BlockDevices.wipe(p); // never unlink a device node
                    } else {
                        Files.deleteIfExists(p);
                    }
                } catch (IOException | RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        return poolUuid;
    }

    // ------------------------------------------------------------------------------------------
    // Adding and removing volumes

    /** A member of a closed pool: its path and superblock. */
    private record Member(Path path, Superblock superblock) {}

    /** Reads and checks the superblocks of a closed pool's members, in index order. */
    private static List<Member> memberSuperblocks(List<Path> members) {
        List<Superblock> sbs = new ArrayList<>();
        for (Path p : members) {
            sbs.add(readSuperblock(p));
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < sbs.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingInt(i -> sbs.get(i).volumeIndex()));
        Superblock first = sbs.get(order.getFirst());
        int count = first.volumeCount();
        for (int i = 0; i < order.size(); i++) {
            Superblock sb = sbs.get(order.get(i));
            if (!sb.poolUuid().equals(first.poolUuid()) || sb.volumeIndex() != i || first.volumeIndex() != 0
                    || members.size() != count) {
                throw new D4Exception.PoolUnavailable("the volumes given are not exactly the members of pool "
                        + first.poolName() + " (" + count + " volumes, indexes 0.." + (count - 1) + "): check them with"
                        + " d4 volume list");
            }
        }
        return order.stream().map(i -> new Member(members.get(i), sbs.get(i))).toList();
    }

    /** Writes a superblock to both of its places on a volume: the copy first, then the primary (see docs/format.md). */
    private static void rewriteSuperblock(Path path, Superblock sb) {
        byte[] block = java.util.Arrays.copyOf(sb.encode(), Limits.BLOCK_BYTES);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            writeFully(ch, java.nio.ByteBuffer.wrap(block), sb.superblockCopyBlock() * Limits.BLOCK_BYTES, path);
            ch.force(true);
            writeFully(ch, java.nio.ByteBuffer.wrap(block), Superblock.SUPERBLOCK_BLOCK * Limits.BLOCK_BYTES, path);
            ch.force(true);
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("cannot write the superblock of " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Adds a new volume (a file that must not exist or be empty, or a block device the caller has
     * checked) to a pool that is not open; {@code members} are all of its volumes. The new volume's
     * data area is free space at the next open. Crash-safe: the new volume is written first, then
     * volume 0's member count (the commit point), then the other volumes' counts (open catches up
     * any it missed). Running it again after a crash before the commit point reuses the new volume.
     * The pool is held open read-only meanwhile, so a mount of it (or a second add) is refused.
     * Returns the new volume's superblock.
     */
    public static Superblock addVolume(List<Path> members, VolumeSpec spec, PoolOptions options) {
        List<Member> sbs = memberSuperblocks(members);
        Pool held = open(members, options.asReadOnly());
        try {
            return addVolume(sbs, spec);
        } finally {
            held.close();
        }
    }

    private static Superblock addVolume(List<Member> sbs, VolumeSpec spec) {
        Superblock zero = sbs.getFirst().superblock();
        int n = sbs.size();
        long size = spec.sizeBytes() / Limits.BLOCK_BYTES * Limits.BLOCK_BYTES;
        Superblock existing = null;
        if (Files.exists(spec.path()) && !BlockDevices.isBlockDevice(spec.path())) {
            try {
                existing = Files.size(spec.path()) >= Limits.MIN_VOLUME_BYTES ? readSuperblock(spec.path()) : null;
            } catch (IOException | D4Exception e) {
                existing = null; // not a d4 volume: createVolumeFile refuses a non-empty file below
            }
        }
        Superblock added;
        if (existing != null && existing.poolUuid().equals(zero.poolUuid()) && existing.volumeIndex() == n) {
            added = existing; // an add interrupted before its commit point: finish it
        } else {
            if (size > Limits.MAX_VOLUME_BYTES || size < Limits.MIN_VOLUME_BYTES) {
                throw new D4Exception.InvalidArgument("volume " + spec.path() + " of " + spec.sizeBytes() + " bytes: a volume"
                        + " holds " + (Limits.MIN_VOLUME_BYTES >> 20) + " MiB to " + (Limits.MAX_VOLUME_BYTES >> 40) + " TiB");
            }
            long blocks = size / Limits.BLOCK_BYTES;
            added = new Superblock(Superblock.FORMAT_VERSION, Limits.BLOCK_BYTES, zero.poolUuid(), UUID.randomUUID(), n,
                    n + 1, size, Superblock.FIRST_FREE_BLOCK, 0, Superblock.FIRST_FREE_BLOCK, blocks - 1,
                    zero.createdEpochMillis(), zero.poolName(), zero.copies());
            createVolumeFile(spec.path(), added);
        }
        for (Member m : sbs) { // volume 0 first: its count is the commit point
            rewriteSuperblock(m.path(), m.superblock().withVolumeCount(n + 1));
        }
        LOG.log(Level.INFO, "pool {0}: volume {1} added as volume {2}", zero.poolName(), spec.path(), String.valueOf(n));
        return added;
    }

    /**
     * Removes the pool's last volume (the highest index, never volume 0): opens the pool, moves every
     * data block and metadata page off it ({@link #evacuateVolume}), closes it, checks read-only that
     * nothing is left there, then lowers volume 0's member count (the commit point), the others', and
     * wipes the removed volume's superblocks. {@code progress} hears (blocks moved, blocks to move).
     */
    public static void removeVolume(List<Path> members, Path removed, PoolOptions options,
            java.util.function.BiConsumer<Long, Long> progress) {
        Superblock gone = readSuperblock(removed);
        Optional<Superblock> zero = members.stream().map(Pool::readSuperblock).filter(sb -> sb.volumeIndex() == 0
                && sb.poolUuid().equals(gone.poolUuid())).findFirst();
        if (zero.isPresent() && gone.volumeIndex() > 0 && gone.volumeIndex() >= zero.get().volumeCount()) {
            // A removal interrupted after its commit point: the pool no longer counts the volume.
            wipeSuperblocks(removed, gone);
            LOG.log(Level.INFO, "pool {0}: volume {1} removed (finishing an interrupted removal)", gone.poolName(), removed);
            return;
        }
        List<Member> sbs = memberSuperblocks(members);
        int n = sbs.size();
        if (!gone.poolUuid().equals(sbs.getFirst().superblock().poolUuid())) {
            throw new D4Exception.InvalidArgument(removed + " is not a volume of pool "
                    + sbs.getFirst().superblock().poolName());
        }
        if (gone.volumeIndex() == 0) {
            throw new D4Exception.InvalidArgument(removed + " is volume 0 of pool " + gone.poolName() + ": it holds the"
                    + " journal and the metadata root and cannot be removed");
        }
        if (gone.volumeIndex() != n - 1) {
            throw new D4Exception.InvalidArgument(removed + " is volume " + gone.volumeIndex() + " of " + n + ": this release"
                    + " removes only the last volume (index " + (n - 1) + "), so that volume indexes stay dense");
        }
        if (gone.copies() == 2 && n - 1 < 2) {
            throw new D4Exception.InvalidArgument("pool " + gone.poolName() + " keeps 2 copies of every block on different"
                    + " volumes: it cannot shrink to one volume; add another volume first");
        }
        try (Pool pool = open(members, options)) {
            pool.evacuateVolume(n - 1, progress);
        }
        // Held open (read-only: it locks the volumes) until the counts are rewritten: a mount in
        // between would allocate on the volume again.
        Pool check = open(members, options.asReadOnly());
        try {
            long left = check.space.usedBlocks(n - 1);
            if (left != 0) {
                throw new D4Exception.Corruption("volume " + removed + " still holds " + left + " blocks after its data"
                        + " moved (space that nothing references: leaked); run d4 fsck --repair, then d4 volume remove again");
            }
            for (Member m : sbs.subList(0, n - 1)) { // volume 0 first: its count is the commit point
                rewriteSuperblock(m.path(), m.superblock().withVolumeCount(n - 1));
            }
        } finally {
            check.close();
        }
        wipeSuperblocks(removed, gone);
        LOG.log(Level.INFO, "pool {0}: volume {1} removed", gone.poolName(), removed);
    }

    private static void wipeSuperblocks(Path removed, Superblock gone) {
        byte[] zeros = new byte[Limits.BLOCK_BYTES];
        try (FileChannel ch = FileChannel.open(removed, StandardOpenOption.WRITE)) {
            writeFully(ch, java.nio.ByteBuffer.wrap(zeros), Superblock.SUPERBLOCK_BLOCK * Limits.BLOCK_BYTES, removed);
            writeFully(ch, java.nio.ByteBuffer.wrap(zeros.clone()), gone.superblockCopyBlock() * Limits.BLOCK_BYTES, removed);
            ch.force(true);
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("volume " + removed + " left the pool, but wiping its superblocks failed ("
                    + e.getMessage() + "): it is no member any more; wipe it by hand before reusing it", e);
        }
    }

    /**
     * Moves everything off volume {@code volume} (data blocks, both copies, metadata pages, the
     * space table) onto the others, and stops allocating there. Transactions of one extent each, so
     * writers are held up briefly. NoSpace when the other volumes cannot take it (nothing lost: what
     * moved so far is a valid state).
     */
    void evacuateVolume(int volume, java.util.function.BiConsumer<Long, Long> progress) {
        long toMove;
        lock.writeLock().lock();
        try {
            checkWritable();
            toMove = space.usedBlocks(volume);
            space.retire(volume);
            long room = space.freeBlocks() - reserveBlocks();
            // With two copies, moving an extent places both of its copies again.
            if (toMove * copies > room) {
                throw new D4Exception.NoSpace("volume " + volumes.get(volume).path() + " holds " + toMove * Limits.BLOCK_BYTES
                        + " bytes but the other volumes have room for " + Math.max(0, room) * Limits.BLOCK_BYTES
                        + ": free space or add a volume first");
            }
        } finally {
            lock.writeLock().unlock();
        }
        awaitStagedOff(volume);
        long moved = 0;
        progress.accept(0L, toMove);
        for (ObjectId id : objectIds()) {
            long cursor = 0;
            while (true) {
                Txn t = begin();
                try {
                    Extent on = null;
                    // From the cursor on: extents before it were moved or are elsewhere (one pass per file).
                    for (Extent e = index.exists(id.value()) ? index.nextExtent(id.value(), cursor) : null; e != null;
                            e = index.nextExtent(id.value(), e.endLogicalBlock())) {
                        if (e.volume() == volume || e.mirrorVolume() == volume) {
                            on = e;
                            break;
                        }
                    }
                    if (on == null) {
                        break;
                    }
                    t.relocate(id, on.logicalBlock(), on.endLogicalBlock());
                    t.commit();
                    moved += on.lengthBlocks();
                    cursor = on.endLogicalBlock();
                } finally {
                    t.close();
                }
                progress.accept(moved, toMove);
            }
        }
        lock.writeLock().lock();
        try {
            index.tree().rewritePagesWhere(a -> VolumePages.run(a).volume() == volume);
            // The first checkpoint writes the pages elsewhere (and the space table); the second
            // stores the free-space records of the blocks the first one let go.
            checkpoint();
            checkpoint();
        } finally {
            lock.writeLock().unlock();
        }
        progress.accept(toMove, toMove);
    }

    /**
     * Waits until no staged write holds blocks on {@code volume} (retired, so no new one can): each
     * is committed, and so moved by the evacuation that follows, or discarded. Staged writes last as
     * long as a device write.
     */
    private void awaitStagedOff(int volume) {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            synchronized (staged) {
                if (staged.stream().noneMatch(r -> r.volume() == volume)) {
                    return;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new D4Exception.DriveFailure("writes to volume " + volumes.get(volume).path()
                        + " did not finish within 60 s; run the command again", null);
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new D4Exception.DriveFailure("interrupted while waiting for writes to volume "
                        + volumes.get(volume).path(), e);
            }
        }
    }

    static void checkPoolName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
            throw new D4Exception.InvalidArgument("invalid pool name '" + name
                    + "': use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
    }

    private static long journalBlocksFor(long volumeBlocks) {
        long bytes = volumeBlocks * Limits.BLOCK_BYTES / 32;
        bytes = Math.max(4L << 20, Math.min(128L << 20, bytes));
        return bytes / Limits.BLOCK_BYTES;
    }

    private static void createVolumeFile(Path path, Superblock sb) {
        if (BlockDevices.isBlockDevice(path)) {
            // Zeroes the superblocks, meta slots and journal region (an earlier pool's records there carry
            // no pool UUID and must not be read as this one's), then writes both superblocks.
            BlockDevices.initialize(path, sb);
            return;
        }
        try {
            if (Files.exists(path) && !Files.isRegularFile(path)) {
                throw new D4Exception.InvalidArgument(path + " is neither a regular file nor a block device: give a file"
                        + " path or a block device");
            }
            if (Files.exists(path) && Files.size(path) > 0) {
                throw new D4Exception.InvalidArgument(path + " already exists and is not empty: d4 format never overwrites"
                        + " data; remove it first or choose another path");
            }
            if (path.getParent() != null) {
                Files.createDirectories(path.getParent());
            }
            // Mode 0600: a volume holds every file's bytes, whatever their own modes say.
            try (FileChannel ch = FileChannel.open(path, java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.READ), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")))) {
                ch.truncate(0);
                byte[] block = new byte[Limits.BLOCK_BYTES];
                System.arraycopy(sb.encode(), 0, block, 0, Superblock.ENCODED_BYTES);
                ch.write(java.nio.ByteBuffer.wrap(block), 0);
                ch.write(java.nio.ByteBuffer.wrap(block), sb.superblockCopyBlock() * Limits.BLOCK_BYTES);
                ch.force(true);
            }
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("cannot create volume " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes the first tree (the pool header and the pool object) and publishes it with generation 1
     * (in meta slot B: odd generations go to block 2). Offline, through the volume files (or devices) directly.
     */
    private static void writeInitialCheckpoint(List<Path> paths, List<Superblock> superblocks) {
        long[] starts = superblocks.stream().mapToLong(Superblock::dataStartBlock).toArray();
        long[] ends = superblocks.stream().mapToLong(Superblock::dataEndBlock).toArray();
        SpaceMap space = new SpaceMap(starts, ends);
        List<FileChannel> channels = new ArrayList<>();
        try {
            for (Path p : paths) {
                channels.add(FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE));
            }
            d4.engine.meta.tree.PageStore store = new d4.engine.meta.tree.PageStore() {
                @Override
                public void read(long address, MemorySegment dst) {
                    throw new IllegalStateException("the first checkpoint reads no page");
                }

                @Override
                public void write(long address, MemorySegment src) {
                    Run r = VolumePages.run(address);
                    writeFully(channels.get(r.volume()), src.asByteBuffer(), r.startBlock() * Limits.BLOCK_BYTES, paths.get(r.volume()));
                }
            };
            d4.engine.meta.tree.Tree tree = d4.engine.meta.tree.Tree.create(store, 1 << 20);
            Index.create(tree);
            List<Run> pages = new ArrayList<>();
            d4.engine.meta.tree.Checkpoint ck;
            try (PageRuns allocator = new PageRuns(space, pages, tree.dirtyPages(), r -> { })) {
                ck = tree.checkpoint(allocator, 1);
            }
            byte[] table = new MetaSlot.SpaceTable(coalesce(pages), List.of()).encode();
            Run tableRun = space.allocate((table.length + Limits.BLOCK_BYTES - 1) / Limits.BLOCK_BYTES, 0);
            MetaSlot first = new MetaSlot(1, ck.rootAddress(), table.length, crc(table, table.length), List.of(tableRun));
            byte[] padded = java.util.Arrays.copyOf(table, tableRun.lengthBlocks() * Limits.BLOCK_BYTES);
            writeFully(channels.get(tableRun.volume()), java.nio.ByteBuffer.wrap(padded),
                    tableRun.startBlock() * Limits.BLOCK_BYTES, paths.get(tableRun.volume()));
            for (FileChannel ch : channels) {
                ch.force(true);
            }
            writeFully(channels.getFirst(), java.nio.ByteBuffer.wrap(first.encode()), slotBlock(1) * Limits.BLOCK_BYTES,
                    paths.getFirst());
            channels.getFirst().force(true);
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("cannot write the first checkpoint to " + paths.getFirst() + ": "
                    + e.getMessage(), e);
        } finally {
            for (FileChannel ch : channels) {
                try {
                    ch.close();
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "closing a new volume failed: {0}", e.getMessage());
                }
            }
        }
    }

    private static void writeFully(FileChannel ch, java.nio.ByteBuffer src, long position, Path path) {
        try {
            while (src.hasRemaining()) {
                position += ch.write(src, position);
            }
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("cannot write the first checkpoint to " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Hands out blocks for tree pages, noting each in {@code taken} (and forgetting released ones).
     * Blocks come from runs of up to {@code expected} blocks, so a checkpoint's pages lie together
     * (and are written in large requests); {@link PageRuns#close} frees what was not handed out.
     */
    private static final class PageRuns implements d4.engine.meta.tree.PageAllocator, AutoCloseable {
        private final SpaceMap space;
        private final List<Run> taken;
        private final java.util.function.Consumer<Run> reserveOnHost;
        private long left;
        private Run current;
        private int next;

        PageRuns(SpaceMap space, List<Run> taken, long expected, java.util.function.Consumer<Run> reserveOnHost) {
            this.space = space;
            this.taken = taken;
            this.left = Math.max(1, expected);
            this.reserveOnHost = reserveOnHost;
        }

        @Override
        public long allocate() {
            if (current == null || next == current.lengthBlocks()) {
                current = space.allocate((int) Math.min(left, Limits.IO_CHUNK_BYTES / Limits.BLOCK_BYTES), 0);
                next = 0;
                reserveOnHost.accept(current); // on NoSpace, close frees the run
            }
            Run r = new Run(current.volume(), current.startBlock() + next++, 1);
            left = Math.max(1, left - 1);
            taken.add(r);
            return VolumePages.address(r);
        }

        @Override
        public void release(long address) {
            Run r = VolumePages.run(address);
            Invariant.check(taken.remove(r), "release of page %d that this checkpoint did not allocate", address);
            space.free(r);
        }

        /** Frees the rest of the current run: never handed out, never written. */
        @Override
        public void close() {
            if (current != null && next < current.lengthBlocks()) {
                space.free(new Run(current.volume(), current.startBlock() + next, current.lengthBlocks() - next));
            }
            current = null;
        }
    }

    /** Runs of single blocks merged where they touch, in order. */
    static List<Run> coalesce(List<Run> blocks) {
        List<Run> sorted = new ArrayList<>(blocks);
        sorted.sort(Comparator.comparingInt(Run::volume).thenComparingLong(Run::startBlock));
        List<Run> out = new ArrayList<>();
        for (Run r : sorted) {
            Run last = out.isEmpty() ? null : out.getLast();
            if (last != null && last.volume() == r.volume() && last.endBlock() == r.startBlock()
                    && (long) last.lengthBlocks() + r.lengthBlocks() <= Integer.MAX_VALUE) {
                out.set(out.size() - 1, new Run(last.volume(), last.startBlock(), last.lengthBlocks() + r.lengthBlocks()));
            } else {
                out.add(r);
            }
        }
        return out;
    }

    private static long slotBlock(long generation) {
        return MetaSlot.slotFor(generation) == 0 ? Superblock.META_SLOT_A_BLOCK : Superblock.META_SLOT_B_BLOCK;
    }

    static int crc(byte[] b, int length) {
        CRC32C c = new CRC32C();
        c.update(b, 0, length);
        return (int) c.getValue();
    }

    // ------------------------------------------------------------------------------------------
    // Open

    /** Reads the superblock of a volume file without opening the pool (for status and discovery). */
    public static Superblock readSuperblock(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            byte[] block = new byte[Superblock.ENCODED_BYTES];
            ch.read(java.nio.ByteBuffer.wrap(block), 0);
            return Superblock.decode(block, "superblock of " + path);
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("cannot read volume " + path + ": " + e.getMessage(), e);
        }
    }

    /** Opens a pool from all of its volumes (any order), replays its journal and starts the flusher. */
    public static Pool open(List<Path> paths, PoolOptions options) {
        if (paths.isEmpty()) {
            throw new D4Exception.InvalidArgument("no volumes given");
        }
        List<Volume> volumes = new ArrayList<>();
        try {
            for (Path p : paths) {
                Drive drive = options.driveFactory().open(p, Limits.BLOCK_BYTES);
                volumes.add(null); // keep the slot so that the drive is closed if reading its superblock fails
                volumes.set(volumes.size() - 1, new Volume(p, null, drive));
                volumes.set(volumes.size() - 1, new Volume(p, readSuperblock(p, drive, options.readOnly()), drive));
            }
            volumes.sort(Comparator.comparingInt(v -> v.superblock().volumeIndex()));
            checkMembers(volumes);
            if (!options.readOnly()) {
                List<Volume> caughtUp = catchUpMemberCounts(volumes);
                volumes.clear();
                volumes.addAll(caughtUp);
            }
            return openVolumes(volumes, options);
        } catch (RuntimeException e) {
            for (Volume v : volumes) {
                if (v != null) {
                    try {
                        v.drive().close();
                    } catch (RuntimeException suppressed) {
                        e.addSuppressed(suppressed);
                    }
                }
            }
            throw e;
        }
    }

    private static Superblock readSuperblock(Path path, Drive drive, boolean readOnly) {
        if (drive.sizeBytes() < Limits.MIN_VOLUME_BYTES) {
            throw new D4Exception.Corruption(path + " is only " + drive.sizeBytes() + " bytes: too small to be a d4 volume"
                    + " (at least " + Limits.MIN_VOLUME_BYTES + "); check the path, or restore the file if it was truncated");
        }
        Superblock sb = readSuperblockCopies(path, drive, readOnly);
        if (drive.sizeBytes() < sb.sizeBytes()) {
            throw new D4Exception.Corruption("volume " + path + " is " + drive.sizeBytes() + " bytes but its superblock says "
                    + sb.sizeBytes() + ": the file was truncated or replaced; restore it from a backup");
        }
        return sb;
    }

    private static Superblock readSuperblockCopies(Path path, Drive drive, boolean readOnly) {
        byte[] primary = readBlock(drive, Superblock.SUPERBLOCK_BLOCK);
        try {
            return Superblock.decode(primary, "superblock of " + path);
        } catch (D4Exception.Corruption primaryDamage) {
            long copyBlock = drive.sizeBytes() / Limits.BLOCK_BYTES - 1;
            byte[] copy = readBlock(drive, copyBlock);
            Superblock sb;
            try {
                sb = Superblock.decode(copy, "superblock copy of " + path);
            } catch (D4Exception.Corruption copyDamage) {
                throw new D4Exception.Corruption("both superblocks of " + path + " are damaged or missing ("
                        + primaryDamage.getMessage() + "; " + copyDamage.getMessage()
                        + "). If this is a d4 volume, run d4 fsck; if not, check the path");
            }
            if (readOnly) {
                LOG.log(Level.WARNING, "primary superblock of {0} is damaged ({1}); using the copy in its last block"
                        + " (opened read-only: not repaired)", path, primaryDamage.getMessage());
                return sb;
            }
            LOG.log(Level.WARNING, "primary superblock of {0} is damaged ({1}); using the copy in its last block and"
                    + " rewriting the primary", path, primaryDamage.getMessage());
            writeBlock(drive, Superblock.SUPERBLOCK_BLOCK, copy);
            drive.flush();
            return sb;
        }
    }

    /**
     * The given volumes must be exactly the pool's members: one pool, indexes 0..n-1 once each, n as
     * volume 0's superblock says (volume 0 holds the authoritative member count: d4 volume add and
     * remove change it there first, so the others may lag behind after a crash; open catches them up).
     */
    private static void checkMembers(List<Volume> volumes) {
        Superblock first = volumes.getFirst().superblock();
        for (int i = 0; i < volumes.size(); i++) {
            Superblock sb = volumes.get(i).superblock();
            if (!sb.poolUuid().equals(first.poolUuid())) {
                throw new D4Exception.PoolUnavailable("volume " + volumes.get(i).path() + " belongs to pool " + sb.poolName()
                        + " (" + sb.poolUuid() + "), not to " + first.poolName() + " (" + first.poolUuid() + ")");
            }
        }
        if (first.volumeIndex() != 0) {
            throw new D4Exception.PoolUnavailable("pool " + first.poolName() + ": volume 0 (which holds the journal and the"
                    + " metadata root) was not given: attach it, or check the registry with d4 volume list");
        }
        int count = first.volumeCount();
        for (Volume v : volumes) {
            Superblock sb = v.superblock();
            if (sb.volumeIndex() >= count) {
                throw new D4Exception.PoolUnavailable("volume " + v.path() + " (index " + sb.volumeIndex()
                        + ") is no member of pool " + first.poolName() + " (volume 0 counts " + count + " volumes): a d4"
                        + " volume add of it was interrupted (run the same d4 volume add again to finish it), or it was"
                        + " removed (d4 volume remove --pool " + first.poolName() + " " + v.path() + " finishes that)");
            }
        }
        for (int i = 0; i < volumes.size(); i++) {
            Superblock sb = volumes.get(i).superblock();
            if (sb.volumeIndex() != i || volumes.size() != count) {
                throw new D4Exception.PoolUnavailable("pool " + first.poolName() + " has " + count
                        + " volumes but " + volumes.size() + " were given (or one is given twice): attach the missing"
                        + " volume or check the registry with d4 volume list");
            }
        }
    }

    /** Catches up the member count of volumes that missed a volume add or remove (a crash in between). */
    private static List<Volume> catchUpMemberCounts(List<Volume> volumes) {
        int count = volumes.getFirst().superblock().volumeCount();
        List<Volume> out = new ArrayList<>();
        for (Volume v : volumes) {
            if (v.superblock().volumeCount() == count) {
                out.add(v);
                continue;
            }
            Superblock fixed = v.superblock().withVolumeCount(count);
            byte[] block = java.util.Arrays.copyOf(fixed.encode(), Limits.BLOCK_BYTES);
            writeBlock(v.drive(), fixed.superblockCopyBlock(), block);
            v.drive().flush();
            writeBlock(v.drive(), Superblock.SUPERBLOCK_BLOCK, block);
            v.drive().flush();
            LOG.log(Level.INFO, "volume {0}: member count {1} caught up to {2} (a volume add or remove was interrupted)",
                    v.path(), String.valueOf(v.superblock().volumeCount()), String.valueOf(count));
            out.add(new Volume(v.path(), fixed, v.drive()));
        }
        return out;
    }

    private static Pool openVolumes(List<Volume> volumes, PoolOptions options) {
        Volume primary = volumes.getFirst();
        Superblock psb = primary.superblock();
        byte[] blockA = readBlock(primary.drive(), Superblock.META_SLOT_A_BLOCK);
        byte[] blockB = readBlock(primary.drive(), Superblock.META_SLOT_B_BLOCK);
        MetaSlot a = MetaSlot.decodeOrNull(blockA);
        MetaSlot b = MetaSlot.decodeOrNull(blockB);
        if (a == null && b == null) {
            int version = Math.max(MetaSlot.versionOf(blockA), MetaSlot.versionOf(blockB));
            if (version > 0 && version != 2) {
                throw new D4Exception.PoolUnavailable("the meta slots of " + primary.path() + " have metadata format version "
                        + version + "; this d4 reads version 2: use the d4 release that formatted the pool");
            }
            throw new D4Exception.Corruption("both meta slots of " + primary.path()
                    + " are damaged: the pool's metadata root is lost; run d4 fsck");
        }
        MetaSlot slot = a == null ? b : b == null ? a : a.generation() > b.generation() ? a : b;
        byte[] table = readRuns(volumes, slot.tableRuns(), slot.tableBytes());
        if (crc(table, table.length) != slot.tableCrc()) {
            throw new D4Exception.Corruption("the checkpoint space table of generation " + slot.generation()
                    + " fails its CRC32C check: the metadata is damaged; run d4 fsck");
        }
        MetaSlot.SpaceTable spaceTable = MetaSlot.SpaceTable.decode(table);
        IoBuffers buffers = new IoBuffers(16);
        VolumePages pages = new VolumePages(volumes, buffers);
        try {
            return openTree(volumes, options, slot, spaceTable, buffers, pages);
        } catch (RuntimeException | Error e) {
            pages.close();
            buffers.close();
            throw e;
        }
    }

    private static Pool openTree(List<Volume> volumes, PoolOptions options, MetaSlot slot,
            MetaSlot.SpaceTable spaceTable, IoBuffers buffers, VolumePages pages) {
        Volume primary = volumes.getFirst();
        Superblock psb = primary.superblock();
        d4.engine.meta.tree.Tree tree = d4.engine.meta.tree.Tree.open(pages, slot.treeRoot(), slot.generation(),
                options.metadataCacheBytes());
        Index index = Index.open(tree);
        index.setVolumeCount(volumes.size());
        long[] starts = volumes.stream().mapToLong(v -> v.superblock().dataStartBlock()).toArray();
        long[] ends = volumes.stream().mapToLong(v -> v.superblock().dataEndBlock()).toArray();
        SpaceMap space = new SpaceMap(starts, ends);
        index.forEachSpaceChunk(space::loadChunk);
        // Read-only (fsck) or rebuilding: note every inconsistency of the free-space records and go on.
        boolean rebuild = options.rebuildFreeSpace() && !options.readOnly();
        boolean tolerant = options.readOnly() || rebuild;
        List<String> spaceProblems = new ArrayList<>();
        java.util.function.BiConsumer<Run, String> markUsed = (run, owner) -> {
            try {
                space.markUsed(run, owner);
            } catch (D4Exception.Corruption e) {
                if (!tolerant) {
                    throw e;
                }
                spaceProblems.add(e.getMessage());
            }
        };
        java.util.function.BiConsumer<Run, String> markFree = (run, owner) -> {
            try {
                if (!space.isUsed(run)) {
                    throw new D4Exception.Corruption(owner + " frees " + run + ", which the free-space records already"
                            + " show free: the metadata is damaged; run d4 fsck");
                }
                space.free(run);
            } catch (D4Exception.Corruption e) {
                if (!tolerant) {
                    throw e;
                }
                spaceProblems.add(e.getMessage());
            }
        };
        for (Run r : spaceTable.used()) {
            markUsed.accept(r, "the checkpoint of generation " + slot.generation());
        }
        for (Run r : spaceTable.freed()) {
            markFree.accept(r, "the checkpoint of generation " + slot.generation());
        }
        for (Run r : slot.tableRuns()) {
            markUsed.accept(r, "the checkpoint space table");
        }
        Journal journal = new Journal(primary.drive(), psb.journalStartBlock(), psb.journalBlocks());
        long journalEpoch = journal.firstRecordEpoch();
        if (journalEpoch > slot.generation()) {
            // Records of a later epoch exist only once that epoch's meta slot was durable: it was,
            // and it is damaged now. Opening the older slot would silently roll the pool back.
            throw new D4Exception.Corruption("the meta slot of generation " + journalEpoch + " on " + primary.path()
                    + " is damaged (the journal already holds its records): opening the older slot would lose"
                    + " acknowledged changes. Do not write to this pool; run d4 fsck");
        }
        Journal.Replay replay;
        try {
            // Replayed records are durable: their frees take effect at once, and the blocks their
            // extents map were free at the checkpoint (see checkpointOrNoSpace).
            replay = journal.replay(slot.generation(), ops -> {
                for (Op op : ops) {
                    if (op instanceof Op.PutExtent p) {
                        for (Run r : p.extent().runs()) {
                            markUsed.accept(r, "object " + p.id() + " (journal)");
                        }
                    }
                    index.apply(op, run -> markFree.accept(run, "the journal"));
                }
            });
        } catch (IllegalStateException e) {
            throw new D4Exception.Corruption("the journal does not fit the checkpoint it follows (" + e.getMessage()
                    + "): the metadata is damaged; run d4 fsck");
        }
        Pool pool = new Pool(psb.poolName(), psb.poolUuid(), List.copyOf(volumes), index, pages, buffers, space, journal,
                slot, options);
        pool.spaceProblems = List.copyOf(spaceProblems);
        if (rebuild) {
            pool.rebuildFreeSpace(spaceProblems.size());
        }
        if (options.readOnly()) {
            pool.readOnly = true;
            return pool; // no checkpoint, no flusher: nothing is written
        }
        if (replay.records() > 0) {
            LOG.log(Level.INFO, "pool {0}: replayed {1} journal records after an unclean shutdown", psb.poolName(),
                    String.valueOf(replay.records()));
        }
        // Every open starts a new epoch with a checkpoint, also when nothing was replayed: records of
        // an epoch are then only ever written by one session, so replay can treat any intact later
        // batch of its epoch as acknowledged (see Journal.replay) without stale ones from a torn
        // earlier session in the way.
        try {
            // The journal and meta slots are rewritten in place for the pool's life: reserve them on
            // the host now, so that a full host file system shows at open, not at the first sync.
            for (int i = 0; i < volumes.size(); i++) {
                pool.reserveOnHost(new Run(i, 0, (int) volumes.get(i).superblock().dataStartBlock()));
            }
            pool.lock.writeLock().lock();
            try {
                pool.checkpoint();
            } finally {
                pool.lock.writeLock().unlock();
            }
        } catch (RuntimeException | Error e) {
            pool.preallocations.forEach(Preallocation::close); // Pool.open closes the drives
            throw e;
        }
        pool.flusher.start();
        return pool;
    }

    private static byte[] readBlock(Drive drive, long block) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(Limits.BLOCK_BYTES, Limits.BLOCK_BYTES);
            drive.read(block * Limits.BLOCK_BYTES, seg);
            return seg.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private static void writeBlock(Drive drive, long block, byte[] content) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(Limits.BLOCK_BYTES, Limits.BLOCK_BYTES);
            MemorySegment.copy(content, 0, seg, ValueLayout.JAVA_BYTE, 0, Math.min(content.length, Limits.BLOCK_BYTES));
            drive.write(block * Limits.BLOCK_BYTES, seg);
        }
    }

    private static byte[] readRuns(List<Volume> volumes, List<Run> runs, long bytes) {
        if (bytes > Integer.MAX_VALUE - 16) {
            throw new D4Exception.Corruption("the checkpoint space table claims " + bytes + " bytes: the meta slot is damaged");
        }
        byte[] out = new byte[(int) bytes];
        int pos = 0;
        for (Run r : runs) {
            if (r.volume() >= volumes.size()) {
                throw new D4Exception.Corruption("the checkpoint space table lies in " + r + ", on a volume the pool does not"
                        + " have: the meta slot is damaged; run d4 fsck");
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = arena.allocate((long) r.lengthBlocks() * Limits.BLOCK_BYTES, Limits.BLOCK_BYTES);
                volumes.get(r.volume()).drive().read(r.startBlock() * Limits.BLOCK_BYTES, seg);
                int n = (int) Math.min(seg.byteSize(), bytes - pos);
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, 0, out, pos, n);
                pos += n;
            }
        }
        if (pos != bytes) {
            throw new D4Exception.Corruption("the checkpoint space table's runs hold " + pos + " bytes, the meta slot says "
                    + bytes + ": the meta slot is damaged; run d4 fsck");
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------
    // Reads

    public String name() {
        return name;
    }

    public UUID uuid() {
        return uuid;
    }

    public Optional<ObjectInfo> find(ObjectId id) {
        lock.readLock().lock();
        try {
            checkOpen();
            return index.find(id.value());
        } finally {
            lock.readLock().unlock();
        }
    }

    public ObjectInfo get(ObjectId id) {
        return find(id).orElseThrow(() -> new D4Exception.ObjectNotFound(id));
    }

    /** The value of one entry, or empty. */
    public Optional<byte[]> entry(ObjectId owner, byte[] key) {
        lock.readLock().lock();
        try {
            checkOpen();
            return Optional.ofNullable(index.entry(owner.value(), key));
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Up to {@code limit} entries whose key starts with {@code prefix}, after {@code afterKey} (null: from the first). */
    public List<Entry> entries(ObjectId owner, byte[] prefix, byte[] afterKey, int limit) {
        lock.readLock().lock();
        try {
            checkOpen();
            return index.entries(owner.value(), prefix, afterKey, limit);
        } finally {
            lock.readLock().unlock();
        }
    }

    public boolean hasEntries(ObjectId owner, byte[] prefix) {
        lock.readLock().lock();
        try {
            checkOpen();
            return index.hasEntries(owner.value(), prefix);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Reads up to {@code dst.byteSize()} bytes at {@code offset}; returns the count (0 at or past the
     * end). Holes read as zeros. Every block read is verified against its CRC32C: a mismatch throws
     * {@link D4Exception.Corruption} and no damaged byte is returned as data.
     */
    public int read(ObjectId id, long offset, MemorySegment dst) {
        if (offset < 0) {
            throw new D4Exception.InvalidArgument("negative offset " + offset);
        }
        MemorySegment buf = buffers.take();
        try {
            int n;
            List<Extent> extents;
            int pin;
            lock.readLock().lock();
            try {
                checkOpen();
                long size = index.sizeBytes(id.value());
                if (offset >= size || dst.byteSize() == 0) {
                    return 0;
                }
                n = (int) Math.min(Math.min(dst.byteSize(), size - offset), Integer.MAX_VALUE);
                extents = index.extents(id.value(), offset / Limits.BLOCK_BYTES,
                        (offset + n + Limits.BLOCK_BYTES - 1) / Limits.BLOCK_BYTES);
                // The extent map is read; the device reads need no lock, only that the blocks are
                // not handed out again meanwhile: the pin holds back their release.
                pin = readPins.enter(freeGeneration.get());
                if (pin < 0) {
                    readRange(id, extents, offset, n, dst, buf); // every pin taken: read under the lock
                    return n;
                }
            } finally {
                lock.readLock().unlock();
            }
            try {
                readRange(id, extents, offset, n, dst, buf);
            } finally {
                readPins.exit(pin);
            }
            return n;
        } finally {
            buffers.give(buf);
        }
    }

    /** Reads bytes [offset, offset + n) of an object, mapped by {@code extents}, through {@code buf}. */
    private void readRange(ObjectId id, List<Extent> extents, long offset, int n, MemorySegment dst, MemorySegment buf) {
        long pos = offset;
        long end = offset + n;
        int cursor = 0;
        while (pos < end) {
            long block = pos / Limits.BLOCK_BYTES;
            long chunkEndBlock = Math.min((end + Limits.BLOCK_BYTES - 1) / Limits.BLOCK_BYTES,
                    block + Limits.IO_CHUNK_BYTES / Limits.BLOCK_BYTES);
            while (cursor < extents.size() && extents.get(cursor).endLogicalBlock() <= block) {
                cursor++; // sorted by logical block: extents before this chunk are done
            }
            readExtents(id, extents, cursor, block, chunkEndBlock, buf);
            long chunkEnd = Math.min(end, chunkEndBlock * Limits.BLOCK_BYTES);
            MemorySegment.copy(buf, pos - block * Limits.BLOCK_BYTES, dst, pos - offset, chunkEnd - pos);
            pos = chunkEnd;
        }
    }

    /** Fills {@code buf} with logical blocks [from, to) of the object, verified; holes are zeros. */
    private void readBlocks(ObjectId id, long from, long to, MemorySegment buf) {
        readExtents(id, index.extents(id.value(), from, to), 0, from, to, buf);
    }

    /**
     * Fills {@code buf} with logical blocks [from, to) from {@code extents} (sorted, starting at
     * {@code first}; those past {@code to} are ignored), verified; holes are zeros.
     */
    private void readExtents(ObjectId id, List<Extent> extents, int first, long from, long to, MemorySegment buf) {
        if (readPiecesAtOnce(extents, first, from, to, buf)) {
            verifyExtents(id, extents, first, from, to, buf);
            return;
        }
        long next = from;
        for (int i = first; i < extents.size() && extents.get(i).logicalBlock() < to; i++) {
            Extent e = extents.get(i);
            long s = Math.max(from, e.logicalBlock());
            long t = Math.min(to, e.endLogicalBlock());
            if (t <= s) {
                continue;
            }
            if (s > next) {
                buf.asSlice((next - from) * Limits.BLOCK_BYTES, (s - next) * Limits.BLOCK_BYTES).fill((byte) 0);
            }
            MemorySegment part = buf.asSlice((s - from) * Limits.BLOCK_BYTES, (t - s) * Limits.BLOCK_BYTES);
            Volume v = volumes.get(e.volume());
            long physical = e.physicalBlock() + (s - e.logicalBlock());
            boolean readFailed = false;
            try {
                deviceRead(v, physical * Limits.BLOCK_BYTES, part);
            } catch (D4Exception.DriveFailure f) {
                if (!e.mirrored()) {
                    throw f;
                }
                readFailed = true; // every block of the range comes from the other copy below
            }
            CRC32C crc = new CRC32C();
            for (long b = s; b < t; b++) {
                MemorySegment block = part.asSlice((b - s) * Limits.BLOCK_BYTES, Limits.BLOCK_BYTES);
                crc.reset();
                crc.update(block.asByteBuffer());
                if (readFailed || (int) crc.getValue() != e.crcOf(b)) {
                    checksumFailures.incrementAndGet();
                    if (!e.mirrored() || !readOtherCopy(id, e, b, block)) {
                        throw damaged(id, e, b);
                    }
                }
            }
            next = t;
        }
        if (next < to) {
            buf.asSlice((next - from) * Limits.BLOCK_BYTES, (to - next) * Limits.BLOCK_BYTES).fill((byte) 0);
        }
    }

    /**
     * A range that maps to several extents on one volume (a file written at random, then read in
     * order) is read as one batch: the drive has all its pieces in flight at once, instead of one
     * device read after another. Holes are zero-filled. False when it does not apply (one piece, or
     * pieces on several volumes, or a buffer without a batch) or a read failed: the caller then reads
     * piece by piece, which also falls back to the other copy in two-copy pools.
     */
    private boolean readPiecesAtOnce(List<Extent> extents, int first, long from, long to, MemorySegment buf) {
        int pieces = 0;
        int volume = -1;
        for (int i = first; i < extents.size() && extents.get(i).logicalBlock() < to; i++) {
            Extent e = extents.get(i);
            if (e.endLogicalBlock() <= from) {
                continue;
            }
            if (volume >= 0 && e.volume() != volume) {
                return false;
            }
            volume = e.volume();
            pieces++;
        }
        IoBatch batch = pieces > 1 ? buffers.batchFor(buf) : null;
        if (batch == null) {
            return false;
        }
        batch.clear();
        long next = from;
        for (int i = first; i < extents.size() && extents.get(i).logicalBlock() < to; i++) {
            Extent e = extents.get(i);
            long s = Math.max(from, e.logicalBlock());
            long t = Math.min(to, e.endLogicalBlock());
            if (t <= s) {
                continue;
            }
            if (s > next) {
                buf.asSlice((next - from) * Limits.BLOCK_BYTES, (s - next) * Limits.BLOCK_BYTES).fill((byte) 0);
            }
            batch.read((e.physicalBlock() + (s - e.logicalBlock())) * Limits.BLOCK_BYTES,
                    buf.asSlice((s - from) * Limits.BLOCK_BYTES, (t - s) * Limits.BLOCK_BYTES));
            next = t;
        }
        if (next < to) {
            buf.asSlice((next - from) * Limits.BLOCK_BYTES, (to - next) * Limits.BLOCK_BYTES).fill((byte) 0);
        }
        try {
            volumes.get(volume).drive().submit(batch);
            return true;
        } catch (D4Exception.DriveFailure f) {
            return false; // read again piece by piece: it names the failing piece, or uses the other copy
        } finally {
            batch.clear();
        }
    }

    private D4Exception.Corruption damaged(ObjectId id, Extent e, long b) {
        return new D4Exception.Corruption("data block " + b + " (bytes " + b * Limits.BLOCK_BYTES + "-"
                + ((b + 1) * Limits.BLOCK_BYTES - 1) + ") of object " + id.value() + " fails its checksum"
                + (e.mirrored() ? " in both copies" : "") + " (volume " + volumes.get(e.volume()).path() + ", block "
                + (e.physicalBlock() + (b - e.logicalBlock())) + "): the drive returned damaged data");
    }

    /** Checks every block read by {@link #readPiecesAtOnce} against its CRC32C (the other copy if it fails). */
    private void verifyExtents(ObjectId id, List<Extent> extents, int first, long from, long to, MemorySegment buf) {
        CRC32C crc = new CRC32C();
        for (int i = first; i < extents.size() && extents.get(i).logicalBlock() < to; i++) {
            Extent e = extents.get(i);
            long s = Math.max(from, e.logicalBlock());
            long t = Math.min(to, e.endLogicalBlock());
            for (long b = s; b < t; b++) {
                MemorySegment block = buf.asSlice((b - from) * Limits.BLOCK_BYTES, Limits.BLOCK_BYTES);
                crc.reset();
                crc.update(block.asByteBuffer());
                if ((int) crc.getValue() != e.crcOf(b)) {
                    checksumFailures.incrementAndGet();
                    if (!e.mirrored() || !readOtherCopy(id, e, b, block)) {
                        throw damaged(id, e, b);
                    }
                }
            }
        }
    }

    /**
     * Checks the engine's own invariants (fsck): every page of the metadata tree (checksums, shape,
     * key order), every record (extent maps, sizes, counts), and free space against what the
     * metadata references: blocks referenced twice or outside a volume's data area, blocks in use
     * that the free-space map shows free, and blocks it shows used that nothing references (leaked).
     * Inconsistent free-space records met at open are reported too (a read-only open collects them
     * instead of failing). Returns one line per problem. Reads the whole tree, holding the pool's
     * write lock (writers wait; fsck runs it on a pool it opened alone).
     */
    public List<String> checkInvariants() {
        lock.writeLock().lock(); // staged writes and discards (read lock) move blocks: see them still
        try {
            checkOpen();
            List<String> problems = new ArrayList<>(spaceProblems);
            d4.engine.meta.tree.VerifyReport report = index.tree().verify();
            for (var p : report.problems()) {
                problems.add(p.what()); // the verifier names the page itself
            }
            if (!report.ok()) {
                return problems; // records and references cannot be trusted beyond a damaged page
            }
            problems.addAll(index.check());
            problems.addAll(checkSpace());
            return problems;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Compares the free-space map with the blocks the metadata references (see {@link #checkInvariants}). */
    private List<String> checkSpace() {
        List<String> problems = new ArrayList<>();
        SpaceMap referenced = referencedSpace(problems);
        long missing = blocksIn(referenced.usedNotIn(space));
        long leaked = blocksIn(space.usedNotIn(referenced));
        if (missing > 0) {
            problems.add(missing + " blocks in use are marked free in the free-space map (they could be handed out"
                    + " twice)");
        }
        if (leaked > 0) {
            problems.add(leaked + " blocks are marked used in the free-space map but nothing references them (leaked"
                    + " space)");
        }
        return problems;
    }

    /**
     * A free-space map built from what the metadata references: the tree's pages, the space table,
     * frees awaiting their commit and every extent. Blocks referenced twice go to {@code problems}.
     */
    private SpaceMap referencedSpace(List<String> problems) {
        long[] starts = volumes.stream().mapToLong(v -> v.superblock().dataStartBlock()).toArray();
        long[] ends = volumes.stream().mapToLong(v -> v.superblock().dataEndBlock()).toArray();
        SpaceMap referenced = new SpaceMap(starts, ends);
        java.util.function.BiConsumer<Run, String> mark = (run, owner) -> {
            try {
                referenced.markUsed(run, owner);
            } catch (D4Exception.Corruption e) {
                if (problems.size() < 100) {
                    problems.add(e.getMessage());
                }
            }
        };
        index.tree().forEachPageAddress(a -> mark.accept(VolumePages.run(a), "a metadata page"));
        for (Run r : slot.tableRuns()) {
            mark.accept(r, "the checkpoint space table");
        }
        synchronized (pendingFrees) {
            for (PendingFree f : pendingFrees) {
                mark.accept(f.run(), "a free awaiting its commit");
            }
        }
        index.forEachRun((id, run) -> mark.accept(run, "object " + id));
        synchronized (staged) {
            for (Run r : staged) {
                mark.accept(r, "a write being staged");
            }
        }
        return referenced;
    }

    /**
     * fsck --repair: makes the free-space map say exactly what the metadata references (leaked blocks
     * become free, referenced blocks marked free become used) and checkpoints it. Refuses when a
     * block is referenced twice (that needs the objects repaired, not the map). Returns what it
     * changed (or what an open with {@link PoolOptions#rebuildFreeSpace()} changed), or empty when
     * the map was right.
     */
    public Optional<String> repairFreeSpace() {
        lock.writeLock().lock();
        try {
            checkWritable();
            syncLocked();
            List<String> problems = new ArrayList<>();
            SpaceMap referenced = referencedSpace(problems);
            if (!problems.isEmpty()) {
                throw new D4Exception.Corruption("free space cannot be rebuilt while blocks are referenced twice: "
                        + problems.getFirst());
            }
            List<Run> leaked = space.usedNotIn(referenced);
            List<Run> missing = referenced.usedNotIn(space);
            Optional<String> atOpen = Optional.ofNullable(freeSpaceRebuilt);
            freeSpaceRebuilt = null;
            if (leaked.isEmpty() && missing.isEmpty()) {
                return atOpen; // the open's checkpoint stored the map rebuilt then
            }
            for (Run r : leaked) {
                space.free(r);
            }
            for (Run r : missing) {
                space.markUsed(r, "fsck");
            }
            checkpoint();
            return Optional.of("rebuilt the free-space map: " + blocksIn(leaked) + " leaked blocks freed, "
                    + blocksIn(missing) + " blocks in use marked used");
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Replaces the free-space map by one built from the metadata (open with rebuildFreeSpace). */
    private void rebuildFreeSpace(int inconsistentRecords) {
        List<String> problems = new ArrayList<>();
        SpaceMap referenced = referencedSpace(problems);
        if (!problems.isEmpty()) {
            throw new D4Exception.Corruption("free space cannot be rebuilt: " + problems.getFirst() + " (a block that two"
                    + " files share needs one of them restored from a backup)");
        }
        long leaked = blocksIn(space.usedNotIn(referenced));
        long missing = blocksIn(referenced.usedNotIn(space));
        space.replaceWith(referenced);
        spaceProblems = List.of();
        if (leaked > 0 || missing > 0 || inconsistentRecords > 0) {
            freeSpaceRebuilt = "rebuilt the free-space map: " + leaked + " leaked blocks freed, " + missing
                    + " blocks in use marked used" + (inconsistentRecords > 0 ? ", " + inconsistentRecords
                    + " inconsistent free-space records replaced" : "");
        }
        LOG.log(Level.INFO, "pool {0}: free space rebuilt from the metadata ({1})", name,
                freeSpaceRebuilt == null ? "it was right" : freeSpaceRebuilt);
    }

    private static long blocksIn(List<Run> runs) {
        long n = 0;
        for (Run r : runs) {
            n += r.lengthBlocks();
        }
        return n;
    }

    /** Every object id in the pool (the pool object 0 included), in order. */
    public List<ObjectId> objectIds() {
        lock.readLock().lock();
        try {
            checkOpen();
            return index.objectIds().stream().map(ObjectId::new).toList();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** A byte range of an object whose stored data fails its checksum (or cannot be read). */
    public record DamagedRange(long fromByte, long toByte, String detail, boolean repairable) {
        /** Data that no copy holds intact any more. */
        public DamagedRange(long fromByte, long toByte, String detail) {
            this(fromByte, toByte, detail, false);
        }
    }

    /**
     * Reads every mapped block of an object and checks it against its checksum (scrub): returns the
     * damaged ranges, merged where adjacent, in order. Works in chunks of {@link Limits#IO_CHUNK_BYTES},
     * taking the read lock for each, so writers are not held up; each chunk is checked against the
     * extents current at that moment. {@code paceBytes} is called after each chunk with the bytes
     * read, so the caller can limit the rate and report progress.
     */
    public List<DamagedRange> verify(ObjectId id, java.util.function.LongConsumer paceBytes) {
        List<DamagedRange> out = new ArrayList<>();
        int chunkBlocks = Limits.IO_CHUNK_BYTES / Limits.BLOCK_BYTES;
        long block = 0;
        while (true) {
            long chunkStart;
            long chunkEnd;
            long readBytes = 0;
            lock.readLock().lock();
            try {
                checkOpen();
                if (!index.exists(id.value())) {
                    return out;
                }
                Extent next = index.nextExtent(id.value(), block);
                if (next == null) {
                    return out;
                }
                chunkStart = Math.max(block, next.logicalBlock());
                chunkEnd = chunkStart + chunkBlocks;
                MemorySegment buf = buffers.take();
                try {
                    for (Extent e : index.extents(id.value(), chunkStart, chunkEnd)) {
                        long s = Math.max(chunkStart, e.logicalBlock());
                        long t = Math.min(chunkEnd, e.endLogicalBlock());
                        readBytes += (t - s) * Limits.BLOCK_BYTES;
                        verifyRange(id, e, s, t, buf, out);
                    }
                } finally {
                    buffers.give(buf);
                }
            } finally {
                lock.readLock().unlock();
            }
            paceBytes.accept(readBytes);
            block = chunkEnd;
        }
    }

    /**
     * Re-reads the published metadata from the drives and checks it (scrub): the newest meta slot
     * as stored, its space table against its CRC32C, and every page of the published metadata tree
     * (checksum, identity, shape, key order). The tree is walked without the pool's lock (commits go
     * on; checkpoints are held back, see {@link #checkpointGate}). Returns the problems found, each
     * naming the structure; empty when all is intact. The journal is checked at every open by replay.
     */
    public List<String> verifyMetadata() {
        List<String> problems = new ArrayList<>();
        d4.engine.meta.tree.Tree.Published published;
        lock.readLock().lock();
        try {
            checkOpen();
            Volume primary = volumes.getFirst();
            MetaSlot stored;
            try {
                stored = MetaSlot.decodeOrNull(readBlock(primary.drive(), slotBlock(slot.generation())));
            } catch (D4Exception e) {
                stored = null;
            }
            if (stored == null || stored.generation() != slot.generation()) {
                problems.add("meta slot of generation " + slot.generation() + " in " + primary.path()
                        + " is damaged on disk (the other slot still holds the previous generation)");
            }
            try {
                byte[] table = readRuns(volumes, slot.tableRuns(), slot.tableBytes());
                if (crc(table, table.length) != slot.tableCrc()) {
                    problems.add("checkpoint space table of generation " + slot.generation() + " fails its CRC32C check");
                }
            } catch (D4Exception e) {
                problems.add("checkpoint space table of generation " + slot.generation() + " cannot be read: "
                        + e.getMessage());
            }
            published = index.tree().published();
            checkpointGate.readLock().lock(); // before the pool lock goes: no checkpoint in between
        } finally {
            lock.readLock().unlock();
        }
        // Reading every page takes a while on a big pool: writers go on meanwhile (they change only
        // pages in memory); only checkpoints, which would free the pages walked here, wait or skip.
        try {
            for (var p : index.tree().verify(published).problems()) {
                problems.add(p.what()); // the verifier names the page itself
            }
        } finally {
            checkpointGate.readLock().unlock();
        }
        return problems;
    }

    private void verifyRange(ObjectId id, Extent e, long from, long to, MemorySegment buf, List<DamagedRange> out) {
        int blocks = (int) (to - from);
        MemorySegment first = buf.asSlice(0, (long) blocks * Limits.BLOCK_BYTES);
        boolean[] firstBad = readAndCheck(e.volume(), e.physicalBlock() + (from - e.logicalBlock()), e, from, first);
        if (!e.mirrored()) {
            Volume v = volumes.get(e.volume());
            for (int i = 0; i < blocks; i++) {
                if (firstBad[i]) {
                    long b = from + i;
                    addDamage(out, b * Limits.BLOCK_BYTES, (b + 1) * Limits.BLOCK_BYTES, "checksum mismatch or read error"
                            + " (volume " + v.path() + ", block " + (e.physicalBlock() + (b - e.logicalBlock())) + ")");
                }
            }
            return;
        }
        // Two copies: check the second too, and rewrite whichever copy is damaged from the good one.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment second = arena.allocate((long) blocks * Limits.BLOCK_BYTES, Limits.BLOCK_BYTES);
            long secondStart = e.mirrorPhysicalBlock() + (from - e.logicalBlock());
            boolean[] secondBad = readAndCheck(e.mirrorVolume(), secondStart, e, from, second);
            for (int i = 0; i < blocks; i++) {
                long b = from + i;
                long offset = (long) i * Limits.BLOCK_BYTES;
                if (firstBad[i] && secondBad[i]) {
                    addDamage(out, b * Limits.BLOCK_BYTES, (b + 1) * Limits.BLOCK_BYTES, "both copies damaged (volume "
                            + volumes.get(e.volume()).path() + ", block " + (e.physicalBlock() + (b - e.logicalBlock()))
                            + "; volume " + volumes.get(e.mirrorVolume()).path() + ", block " + (secondStart + i) + ")");
                } else if (firstBad[i] || secondBad[i]) {
                    int badVolume = firstBad[i] ? e.volume() : e.mirrorVolume();
                    long badBlock = firstBad[i] ? e.physicalBlock() + (b - e.logicalBlock()) : secondStart + i;
                    MemorySegment good = (firstBad[i] ? second : first).asSlice(offset, Limits.BLOCK_BYTES);
                    if (readOnly) {
                        // A check (fsck without --repair) writes nothing: report what a repair would rewrite.
                        out.add(new DamagedRange(b * Limits.BLOCK_BYTES, (b + 1) * Limits.BLOCK_BYTES, "one copy damaged"
                                + " (volume " + volumes.get(badVolume).path() + ", block " + badBlock + "); the other is"
                                + " intact", true));
                    } else {
                        volumes.get(badVolume).drive().write(badBlock * Limits.BLOCK_BYTES, good);
                        repairedBlocks.incrementAndGet();
                        LOG.log(Level.WARNING, "pool {0}: scrub rewrote block {1} of object {2} on {3} (block {4}) from its"
                                + " other copy", name, b, id.value(), volumes.get(badVolume).path(), badBlock);
                    }
                }
            }
        }
    }

    /** Reads blocks of one copy and marks those that fail their checksum (all of them on a read error). */
    private boolean[] readAndCheck(int volume, long physicalStart, Extent e, long fromLogical, MemorySegment dst) {
        int blocks = (int) (dst.byteSize() / Limits.BLOCK_BYTES);
        boolean[] bad = new boolean[blocks];
        try {
            volumes.get(volume).drive().read(physicalStart * Limits.BLOCK_BYTES, dst);
        } catch (D4Exception.DriveFailure f) {
            java.util.Arrays.fill(bad, true);
            checksumFailures.addAndGet(blocks);
            return bad;
        }
        CRC32C crc = new CRC32C();
        for (int i = 0; i < blocks; i++) {
            crc.reset();
            crc.update(dst.asSlice((long) i * Limits.BLOCK_BYTES, Limits.BLOCK_BYTES).asByteBuffer());
            if ((int) crc.getValue() != e.crcOf(fromLogical + i)) {
                bad[i] = true;
                checksumFailures.incrementAndGet();
            }
        }
        return bad;
    }

    private static void addDamage(List<DamagedRange> out, long from, long to, String detail) {
        if (!out.isEmpty() && out.getLast().toByte() == from && !out.getLast().repairable()) {
            DamagedRange last = out.removeLast();
            out.add(new DamagedRange(last.fromByte(), to, last.detail()));
        } else {
            out.add(new DamagedRange(from, to, detail));
        }
    }

    /**
     * The first copy of logical block {@code b} is damaged: reads the second into {@code block}; if
     * it verifies, rewrites the first copy in place with it (the extent's checksum already describes
     * these bytes, so no metadata changes, and a crash mid-rewrite leaves the good copy) and counts
     * a repair. Returns false when the second copy is damaged too.
     */
    private boolean readOtherCopy(ObjectId id, Extent e, long b, MemorySegment block) {
        long offset = b - e.logicalBlock();
        Volume mirror = volumes.get(e.mirrorVolume());
        try {
            mirror.drive().read((e.mirrorPhysicalBlock() + offset) * Limits.BLOCK_BYTES, block);
        } catch (D4Exception.DriveFailure f) {
            return false;
        }
        CRC32C crc = new CRC32C();
        crc.update(block.asByteBuffer());
        if ((int) crc.getValue() != e.crcOf(b)) {
            checksumFailures.incrementAndGet();
            return false;
        }
        Volume primary = volumes.get(e.volume());
        long physical = e.physicalBlock() + offset;
        if (!readOnly) {
            try {
                primary.drive().write(physical * Limits.BLOCK_BYTES, block);
                repairedBlocks.incrementAndGet();
                LOG.log(Level.WARNING, "pool {0}: block {1} of object {2} was damaged on {3} (block {4}); rewritten from"
                        + " its copy on {5}", name, b, id.value(), primary.path(), physical, mirror.path());
            } catch (D4Exception e2) {
                LOG.log(Level.WARNING, "pool {0}: block {1} of object {2} is damaged on {3} and could not be rewritten"
                        + " ({4}); reads use the copy on {5}", name, b, id.value(), primary.path(), e2.getMessage(),
                        mirror.path());
            }
        }
        return true;
    }

    public PoolInfo info() {
        lock.readLock().lock();
        try {
            List<PoolInfo.VolumeInfo> vols = new ArrayList<>();
            long capacity = 0;
            for (Volume v : volumes) {
                int i = v.superblock().volumeIndex();
                long cap = space.capacityBlocks(i) * Limits.BLOCK_BYTES;
                capacity += cap;
                vols.add(new PoolInfo.VolumeInfo(i, v.path(), v.superblock().volumeUuid(), v.superblock().sizeBytes(), cap,
                        space.freeBlocks(i) * Limits.BLOCK_BYTES, v.drive().stats()));
            }
            // Blocks freed by commits not yet durable count as free, as on ext4 (an allocation that
            // needs them syncs first, see allocateData).
            long pending = 0;
            synchronized (pendingFrees) {
                for (PendingFree f : pendingFrees) {
                    pending += f.run().lengthBlocks();
                }
            }
            long available = Math.max(0, space.freeBlocks() + pending - reserveBlocks()) * Limits.BLOCK_BYTES;
            // With two copies every block of data takes two: report what files can still hold.
            return new PoolInfo(name, uuid, Limits.BLOCK_BYTES, vols, capacity / copies, available / copies,
                    index.objectCount(), volumes.getFirst().drive().engine(), checksumFailures.get(), copies,
                    repairedBlocks.get(), metadataLocked());
        } finally {
            lock.readLock().unlock();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Writes

    /**
     * Writes {@code src} at {@code offset} of an object to newly allocated blocks, holding the pool's
     * lock (shared) only to allocate and to read the old content of partial end blocks: the device
     * writes of concurrent writers overlap, and readers are not held up by them. A transaction then
     * maps the blocks with {@link Txn#write(StagedWrite)}; close the result in every case (it frees
     * the blocks unless a transaction took them). The caller keeps {@code src} valid until then.
     *
     * @throws D4Exception.NoSpace when the pool has no room; nothing of this write is kept
     */
    public StagedWrite stage(ObjectId id, long offset, MemorySegment src) {
        long length = src.byteSize();
        if (offset < 0 || offset > Limits.MAX_OBJECT_BYTES - length) {
            throw new D4Exception.InvalidArgument("write of " + length + " bytes at " + offset + " is beyond the largest object");
        }
        StagedWrite s = new StagedWrite(this, id, offset, src);
        if (length == 0) {
            return s;
        }
        stagesInFlight.incrementAndGet();
        try {
            if (closing) {
                throw new D4Exception.PoolClosed("pool " + name + " is closing");
            }
            long end = offset + length;
            long endBlock = (end + Limits.BLOCK_BYTES - 1) / Limits.BLOCK_BYTES;
            int chunkBlocks = Math.min(Limits.IO_CHUNK_BYTES / Limits.BLOCK_BYTES, Limits.MAX_EXTENT_BLOCKS);
            MemorySegment buf = buffers.take();
            try {
                for (long block = offset / Limits.BLOCK_BYTES; block < endBlock; ) {
                    long runStartByte = block * Limits.BLOCK_BYTES;
                    StagedWrite.Piece piece;
                    MemorySegment data;
                    lock.readLock().lock();
                    try {
                        checkWritable();
                        if (!index.exists(id.value())) {
                            throw new D4Exception.ObjectNotFound(id);
                        }
                        Placement run = allocatePlacement((int) Math.min(endBlock - block, chunkBlocks));
                        piece = new StagedWrite.Piece(block, run, new int[run.lengthBlocks()]);
                        s.pieces.add(piece);
                        synchronized (staged) {
                            staged.add(run.primary());
                            if (run.mirror() != null) {
                                staged.add(run.mirror());
                            }
                        }
                        data = buf.asSlice(0, (long) run.lengthBlocks() * Limits.BLOCK_BYTES);
                        long runEnd = block + run.lengthBlocks();
                        long size = index.sizeBytes(id.value());
                        if (offset > runStartByte) {
                            stageOld(s, block, size, data.asSlice(0, Limits.BLOCK_BYTES));
                        }
                        if (end < runEnd * Limits.BLOCK_BYTES && !(offset > runStartByte && run.lengthBlocks() == 1)) {
                            stageOld(s, runEnd - 1, size,
                                    data.asSlice((long) (run.lengthBlocks() - 1) * Limits.BLOCK_BYTES, Limits.BLOCK_BYTES));
                        }
                    } finally {
                        lock.readLock().unlock();
                    }
                    long runEndByte = runStartByte + data.byteSize();
                    long copyFrom = Math.max(offset, runStartByte);
                    long copyTo = Math.min(end, runEndByte);
                    MemorySegment.copy(src, copyFrom - offset, data, copyFrom - runStartByte, copyTo - copyFrom);
                    Txn.checksumsInto(data, piece.crcs());
                    writePlacement(piece.placement(), data);
                    block += piece.crcs().length;
                }
            } finally {
                buffers.give(buf);
            }
            return s;
        } catch (RuntimeException | Error e) {
            discardStaged(s);
            throw e;
        } finally {
            stagesInFlight.decrementAndGet();
        }
    }

    /** Reads a partial end block's old content (zeros past the end or in a hole) and notes its source. */
    private void stageOld(StagedWrite s, long block, long size, MemorySegment dst) {
        StagedWrite.OldBlock old = StagedWrite.OldBlock.of(block, size, index.extents(s.id().value(), block, block + 1));
        s.oldBlocks.add(old);
        if (old.volume() < 0) {
            dst.fill((byte) 0);
        } else {
            readBlocks(s.id(), block, block + 1, dst);
        }
    }

    /**
     * With the write lock: whether the partial end blocks of a staged write still have the content it
     * merged (their mapping is unchanged), so that mapping its blocks loses no concurrent change.
     */
    boolean stagedStillValid(StagedWrite s) {
        long id = s.id().value();
        if (!index.exists(id)) {
            throw new D4Exception.ObjectNotFound(s.id());
        }
        long size = index.sizeBytes(id);
        for (StagedWrite.OldBlock old : s.oldBlocks) {
            long b = old.logicalBlock();
            if (!StagedWrite.OldBlock.of(b, size, index.extents(id, b, b + 1)).equals(old)) {
                return false;
            }
        }
        return true;
    }

    /** With the write lock: a transaction takes a staged write's blocks (it frees them if it does not commit). */
    List<Run> adoptStaged(StagedWrite s) {
        Invariant.check(lock.isWriteLockedByCurrentThread(), "staged blocks taken without the write lock");
        List<Run> runs = s.handOver();
        synchronized (staged) {
            for (Run r : runs) {
                if (!staged.remove(r)) {
                    throw new IllegalStateException("d4 invariant violated: staged run " + r + " is not in the pool's staged set");
                }
            }
        }
        return runs;
    }

    /** Frees a staged write's blocks (nothing references them). */
    void discardStaged(StagedWrite s) {
        if (s.handedOver()) {
            return;
        }
        List<Run> runs = s.handOver();
        // Under the lock: a checkpoint sees each block either staged or free, never used and unowned.
        lock.readLock().lock();
        try {
            synchronized (staged) {
                for (Run r : runs) {
                    if (!staged.remove(r)) {
                        throw new IllegalStateException("d4 invariant violated: staged run " + r + " is not in the pool's staged set");
                    }
                }
            }
            for (Run r : runs) {
                space.free(r);
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Starts a transaction; it holds the pool's write lock until it commits or closes. */
    public Txn begin() {
        lock.writeLock().lock();
        try {
            checkWritable();
        } catch (RuntimeException e) {
            lock.writeLock().unlock();
            throw e;
        }
        return new Txn(this);
    }

    // Called by Txn with the write lock held.

    Index index() {
        return index;
    }

    SpaceMap space() {
        return space;
    }

    List<Volume> volumes() {
        return volumes;
    }

    IoBuffers buffers() {
        return buffers;
    }

    void readBlocksLocked(ObjectId id, long from, long to, MemorySegment buf) {
        readBlocks(id, from, to, buf);
    }

    /**
     * Blocks kept free for the next checkpoint: the metadata pages changed so far (each is written
     * to a new place), the free-space records that changed (about seven to a page), and slack for
     * what the commits until the checkpoint still change (it comes at {@link #DIRTY_PAGE_LIMIT}).
     */
    long reserveBlocks() {
        // A changed bitmap chunk may dirty a leaf of its own (changes scattered over the volume),
        // but the chunks' records fill at most one leaf per seven.
        return index.tree().dirtyPages() + Math.min(space.dirtyChunkCount(), chunkLeaves) + slackBlocks();
    }

    /** {@link #CHECKPOINT_SLACK_BLOCKS}, or a 64th of the data area in small pools. */
    private long slackBlocks() {
        return Math.max(64, Math.min(CHECKPOINT_SLACK_BLOCKS, dataBlocks / 64));
    }

    /**
     * Changed pages that make a commit checkpoint: {@link #DIRTY_PAGE_LIMIT}, or a 16th of the data
     * area in small pools, so that a checkpoint always finds room for them.
     */
    private long dirtyPageLimit() {
        return Math.max(64, Math.min(DIRTY_PAGE_LIMIT, dataBlocks / 16));
    }

    /** Where new data goes: one run, and in pools with two copies a run of the same length on another volume. */
    record Placement(Run primary, Run mirror) {
        int lengthBlocks() {
            return primary.lengthBlocks();
        }

        Extent extent(long logicalBlock, int[] crcs) {
            return mirror == null ? new Extent(logicalBlock, primary.volume(), primary.startBlock(), primary.lengthBlocks(), crcs)
                    : new Extent(logicalBlock, primary.volume(), primary.startBlock(), primary.lengthBlocks(), crcs,
                            mirror.volume(), mirror.startBlock());
        }
    }

    /** Allocates up to {@code maxBlocks} for new data, in every copy the pool keeps. */
    Placement allocatePlacement(int maxBlocks) {
        Run primary = allocateData(maxBlocks);
        if (copies == 1) {
            return new Placement(primary, null);
        }
        Run mirror;
        try {
            mirror = space.allocateOther(primary.volume(), primary.lengthBlocks(), reserveBlocks());
        } catch (D4Exception.NoSpace e) {
            space.free(primary);
            throw e;
        }
        if (mirror.lengthBlocks() < primary.lengthBlocks()) {
            int keep = mirror.lengthBlocks();
            space.free(new Run(primary.volume(), primary.startBlock() + keep, primary.lengthBlocks() - keep));
            primary = new Run(primary.volume(), primary.startBlock(), keep);
        }
        return new Placement(primary, mirror);
    }

    /** Writes the first {@code placement.lengthBlocks()} blocks of {@code data} to every copy. */
    void writePlacement(Placement placement, MemorySegment data) {
        MemorySegment part = data.asSlice(0, (long) placement.lengthBlocks() * Limits.BLOCK_BYTES);
        reserveOnHost(placement.primary());
        if (placement.mirror() != null) {
            reserveOnHost(placement.mirror());
        }
        deviceWrite(volumes.get(placement.primary().volume()), placement.primary().startBlock() * Limits.BLOCK_BYTES, part);
        if (placement.mirror() != null) {
            deviceWrite(volumes.get(placement.mirror().volume()), placement.mirror().startBlock() * Limits.BLOCK_BYTES, part);
        }
    }

    /**
     * Writes {@code src} to a volume as a batch of one when it lies in a pooled buffer: on the io_uring
     * drive a batch runs on the calling thread's own ring, which submits and sleeps in the kernel until
     * its completion wakes it, where a plain {@code write} goes through the drive's ring thread (a
     * hand-over there and a cross-CPU wake-up back). Measured through the mount (sequential 1 MiB and
     * buffered 4 KiB writes, 2-core VM): a FUSE write took 295-360 µs in the daemon the one way and
     * 148-180 µs the other (p50). Other memory goes through {@code write}.
     */
    private void deviceWrite(Volume v, long offsetBytes, MemorySegment src) {
        IoBatch batch = buffers.batchFor(src);
        if (batch == null) {
            v.drive().write(offsetBytes, src);
            return;
        }
        batch.clear();
        batch.write(offsetBytes, src);
        try {
            v.drive().submit(batch);
        } finally {
            batch.clear();
        }
    }

    /** As {@link #deviceWrite}, for a read into {@code dst}. */
    private void deviceRead(Volume v, long offsetBytes, MemorySegment dst) {
        IoBatch batch = buffers.batchFor(dst);
        if (batch == null) {
            v.drive().read(offsetBytes, dst);
            return;
        }
        batch.clear();
        batch.read(offsetBytes, dst);
        try {
            v.drive().submit(batch);
        } finally {
            batch.clear();
        }
    }

    /** Allocates one run for data, syncing once to release pending frees before reporting ENOSPC. */
    Run allocateData(int maxBlocks) {
        try {
            return space.allocate(maxBlocks, reserveBlocks());
        } catch (D4Exception.NoSpace e) {
            if (pendingFreeCount() == 0) {
                throw e;
            }
            syncLocked();
            releaseDurableFreesWaiting();
            return space.allocate(maxBlocks, reserveBlocks());
        }
    }

    private int pendingFreeCount() {
        synchronized (pendingFrees) {
            return pendingFrees.size();
        }
    }

    /**
     * Publishes a transaction's ops: journal first, then the index. {@code uncommitted} are the
     * blocks the transaction allocated (its ops map them): a checkpoint taken before the ops are
     * applied must record them free.
     */
    void commit(List<Op> ops, List<Run> uncommitted) {
        Invariant.check(lock.isWriteLockedByCurrentThread(), "commit without the write lock");
        checkWritable();
        checkMetadataRoom(ops);
        long seq = journal.append(ops);
        if (seq < 0) {
            checkpoint(uncommitted);
            seq = journal.append(ops);
            Invariant.check(seq > 0, "a record does not fit an empty journal");
        }
        List<Run> freed = new ArrayList<>();
        try {
            for (Op op : ops) {
                index.apply(op, freed::add);
            }
        } catch (RuntimeException e) {
            // The journal holds a record the index did not take: stop before anything is built on it.
            fail(e);
            throw e;
        }
        for (CommitListener l : commitListeners) {
            for (Op op : ops) {
                switch (op) {
                    case Op.CreateObject c -> l.objectChanged(c.id());
                    case Op.SetAttrs a -> l.objectChanged(a.id());
                    case Op.SetSize z -> l.objectChanged(z.id());
                    case Op.PutExtent p -> l.objectChanged(p.id());
                    case Op.UnmapRange u -> l.objectChanged(u.id());
                    case Op.DeleteObject d -> l.objectChanged(d.id());
                    case Op.PutEntry p -> l.entryChanged(p.owner(), p.key());
                    case Op.RemoveEntry r -> l.entryChanged(r.owner(), r.key());
                }
            }
        }
        if (!freed.isEmpty()) {
            long epoch = journal.epoch();
            long generation = freeGeneration.incrementAndGet();
            synchronized (pendingFrees) {
                for (Run r : freed) {
                    pendingFrees.add(new PendingFree(epoch, seq, generation, r));
                }
            }
        }
    }

    /**
     * A commit that only adds metadata (new objects or entries, nothing removed or released) is
     * refused with NoSpace once free space falls below what the next checkpoint needs, with half of
     * the slack kept back: otherwise creates on a full pool could leave no room to write the pages
     * they changed, and the pool could not even be opened again (every open checkpoints). Data
     * writes are held to the whole reserve by allocation; removals, renames and deletes always pass.
     */
    private void checkMetadataRoom(List<Op> ops) {
        boolean grows = false;
        for (Op op : ops) {
            switch (op) {
                case Op.CreateObject c -> grows = true;
                case Op.PutEntry p -> grows = true;
                case Op.RemoveEntry r -> {
                    return;
                }
                case Op.DeleteObject d -> {
                    return;
                }
                case Op.UnmapRange u -> {
                    return;
                }
                default -> { }
            }
        }
        long floor = index.tree().dirtyPages() + Math.min(space.dirtyChunkCount(), chunkLeaves) + slackBlocks() / 2;
        if (grows && space.freeBlocks() < floor) {
            syncLocked(); // frees awaiting their commit may make the room
            if (space.freeBlocks() < floor) {
                throw new D4Exception.NoSpace("the pool is full: free space by deleting files, or add a volume");
            }
        }
    }

    /**
     * After a commit (called by {@link Txn#commit} once it no longer owns its blocks): checkpoints
     * when the journal is half full or many pages or bitmap chunks changed.
     */
    void checkpointIfDue() {
        Invariant.check(lock.isWriteLockedByCurrentThread(), "checkpoint without the write lock");
        boolean due = journal.usedBytes() > journal.regionBytes() / 2
                || index.tree().dirtyPages() + space.dirtyChunkCount() > dirtyPageLimit();
        // Past these, a scrub walking the published tree makes the commit wait rather than let memory grow.
        boolean overdue = journal.usedBytes() > journal.regionBytes() / 4 * 3
                || index.tree().dirtyPages() > 4 * dirtyPageLimit();
        if (due) {
            try {
                if (overdue) {
                    checkpoint();
                } else {
                    checkpointUnlessScrubbing();
                }
            } catch (D4Exception.NoSpace e) {
                // The commit itself is in; the journal keeps working until it is full, and then
                // commits fail with NoSpace until deletes make room for a checkpoint.
                LOG.log(Level.WARNING, "pool {0}: checkpoint postponed: {1}", name, e.getMessage());
            }
        }
    }

    /** Adds a listener told of every later commit (see {@link CommitListener}). */
    public void addCommitListener(CommitListener listener) {
        commitListeners.add(listener);
    }

    /** Makes every committed transaction durable: data blocks first, then their journal records. */
    public void sync() {
        checkWritable();
        syncLocked();
    }

    private void syncLocked() {
        try {
            journal.sync(journal.appendedSeq(), this::flushData);
        } catch (D4Exception.NoSpace e) {
            throw e; // the host file system is full: the batch stays pending and a later sync retries
        } catch (RuntimeException e) {
            fail(e);
            throw e;
        }
        releaseDurableFrees();
    }

    private void flushData() {
        for (Volume v : volumes) {
            try {
                v.drive().flush();
            } catch (D4Exception.NoSpace e) {
                // A failed fsync may have dropped dirty data pages that the next fsync would not
                // report again: nothing that references them may become durable. Not retryable.
                throw new D4Exception.DriveFailure("flushing volume " + v.path() + " failed (" + e.getMessage()
                        + "); data written since the last durable commit may be lost", e);
            }
        }
    }

    /** Frees the runs whose release is durable and that no reader may still be reading. */
    private void releaseDurableFrees() {
        synchronized (pendingFrees) {
            // Read inside the monitor: every free seen here was added by a commit that came after
            // the pin of any reader that may read it, so that pin is visible now. Read before it,
            // a sync without the pool lock could free blocks of a reader that pinned meanwhile.
            long oldestReader = readPins.oldest();
            while (!pendingFrees.isEmpty()
                    && journal.isDurable(pendingFrees.peekFirst().epoch(), pendingFrees.peekFirst().seq())
                    && pendingFrees.peekFirst().generation() <= oldestReader) {
                space.free(pendingFrees.pollFirst().run());
            }
        }
    }

    /**
     * As {@link #releaseDurableFrees}, first waiting for the readers that hold back a durable free
     * (they are in a device read and take no lock, so they finish; new readers do not hold these).
     */
    private void releaseDurableFreesWaiting() {
        long needed;
        synchronized (pendingFrees) {
            needed = pendingFrees.stream().filter(f -> journal.isDurable(f.epoch(), f.seq()))
                    .mapToLong(PendingFree::generation).max().orElse(0);
        }
        awaitReadersFrom(needed);
        releaseDurableFrees();
    }

    /** Waits until no reader holds a generation below {@code generation} (every reader, with Long.MAX_VALUE). */
    private void awaitReadersFrom(long generation) {
        long start = System.nanoTime();
        for (int round = 0; readPins.oldest() < generation; round++) {
            long waited = System.nanoTime() - start;
            if (waited > 60_000_000_000L) {
                throw new D4Exception.DriveFailure("reads of pool " + name + " did not finish within 60 s (a drive hangs?)",
                        null);
            }
            // A device read: yield first, then sleep in growing steps (this may hold the write lock).
            if (round < 16) {
                Thread.yield();
            } else {
                java.util.concurrent.locks.LockSupport.parkNanos(Math.min(1_000_000L, 10_000L << Math.min(round - 16, 7)));
            }
        }
    }

    /**
     * Writes the metadata changed since the last checkpoint and publishes it in the other meta slot,
     * then restarts the journal. Runs with the write lock held, so no transaction commits meanwhile.
     */
    void checkpoint() {
        checkpoint(List.of());
    }

    /** As {@link #checkpoint()}, inside a transaction whose allocated blocks are {@code uncommitted}. */
    void checkpoint(List<Run> uncommitted) {
        Invariant.check(lock.isWriteLockedByCurrentThread(), "checkpoint without the write lock");
        checkpointGate.writeLock().lock();
        try {
            List<Run> notReferenced = new ArrayList<>(uncommitted);
            synchronized (staged) {
                notReferenced.addAll(staged);
            }
            checkpointOrNoSpace(notReferenced);
        } catch (D4Exception.NoSpace e) {
            throw e; // nothing was published: the previous slot and the journal still hold everything
        } catch (RuntimeException e) {
            fail(e);
            throw e;
        } finally {
            checkpointGate.writeLock().unlock();
        }
    }

    /**
     * A checkpoint a commit asks for because the journal is half full or many pages changed: skipped
     * while a scrub walks the published tree (the next commit asks again; the journal and the
     * memory have room to wait). Returns whether it ran.
     */
    private boolean checkpointUnlessScrubbing() {
        if (!checkpointGate.writeLock().tryLock()) {
            return false;
        }
        try {
            checkpoint();
            return true;
        } finally {
            checkpointGate.writeLock().unlock();
        }
    }

    /**
     * The checkpoint protocol (docs/format.md, "Checkpoints"): (1) make the journal durable, so every
     * committed free takes effect; (2) store the free-space chunks changed since the last checkpoint
     * in the tree, showing {@code uncommitted} blocks free (nothing durable references them yet);
     * (3) write every changed tree page to a newly allocated block; (4) write the space table: the
     * pages step 3 allocated (the stored bitmap predates them) and the blocks publishing frees (the
     * pages the new tree no longer uses, the previous space table); (5) flush, write the meta slot,
     * flush: the commit point; (6) free what step 4 listed as freed, restart the journal.
     *
     * <p>NoSpace before step 3 completes changes nothing durable and leaves the pool writable (the
     * journal still holds everything); any failure after it stops the pool, because the tree in
     * memory has moved to pages no slot publishes.
     */
    private void checkpointOrNoSpace(List<Run> uncommitted) {
        journal.sync(journal.appendedSeq(), this::flushData);
        releaseDurableFreesWaiting();
        synchronized (pendingFrees) {
            Invariant.check(pendingFrees.isEmpty(), "frees still pending after the journal was made durable");
        }
        List<SpaceMap.Chunk> chunks = space.takeDirtyChunks();
        List<Run> pageRuns = new ArrayList<>();
        d4.engine.meta.tree.Checkpoint ck;
        try {
            for (SpaceMap.Chunk c : chunks) {
                index.putSpaceChunk(c.volume(), c.index(), space.exportChunk(c, uncommitted));
            }
            try (PageRuns allocator = new PageRuns(space, pageRuns, index.tree().dirtyPages(), this::reserveOnHost)) {
                ck = index.tree().checkpoint(allocator, slot.generation() + 1);
            }
        } catch (RuntimeException e) {
            space.markDirty(chunks);
            throw e;
        }
        // The tree in memory now lives at the new pages: from here on a failure is fatal (see above).
        try {
            publish(ck, pageRuns, chunks, uncommitted);
        } catch (D4Exception.NoSpace e) {
            throw new D4Exception.DriveFailure("the checkpoint could not be published (" + e.getMessage()
                    + "); the journal still holds every change: unmount, free space on the host and mount again", e);
        }
    }

    private void publish(d4.engine.meta.tree.Checkpoint ck, List<Run> pageRuns, List<SpaceMap.Chunk> chunks,
            List<Run> uncommitted) {
        List<Run> freed = new ArrayList<>();
        for (long address : ck.released()) {
            freed.add(VolumePages.run(address));
        }
        freed = coalesce(freed);
        freed.addAll(slot.tableRuns());
        byte[] table = new MetaSlot.SpaceTable(coalesce(pageRuns), freed).encode();
        List<Run> tableRuns = new ArrayList<>();
        allocateInto(tableRuns, (table.length + Limits.BLOCK_BYTES - 1) / Limits.BLOCK_BYTES);
        MetaSlot next = new MetaSlot(ck.generation(), ck.rootAddress(), table.length, crc(table, table.length), tableRuns);
        writeRuns(tableRuns, table);
        flushData();
        Volume primary = volumes.getFirst();
        writeBlock(primary.drive(), slotBlock(next.generation()), next.encode());
        primary.drive().flush();
        slot = next;
        for (Run r : freed) {
            space.free(r);
        }
        if (!uncommitted.isEmpty()) {
            // Stored free above; the next checkpoint stores them as the commit leaves them.
            space.markDirty(chunks);
        }
        journal.restart(next.generation());
    }

    /** Allocates {@code blocks} for the engine's own use (no reserve), in as many runs as it takes. */
    private void allocateInto(List<Run> runs, long blocks) {
        long left = blocks;
        while (left > 0) {
            Run r = space.allocate((int) Math.min(left, Limits.IO_CHUNK_BYTES / Limits.BLOCK_BYTES), 0);
            runs.add(r);
            left -= r.lengthBlocks();
            reserveOnHost(r);
        }
    }

    /** Reserves a run's blocks on the host file system before their first write (see {@link Preallocation}). */
    private void reserveOnHost(Run r) {
        preallocations.get(r.volume()).reserve(r);
    }

    private void writeRuns(List<Run> runs, byte[] image) {
        MemorySegment buf = buffers.take();
        try {
            int pos = 0;
            for (Run r : runs) {
                long runBytes = (long) r.lengthBlocks() * Limits.BLOCK_BYTES;
                int n = (int) Math.min(runBytes, image.length - pos);
                MemorySegment.copy(image, pos, buf, ValueLayout.JAVA_BYTE, 0, n);
                buf.asSlice(n, runBytes - n).fill((byte) 0);
                volumes.get(r.volume()).drive().write(r.startBlock() * Limits.BLOCK_BYTES, buf.asSlice(0, runBytes));
                pos += n;
            }
        } finally {
            buffers.give(buf);
        }
    }

    /** Blocks the metadata holds now: the tree's pages on disk (reads every page) and the space table. */
    long metadataBlocks() {
        lock.readLock().lock();
        try {
            long[] n = {0};
            index.tree().forEachPageAddress(a -> n[0]++);
            return n[0] + blocksIn(slot.tableRuns());
        } finally {
            lock.readLock().unlock();
        }
    }

    /** What the metadata tree holds in memory and has read, for status and benchmarks. */
    public PoolInfo.Metadata metadataStats() {
        lock.readLock().lock();
        try {
            return metadataLocked();
        } finally {
            lock.readLock().unlock();
        }
    }

    private PoolInfo.Metadata metadataLocked() {
        d4.engine.meta.tree.Tree t = index.tree();
        return new PoolInfo.Metadata(t.height(), t.dirtyPages(), t.cachedBytes(), options.metadataCacheBytes(),
                t.pageReads());
    }

    // ------------------------------------------------------------------------------------------
    // Life cycle

    private final Object flusherSignal = new Object();
    private boolean flusherStop; // guarded by flusherSignal

    private void flushLoop() {
        while (true) {
            // Never interrupted: an interrupt during FileChannel I/O would close the volume's channel.
            synchronized (flusherSignal) {
                long deadline = System.nanoTime() + options.commitIntervalMillis() * 1_000_000L;
                while (!flusherStop && System.nanoTime() < deadline) {
                    try {
                        flusherSignal.wait(Math.max(1, (deadline - System.nanoTime()) / 1_000_000L));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
                if (flusherStop) {
                    return; // close() makes everything durable itself
                }
            }
            if (closed || failure != null) {
                return;
            }
            try {
                syncLocked();
            } catch (D4Exception.NoSpace e) {
                // The host file system is full: the batch stays pending and the next round retries.
                LOG.log(Level.WARNING, "pool {0}: background flush postponed: {1}", name, e.getMessage());
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "pool " + name + ": background flush failed; the pool takes no more writes", e);
                return;
            }
        }
    }

    private void fail(Throwable cause) {
        if (failure == null) {
            failure = cause;
            LOG.log(Level.ERROR, "pool " + name + " stopped taking writes after an error: " + cause.getMessage());
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new D4Exception.PoolClosed("pool " + name + " is closed");
        }
    }

    private void checkWritable() {
        checkOpen();
        if (readOnly) {
            throw new D4Exception.PoolClosed("pool " + name + " is open read-only (for a check)");
        }
        Throwable f = failure;
        if (f != null) {
            throw new D4Exception.PoolClosed("pool " + name + " takes no more writes after an error (" + f.getMessage()
                    + "): unmount it and run d4 fsck");
        }
    }

    /** True once a write-path error stopped the pool; reads still work. */
    public Optional<Throwable> failure() {
        return Optional.ofNullable(failure);
    }

    /** Checkpoints (so the next open replays nothing), then releases the volumes. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        synchronized (flusherSignal) {
            flusherStop = true;
            flusherSignal.notifyAll();
        }
        try {
            flusher.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // New stages now refuse (they check closing after counting themselves in); wait for the
        // ones copying data, which hold a buffer and may be writing to a drive.
        closing = true;
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (stagesInFlight.get() > 0 && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(100_000);
        }
        // Memory a stage or a pinned reader may still hand to a drive is never freed under it.
        boolean quiet = stagesInFlight.get() == 0;
        lock.writeLock().lock();
        Throwable error = null;
        try {
            if (closed) {
                return;
            }
            if (failure == null && !readOnly) {
                try {
                    checkpoint();
                } catch (RuntimeException | Error e) {
                    error = e; // thrown below, once the drives and buffers are released
                }
            }
            closed = true;
            // Readers in a device read hold no lock (new ones cannot start now): wait for them.
            try {
                awaitReadersFrom(Long.MAX_VALUE);
            } catch (D4Exception.DriveFailure e) {
                quiet = false;
                error = error == null ? e : error;
            }
            if (!quiet) {
                LOG.log(Level.ERROR, "pool {0}: I/O still running after 60 s at close; its volumes and buffers are left"
                        + " open until the process exits", name);
            }
            // A scrub may still be walking the published tree without the pool lock: wait for it
            // before the drives and buffers go.
            checkpointGate.writeLock().lock();
            checkpointGate.writeLock().unlock();
            for (Runnable release : quiet ? List.<Runnable>of(journal::close, this::closeDrives, pages::close, buffers::close)
                    : List.<Runnable>of(journal::close)) {
                try {
                    release.run();
                } catch (RuntimeException | Error e) {
                    if (error == null) {
                        error = e;
                    } else {
                        error.addSuppressed(e);
                    }
                }
            }
        } finally {
            lock.writeLock().unlock();
        }
        switch (error) {
            case null -> { }
            case RuntimeException e -> throw e;
            case Error e -> throw e;
            default -> throw new IllegalStateException(error);
        }
    }

    private void closeDrives() {
        preallocations.forEach(Preallocation::close);
        RuntimeException error = null;
        for (Volume v : volumes) {
            try {
                v.drive().close();
            } catch (RuntimeException e) {
                if (error == null) {
                    error = e;
                } else {
                    error.addSuppressed(e);
                }
            }
        }
        if (error != null) {
            throw error;
        }
    }

    void unlockWrite() {
        lock.writeLock().unlock();
    }
}
