package d4.fs;

import d4.engine.D4Exception;
import d4.engine.Entry;
import d4.engine.ObjectId;
import d4.engine.ObjectInfo;
import d4.engine.Pool;
import d4.engine.PoolInfo;
import d4.engine.StagedWrite;
import d4.engine.Txn;
import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The POSIX namespace over a pool: inodes are objects, directory entries are object entries, and
 * every change is one engine transaction (so a rename is atomic and survives a crash whole).
 *
 * <p>This class never imports jnr: the FUSE adapter translates calls into it, and tests drive it
 * directly. Paths are absolute, '/'-separated, as libfuse 2's high-level API passes them.
 *
 * <p>Entry keys in the engine: {@code 'd' + name} in a directory object maps a name to
 * (child id, type); in the pool object, {@code "fs.root"} holds the root directory's id and
 * {@code "fs.orphan." + id} marks an inode unlinked while still open, deleted at last close or, after
 * a crash, at the next mount.
 */
public final class FileSystem {
    private static final System.Logger LOG = System.getLogger("d4.fs");
    static final byte[] ROOT_KEY = "fs.root".getBytes(StandardCharsets.US_ASCII);
    static final byte[] ORPHAN_PREFIX = "fs.orphan.".getBytes(StandardCharsets.US_ASCII);
    static final byte DIRENT = 'd';
    private static final byte XATTR = 'x';
    /** Linux's limits: XATTR_NAME_MAX, XATTR_SIZE_MAX and XATTR_LIST_MAX. */
    public static final int MAX_XATTR_NAME_BYTES = 255;
    public static final int MAX_XATTR_VALUE_BYTES = 65536;
    public static final int MAX_XATTR_LIST_BYTES = 65536;
    public static final int XATTR_CREATE = 1, XATTR_REPLACE = 2;
    /** relatime: an access time older than this is refreshed even when newer than mtime and ctime. */
    private static final long RELATIME_SECONDS = 24 * 3600;
    public static final int MAX_NAME_BYTES = 255;
    /** ext4's limit on hard links to one file. */
    public static final int MAX_LINKS = 65000;
    private static final int DIR_SIZE_BYTES = 4096;

    private final Pool pool;
    private final long rootId;
    /** Open handles per inode: an unlinked inode lives until its count drops to zero. */
    private final ConcurrentHashMap<Long, Integer> openCounts = new ConcurrentHashMap<>();

    /**
     * libfuse 2 keeps an open file reachable after unlink by renaming it to ".fuse_hidden" + 16 hex
     * digits in its directory, and unlinks that name at the last close. We turn that rename into a
     * real unlink (the name leaves the directory, the link count drops, an orphan record keeps the
     * inode until the last close, as on ext4) and answer the hidden path from this map, so fstat,
     * fchmod and ftruncate keep working and no listing ever shows the name.
     */
    private static final java.util.regex.Pattern FUSE_HIDDEN = java.util.regex.Pattern.compile("\\.fuse_hidden[0-9a-f]{16}");
    private final ConcurrentHashMap<String, Long> hiddenNames = new ConcurrentHashMap<>();

    /**
     * The hidden name a path ends in, if it is one. Keyed by the name alone: libfuse numbers them
     * with a mount-wide counter, so they are unique, and the directory they were made in may be
     * removed or renamed over while the file stays open (its old path then leads nowhere).
     */
    private Optional<String> hiddenName(String path) {
        if (path == null || !isFuseHiddenName(path)) {
            return Optional.empty();
        }
        return Optional.of(path.substring(path.lastIndexOf('/') + 1));
    }

    /**
     * 1 when {@code path} is a hidden name d4 turned into an unlink: libfuse 2 lowers st_nlink of a
     * hidden node by one itself (counting the hidden name as a link), which d4 has already done, so
     * the adapter adds it back; 0 otherwise.
     */
    public int hiddenLinkCorrection(String path) {
        Optional<String> hidden = hiddenName(path);
        return hidden.isPresent() && hiddenNames.containsKey(hidden.get()) ? 1 : 0;
    }

    /** Default bounds of the namespace caches (entries; an inode costs a few hundred bytes). */
    public static final long DEFAULT_CACHED_INODES = 100_000, DEFAULT_CACHED_NAMES = 200_000;
    private final NamespaceCache cache;

    public FileSystem(Pool pool) {
        this(pool, DEFAULT_CACHED_INODES, DEFAULT_CACHED_NAMES);
    }

    public FileSystem(Pool pool, long cachedInodes, long cachedNames) {
        this.pool = pool;
        this.cache = new NamespaceCache(cachedInodes, cachedNames);
        pool.addCommitListener(cache);
        this.rootId = ensureRoot();
        removeOrphans();
    }

    private long ensureRoot() {
        Optional<byte[]> root = pool.entry(ObjectId.POOL, ROOT_KEY);
        if (root.isPresent()) {
            return ByteBuffer.wrap(root.get()).getLong();
        }
        try (Txn t = pool.begin()) {
            Timestamp now = Timestamp.now();
            Inode proto = new Inode(0, Inode.S_IFDIR | 0755, 0, 0, 2, 0, 0, 0, now, now, now, now, 0, new byte[0]);
            ObjectId id = t.create(proto.encodeAttrs());
            t.setAttrs(id, proto.withParent(id.value()).encodeAttrs());
            t.putEntry(ObjectId.POOL, ROOT_KEY, ByteBuffer.allocate(8).putLong(id.value()).array());
            t.commit();
            pool.sync();
            return id.value();
        }
    }

    /** Deletes inodes that were unlinked while open when the pool last went down. */
    private void removeOrphans() {
        List<Entry> orphans = pool.entries(ObjectId.POOL, ORPHAN_PREFIX, null, Integer.MAX_VALUE);
        if (orphans.isEmpty()) {
            return;
        }
        // In chunks: one transaction for all of them could exceed a journal record's limits and then
        // fail every mount.
        for (int from = 0; from < orphans.size(); from += 1000) {
            try (Txn t = pool.begin()) {
                for (Entry e : orphans.subList(from, Math.min(orphans.size(), from + 1000))) {
                    long id = ByteBuffer.wrap(e.value()).getLong();
                    if (pool.find(new ObjectId(id)).isPresent()) {
                        t.delete(new ObjectId(id));
                    }
                    t.removeEntry(ObjectId.POOL, e.key());
                }
                t.commit();
            }
        }
        LOG.log(Level.INFO, "removed {0} files that were deleted while open when the pool went down", orphans.size());
    }

    public long rootId() {
        return rootId;
    }

    // ------------------------------------------------------------------------------------------
    // Lookups

    public Inode getattr(String path) {
        return inode(resolve(path));
    }

    public Inode getattr(long id) {
        return inode(id);
    }

    private Inode inode(long id) {
        return cache.inode(id, () -> pool.find(new ObjectId(id)).map(FileSystem::asSeen))
                .orElseThrow(() -> new FsException(FsError.NOT_FOUND, "inode " + id + " does not exist"));
    }

    /** Hit and miss counts of the inode and directory-entry caches. */
    public CacheStats cacheStats() {
        return cache.stats();
    }

    /** An object as POSIX sees it: directories show 4096 bytes, symlinks their target's length. */
    private static Inode asSeen(ObjectInfo info) {
        Inode i = Inode.decode(info);
        if (i.isDirectory()) {
            return new Inode(i.id(), i.mode(), i.uid(), i.gid(), i.nlink(), i.rdev(), DIR_SIZE_BYTES, DIR_SIZE_BYTES,
                    i.atime(), i.mtime(), i.ctime(), i.btime(), i.parent(), i.symlinkTarget());
        }
        if (i.isSymlink()) {
            return new Inode(i.id(), i.mode(), i.uid(), i.gid(), i.nlink(), i.rdev(), i.symlinkTarget().length,
                    i.allocatedBytes(), i.atime(), i.mtime(), i.ctime(), i.btime(), i.parent(), i.symlinkTarget());
        }
        return i;
    }

    /** Resolves an absolute path to an inode id, following no symlinks (the kernel resolves them). */
    long resolve(String path) {
        Optional<String> hidden = hiddenName(path);
        if (hidden.isPresent() && hiddenNames.containsKey(hidden.get())) {
            return hiddenNames.get(hidden.get());
        }
        long id = rootId;
        for (byte[] name : components(path)) {
            Inode dir = inode(id);
            if (!dir.isDirectory()) {
                throw new FsException(FsError.NOT_DIRECTORY, path);
            }
            id = lookup(id, name).orElseThrow(() -> new FsException(FsError.NOT_FOUND, path));
        }
        return id;
    }

    private Optional<Long> lookup(long dir, byte[] name) {
        return cache.lookup(dir, name,
                () -> pool.entry(new ObjectId(dir), direntKey(name)).map(v -> ByteBuffer.wrap(v).getLong()));
    }

    static byte[] direntKey(byte[] name) {
        byte[] key = new byte[name.length + 1];
        key[0] = DIRENT;
        System.arraycopy(name, 0, key, 1, name.length);
        return key;
    }

    static byte[] direntValue(long id, int typeBits) {
        return ByteBuffer.allocate(12).putLong(id).putInt(typeBits).array();
    }

    static List<byte[]> components(String path) {
        if (path == null || path.isEmpty() || path.charAt(0) != '/') {
            throw new FsException(FsError.INVALID, "not an absolute path: " + path);
        }
        List<byte[]> out = new ArrayList<>();
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            byte[] name = part.getBytes(StandardCharsets.UTF_8);
            if (name.length > MAX_NAME_BYTES) {
                throw new FsException(FsError.NAME_TOO_LONG, "a name of " + name.length + " bytes (at most 255)");
            }
            out.add(name);
        }
        return out;
    }

    private static boolean isFuseHiddenName(String path) {
        // Every lookup passes here: a cheap prefix test first, the pattern only for candidates.
        int slash = path.lastIndexOf('/');
        return path.startsWith(".fuse_hidden", slash + 1) && FUSE_HIDDEN.matcher(path.substring(slash + 1)).matches();
    }

    /** The parent directory id and the last name of a path that must not be the root. */
    private record Place(long dir, byte[] name) {}

    private Place place(String path) {
        List<byte[]> parts = components(path);
        if (parts.isEmpty()) {
            throw new FsException(FsError.EXISTS, "the root directory");
        }
        long dir = rootId;
        for (byte[] name : parts.subList(0, parts.size() - 1)) {
            if (!inode(dir).isDirectory()) {
                throw new FsException(FsError.NOT_DIRECTORY, path);
            }
            dir = lookup(dir, name).orElseThrow(() -> new FsException(FsError.NOT_FOUND, path));
        }
        if (!inode(dir).isDirectory()) {
            throw new FsException(FsError.NOT_DIRECTORY, path);
        }
        return new Place(dir, parts.getLast());
    }

    /** Every entry of a directory, with "." and ".." first. */
    public List<DirEntry> readdir(String path) {
        Inode dir = getattr(path);
        if (!dir.isDirectory()) {
            throw new FsException(FsError.NOT_DIRECTORY, path);
        }
        touchAtime(dir.id());
        return entriesOf(dir);
    }

    /** The entries of a directory, "." and ".." first, without touching its atime. */
    List<DirEntry> entriesOf(Inode dir) {
        List<DirEntry> out = new ArrayList<>();
        out.add(new DirEntry(".".getBytes(StandardCharsets.US_ASCII), dir.id(), Inode.S_IFDIR));
        out.add(new DirEntry("..".getBytes(StandardCharsets.US_ASCII), dir.parent(), Inode.S_IFDIR));
        byte[] after = null;
        while (true) {
            List<Entry> batch = pool.entries(new ObjectId(dir.id()), new byte[] {DIRENT}, after, 1024);
            for (Entry e : batch) {
                ByteBuffer v = ByteBuffer.wrap(e.value());
                out.add(new DirEntry(Arrays.copyOfRange(e.key(), 1, e.key().length), v.getLong(), v.getInt()));
            }
            if (batch.size() < 1024) {
                return out;
            }
            after = batch.getLast().key();
        }
    }

    public byte[] readlink(String path) {
        Inode i = getattr(path);
        if (!i.isSymlink()) {
            throw new FsException(FsError.INVALID, path + " is not a symlink");
        }
        return i.symlinkTarget();
    }

    public FsStats statfs() {
        PoolInfo info = pool.info();
        long block = info.blockSizeBytes();
        long free = info.freeBytes() / block;
        // Inodes cost no preallocated table: report the free blocks as the free-inode count, as btrfs does.
        return new FsStats(block, info.capacityBytes() / block, free, info.objectCount() + free, free, MAX_NAME_BYTES);
    }

    // ------------------------------------------------------------------------------------------
    // Creation

    public Inode mkdir(String path, int mode, Caller caller) {
        return createNode(path, Inode.S_IFDIR | (mode & 07777), 0, caller, new byte[0]);
    }

    /** Creates a regular file, FIFO, socket or device node, as mknod(2); {@code rdev} for devices. */
    public Inode mknod(String path, int mode, long rdev, Caller caller) {
        int type = mode & Inode.S_IFMT;
        if (type == 0) {
            type = Inode.S_IFREG;
        }
        if (type != Inode.S_IFREG && type != Inode.S_IFIFO && type != Inode.S_IFSOCK && type != Inode.S_IFCHR
                && type != Inode.S_IFBLK) {
            throw new FsException(FsError.INVALID, "mknod of file type " + Integer.toOctalString(type));
        }
        boolean device = type == Inode.S_IFCHR || type == Inode.S_IFBLK;
        return createNode(path, type | (mode & 07777), device ? rdev : 0, caller, new byte[0]);
    }

    /** Creates and opens a regular file; returns its inode (the handle is its id). */
    public Inode create(String path, int mode, Caller caller) {
        Inode i = createNode(path, Inode.S_IFREG | (mode & 07777), 0, caller, new byte[0]);
        openCounts.merge(i.id(), 1, Integer::sum);
        return i;
    }

    public Inode symlink(byte[] target, String path, Caller caller) {
        if (target.length == 0 || target.length >= 4096) {
            throw new FsException(target.length == 0 ? FsError.NOT_FOUND : FsError.NAME_TOO_LONG, "symlink target length");
        }
        return createNode(path, Inode.S_IFLNK | 0777, 0, caller, target);
    }

    private Inode createNode(String path, int mode, long rdev, Caller caller, byte[] target) {
        try (Txn t = pool.begin()) {
            Place p = place(path);
            if (lookup(p.dir(), p.name()).isPresent()) {
                throw new FsException(FsError.EXISTS, path);
            }
            Inode parent = inode(p.dir());
            boolean dir = (mode & Inode.S_IFMT) == Inode.S_IFDIR;
            boolean symlink = (mode & Inode.S_IFMT) == Inode.S_IFLNK;
            // A setgid directory hands its group (and, to subdirectories, the setgid bit) down, as on ext4.
            int gid = caller.gid();
            if ((parent.mode() & 02000) != 0) {
                gid = parent.gid();
                if (dir) {
                    mode |= 02000;
                }
            }
            // A default ACL on the parent replaces the umask (posix_acl_create); symlinks take neither.
            Optional<Acl> inherited = symlink ? Optional.empty() : xattr(p.dir(), Acl.DEFAULT).map(Acl::decode);
            Acl accessAcl = null;
            if (inherited.isPresent()) {
                accessAcl = inherited.get().masked(mode);
                mode = (mode & ~0777) | accessAcl.modeBits();
            } else if (!symlink) {
                mode &= ~(caller.umask() & 0777);
            }
            Timestamp now = Timestamp.now();
            Inode proto = new Inode(0, mode, caller.uid(), gid, dir ? 2 : 1, rdev, 0, 0, now, now, now, now,
                    dir ? p.dir() : 0, target);
            ObjectId id = t.create(proto.encodeAttrs());
            t.putEntry(new ObjectId(p.dir()), direntKey(p.name()), direntValue(id.value(), mode & Inode.S_IFMT));
            if (accessAcl != null && !accessAcl.equivalentToMode()) {
                t.putEntry(id, xattrKey(Acl.ACCESS), accessAcl.encode());
            }
            if (inherited.isPresent() && dir) {
                t.putEntry(id, xattrKey(Acl.DEFAULT), inherited.get().encode());
            }
            Inode newParent = parent.withTimes(parent.atime(), now, now);
            if (dir) {
                if (parent.nlink() >= MAX_LINKS) {
                    throw new FsException(FsError.TOO_MANY_LINKS, path);
                }
                newParent = newParent.withNlink(parent.nlink() + 1);
            }
            t.setAttrs(new ObjectId(p.dir()), newParent.encodeAttrs());
            t.commit();
            return inode(id.value());
        }
    }

    public void link(String existing, String newPath) {
        try (Txn t = pool.begin()) {
            long id = resolve(existing);
            Inode i = inode(id);
            if (i.isDirectory()) {
                throw new FsException(FsError.NOT_PERMITTED, "hard link to a directory");
            }
            if (i.nlink() >= MAX_LINKS) {
                throw new FsException(FsError.TOO_MANY_LINKS, existing);
            }
            Place p = place(newPath);
            if (lookup(p.dir(), p.name()).isPresent()) {
                throw new FsException(FsError.EXISTS, newPath);
            }
            Timestamp now = Timestamp.now();
            t.putEntry(new ObjectId(p.dir()), direntKey(p.name()), direntValue(id, i.typeBits()));
            Inode parent = inode(p.dir());
            t.setAttrs(new ObjectId(p.dir()), parent.withTimes(parent.atime(), now, now).encodeAttrs());
            t.setAttrs(new ObjectId(id), i.withNlink(i.nlink() + 1).withTimes(i.atime(), i.mtime(), now).encodeAttrs());
            t.commit();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Removal and rename

    public void unlink(String path) {
        Optional<String> hidden = hiddenName(path);
        if (hidden.isPresent() && hiddenNames.remove(hidden.get()) != null) {
            return; // libfuse's last-close unlink of a name we already removed at hide time
        }
        try (Txn t = pool.begin()) {
            Place p = place(path);
            long id = lookup(p.dir(), p.name()).orElseThrow(() -> new FsException(FsError.NOT_FOUND, path));
            Inode i = inode(id);
            if (i.isDirectory()) {
                throw new FsException(FsError.IS_DIRECTORY, path);
            }
            Timestamp now = Timestamp.now();
            t.removeEntry(new ObjectId(p.dir()), direntKey(p.name()));
            Inode parent = inode(p.dir());
            t.setAttrs(new ObjectId(p.dir()), parent.withTimes(parent.atime(), now, now).encodeAttrs());
            dropLink(t, i, now);
            t.commit();
        }
    }

    /** Removes one link of a non-directory; the last link deletes it, or orphans it while open. */
    private void dropLink(Txn t, Inode i, Timestamp now) {
        if (i.nlink() > 1) {
            t.setAttrs(new ObjectId(i.id()), i.withNlink(i.nlink() - 1).withTimes(i.atime(), i.mtime(), now).encodeAttrs());
        } else if (openCounts.getOrDefault(i.id(), 0) > 0) {
            t.setAttrs(new ObjectId(i.id()), i.withNlink(0).withTimes(i.atime(), i.mtime(), now).encodeAttrs());
            t.putEntry(ObjectId.POOL, orphanKey(i.id()), ByteBuffer.allocate(8).putLong(i.id()).array());
        } else {
            t.delete(new ObjectId(i.id()));
        }
    }

    private static byte[] orphanKey(long id) {
        byte[] key = Arrays.copyOf(ORPHAN_PREFIX, ORPHAN_PREFIX.length + 8);
        ByteBuffer.wrap(key, ORPHAN_PREFIX.length, 8).putLong(id);
        return key;
    }

    public void rmdir(String path) {
        try (Txn t = pool.begin()) {
            Place p = place(path);
            long id = lookup(p.dir(), p.name()).orElseThrow(() -> new FsException(FsError.NOT_FOUND, path));
            Inode i = inode(id);
            if (!i.isDirectory()) {
                throw new FsException(FsError.NOT_DIRECTORY, path);
            }
            if (pool.hasEntries(new ObjectId(id), new byte[] {DIRENT})) {
                throw new FsException(FsError.NOT_EMPTY, path);
            }
            Timestamp now = Timestamp.now();
            t.removeEntry(new ObjectId(p.dir()), direntKey(p.name()));
            Inode parent = inode(p.dir());
            t.setAttrs(new ObjectId(p.dir()), parent.withNlink(parent.nlink() - 1).withTimes(parent.atime(), now, now)
                    .encodeAttrs());
            t.delete(new ObjectId(id));
            t.commit();
        }
    }

    /** Renames atomically, replacing a file or an empty directory at the destination, as rename(2). */
    public void rename(String from, String to) {
        if (isFuseHiddenName(to)) {
            long id = resolve(from);
            if (openCounts.getOrDefault(id, 0) > 0) {
                String hidden = hiddenName(to).orElseThrow();
                unlink(from);
                hiddenNames.put(hidden, id);
                return;
            }
        }
        try (Txn t = pool.begin()) {
            Place src = place(from);
            long id = lookup(src.dir(), src.name()).orElseThrow(() -> new FsException(FsError.NOT_FOUND, from));
            Place dst = place(to);
            Inode moving = inode(id);
            Optional<Long> replaced = lookup(dst.dir(), dst.name());
            if (replaced.isPresent() && replaced.get() == id) {
                return; // both names are links to the same inode: rename(2) does nothing
            }
            if (moving.isDirectory()) {
                // The destination's parent chain must not pass through the directory being moved.
                for (long d = dst.dir(); ; d = inode(d).parent()) {
                    if (d == id) {
                        throw new FsException(FsError.INVALID, "cannot move " + from + " into its own subtree");
                    }
                    if (d == rootId) {
                        break;
                    }
                }
            }
            Timestamp now = Timestamp.now();
            int srcParentLinkDelta = 0;
            int dstParentLinkDelta = 0;
            if (replaced.isPresent()) {
                Inode old = inode(replaced.get());
                if (moving.isDirectory() && !old.isDirectory()) {
                    throw new FsException(FsError.NOT_DIRECTORY, to);
                }
                if (!moving.isDirectory() && old.isDirectory()) {
                    throw new FsException(FsError.IS_DIRECTORY, to);
                }
                if (old.isDirectory()) {
                    if (pool.hasEntries(new ObjectId(old.id()), new byte[] {DIRENT})) {
                        throw new FsException(FsError.NOT_EMPTY, to);
                    }
                    t.delete(new ObjectId(old.id()));
                    dstParentLinkDelta--;
                } else {
                    dropLink(t, old, now);
                }
                t.removeEntry(new ObjectId(dst.dir()), direntKey(dst.name()));
            }
            t.removeEntry(new ObjectId(src.dir()), direntKey(src.name()));
            t.putEntry(new ObjectId(dst.dir()), direntKey(dst.name()), direntValue(id, moving.typeBits()));
            Inode movedInode = moving.withTimes(moving.atime(), moving.mtime(), now);
            if (moving.isDirectory() && src.dir() != dst.dir()) {
                movedInode = movedInode.withParent(dst.dir());
                srcParentLinkDelta--;
                dstParentLinkDelta++;
            }
            t.setAttrs(new ObjectId(id), movedInode.encodeAttrs());
            if (src.dir() == dst.dir()) {
                Inode parent = inode(src.dir());
                t.setAttrs(new ObjectId(src.dir()), parent.withNlink(parent.nlink() + srcParentLinkDelta + dstParentLinkDelta)
                        .withTimes(parent.atime(), now, now).encodeAttrs());
            } else {
                Inode sp = inode(src.dir());
                Inode dp = inode(dst.dir());
                t.setAttrs(new ObjectId(src.dir()), sp.withNlink(sp.nlink() + srcParentLinkDelta)
                        .withTimes(sp.atime(), now, now).encodeAttrs());
                t.setAttrs(new ObjectId(dst.dir()), dp.withNlink(dp.nlink() + dstParentLinkDelta)
                        .withTimes(dp.atime(), now, now).encodeAttrs());
            }
            t.commit();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Attributes

    /** Changes the permission bits; an access ACL follows the new mode (posix_acl_chmod). */
    public void chmod(String path, int mode) {
        long id = resolve(path);
        try (Txn t = pool.begin()) {
            Inode i = inode(id);
            Optional<byte[]> acl = xattr(id, Acl.ACCESS);
            if (acl.isPresent() && !i.isSymlink()) {
                t.putEntry(new ObjectId(id), xattrKey(Acl.ACCESS), Acl.decode(acl.get()).withMode(mode).encode());
            }
            Timestamp now = Timestamp.now();
            t.setAttrs(new ObjectId(id), i.withMode((i.mode() & Inode.S_IFMT) | (mode & 07777))
                    .withTimes(i.atime(), i.mtime(), now).encodeAttrs());
            t.commit();
        }
    }

    /** Changes owner and group; -1 keeps a field. Clears setuid/setgid of non-directories, as chown(2). */
    public void chown(String path, int uid, int gid) {
        chown(path, uid, gid, Caller.ROOT, g -> true);
    }

    /**
     * chown(2). As Linux 6.18 on ext4 (measured): a change of a non-directory's owner or group
     * clears setuid, and clears setgid when the group may execute or when the caller is neither in
     * the file's group (as it was before the change) nor root; {@code inGroup} answers membership.
     */
    public void chown(String path, int uid, int gid, Caller caller, java.util.function.IntPredicate inGroup) {
        setAttrs(resolve(path), i -> {
            int mode = i.mode();
            if (!i.isDirectory() && (uid != -1 || gid != -1)) {
                mode &= ~04000;
                if ((mode & 00010) != 0) {
                    mode &= ~02000;
                } else {
                    mode = dropSetgid(i.withMode(mode), caller, inGroup).mode();
                }
            }
            return i.withMode(mode).withOwner(uid == -1 ? i.uid() : uid, gid == -1 ? i.gid() : gid);
        });
    }

    /** Sets access and modification times; null keeps a time. ctime becomes now. */
    public void utimens(String path, Timestamp atime, Timestamp mtime) {
        utimens(path, atime, mtime, Timestamp.now());
    }

    /**
     * As above with the request's instant {@code now}: UTIME_NOW for both times and the ctime that
     * follows are one instant, as the kernel takes one for the whole call.
     */
    public void utimens(String path, Timestamp atime, Timestamp mtime, Timestamp now) {
        setAttrs(resolve(path), i -> i.withTimes(atime == null ? i.atime() : atime, mtime == null ? i.mtime() : mtime,
                now));
    }

    private void setAttrs(long id, java.util.function.UnaryOperator<Inode> change) {
        try (Txn t = pool.begin()) {
            Inode i = inode(id);
            Inode changed = change.apply(i);
            Timestamp now = Timestamp.now();
            if (changed.ctime() == i.ctime()) {
                changed = changed.withTimes(changed.atime(), changed.mtime(), now);
            }
            t.setAttrs(new ObjectId(id), changed.encodeAttrs());
            t.commit();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Extended attributes: entries {@code 'x' + name} of the inode's object, the value as given.

    private static byte[] xattrKey(String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        byte[] key = new byte[n.length + 1];
        key[0] = XATTR;
        System.arraycopy(n, 0, key, 1, n.length);
        return key;
    }

    private Optional<byte[]> xattr(long id, String name) {
        return pool.entry(new ObjectId(id), xattrKey(name));
    }

    /**
     * Checks a name as Linux and ext4 do: user., trusted. and security. names, and the two POSIX ACL
     * names of system.; anything else is EOPNOTSUPP. user. attributes exist only on regular files and
     * directories (the VFS answers EPERM for others before asking; checked again here).
     */
    private static void checkXattrName(String name, Inode i, boolean write) {
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes == 0 || bytes > MAX_XATTR_NAME_BYTES) {
            throw new FsException(FsError.BUFFER_TOO_SMALL, "an extended attribute name of " + bytes + " bytes");
        }
        for (String prefix : new String[] {"user.", "trusted.", "security.", "system."}) {
            if (name.equals(prefix)) {
                // The VFS answers a bare namespace prefix with EINVAL (xattr_resolve_name).
                throw new FsException(FsError.INVALID, "an extended attribute name without a name after " + prefix);
            }
        }
        if (name.startsWith("user.")) {
            if (!i.isRegular() && !i.isDirectory()) {
                throw new FsException(write ? FsError.NOT_PERMITTED : FsError.NO_ATTRIBUTE,
                        "user. extended attributes on a file that is neither regular nor a directory");
            }
            return;
        }
        if (name.startsWith("trusted.") || name.startsWith("security.") || name.equals(Acl.ACCESS)
                || name.equals(Acl.DEFAULT)) {
            return;
        }
        throw new FsException(FsError.NOT_SUPPORTED, "extended attribute namespace of " + name);
    }

    /** The value of one attribute; NO_ATTRIBUTE when there is none. */
    public byte[] getxattr(String path, String name) {
        long id = resolve(path);
        checkXattrName(name, inode(id), false);
        return xattr(id, name).orElseThrow(() -> new FsException(FsError.NO_ATTRIBUTE, name));
    }

    /** Every attribute name the caller may see (trusted. only for root, as CAP_SYS_ADMIN), in key order. */
    public List<String> listxattr(String path, Caller caller) {
        return listxattr(path, caller.isRoot());
    }

    /** @param withTrusted whether the caller holds CAP_SYS_ADMIN (trusted.* names are listed only then) */
    public List<String> listxattr(String path, boolean withTrusted) {
        return xattrNames(resolve(path), withTrusted);
    }

    private List<String> xattrNames(long id, boolean withTrusted) {
        List<String> names = new ArrayList<>();
        byte[] after = null;
        while (true) {
            List<Entry> batch = pool.entries(new ObjectId(id), new byte[] {XATTR}, after, 1024);
            for (Entry e : batch) {
                String name = new String(e.key(), 1, e.key().length - 1, StandardCharsets.UTF_8);
                if (withTrusted || !name.startsWith("trusted.")) {
                    names.add(name);
                }
            }
            if (batch.size() < 1024) {
                return names;
            }
            after = batch.getLast().key();
        }
    }

    /**
     * Sets one attribute; flags XATTR_CREATE (EEXIST when it exists) and XATTR_REPLACE (ENODATA when
     * it does not). An access ACL also sets the mode's permission bits and, when the mode says it all,
     * is not stored (as on ext4); ctime changes.
     */
    public void setxattr(String path, String name, byte[] value, int flags) {
        long id = resolve(path);
        if (value.length > MAX_XATTR_VALUE_BYTES) {
            throw new FsException(FsError.LIST_TOO_BIG, "an extended attribute value of " + value.length + " bytes");
        }
        try (Txn t = pool.begin()) {
            Inode i = inode(id);
            checkXattrName(name, i, true);
            Optional<byte[]> old = xattr(id, name);
            if ((flags & XATTR_CREATE) != 0 && old.isPresent()) {
                throw new FsException(FsError.EXISTS, name);
            }
            if ((flags & XATTR_REPLACE) != 0 && old.isEmpty()) {
                throw new FsException(FsError.NO_ATTRIBUTE, name);
            }
            Inode changed = i;
            boolean store = true;
            if (name.equals(Acl.ACCESS) || name.equals(Acl.DEFAULT)) {
                Acl acl = Acl.decode(value);
                if (name.equals(Acl.DEFAULT) && !i.isDirectory()) {
                    throw new FsException(FsError.ACCESS_DENIED, "a default ACL on a file that is not a directory");
                }
                if (name.equals(Acl.ACCESS)) {
                    changed = i.withMode((i.mode() & ~0777) | acl.modeBits());
                    store = !acl.equivalentToMode();
                }
                value = acl.encode();
            }
            if (store) {
                checkXattrRoom(id, name, old.isPresent());
                t.putEntry(new ObjectId(id), xattrKey(name), value);
            } else if (old.isPresent()) {
                t.removeEntry(new ObjectId(id), xattrKey(name));
            }
            Timestamp now = Timestamp.now();
            t.setAttrs(new ObjectId(id), changed.withTimes(i.atime(), i.mtime(), now).encodeAttrs());
            t.commit();
        }
    }

    /** ENOSPC when a new name would make the inode's listing longer than listxattr can return. */
    private void checkXattrRoom(long id, String name, boolean exists) {
        if (exists) {
            return;
        }
        long listBytes = name.getBytes(StandardCharsets.UTF_8).length + 1;
        for (String n : xattrNames(id, true)) {
            listBytes += n.getBytes(StandardCharsets.UTF_8).length + 1;
        }
        if (listBytes > MAX_XATTR_LIST_BYTES) {
            throw new FsException(FsError.INODE_FULL, "the extended attribute names of inode " + id
                    + " would exceed " + MAX_XATTR_LIST_BYTES + " bytes");
        }
    }

    public void removexattr(String path, String name) {
        long id = resolve(path);
        try (Txn t = pool.begin()) {
            Inode i = inode(id);
            checkXattrName(name, i, true);
            if (xattr(id, name).isEmpty()) {
                throw new FsException(FsError.NO_ATTRIBUTE, name);
            }
            t.removeEntry(new ObjectId(id), xattrKey(name));
            t.setAttrs(new ObjectId(id), i.withTimes(i.atime(), i.mtime(), Timestamp.now()).encodeAttrs());
            t.commit();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Open files and data

    /** Opens an existing inode by path; the returned id is the file handle until {@link #release}. */
    public Inode open(String path) {
        try (Txn t = pool.begin()) {
            // Inside a transaction so that no unlink can slip between the lookup and the count.
            Inode i = getattr(path);
            openCounts.merge(i.id(), 1, Integer::sum);
            t.commit();
            return i;
        }
    }

    /** Drops one open handle; the last close of an unlinked inode deletes it. */
    public void release(long id) {
        try (Txn t = pool.begin()) {
            Integer left = openCounts.computeIfPresent(id, (k, n) -> n > 1 ? n - 1 : null);
            if (left == null && pool.find(new ObjectId(id)).isPresent()) {
                Inode i = inode(id);
                if (i.nlink() == 0) {
                    t.delete(new ObjectId(id));
                    t.removeEntry(ObjectId.POOL, orphanKey(id));
                }
            }
            t.commit();
        }
    }

    public int read(long id, long offset, MemorySegment dst) {
        if (offset < 0) {
            throw new FsException(FsError.INVALID, "negative offset");
        }
        int n;
        try {
            n = pool.read(new ObjectId(id), offset, dst);
        } catch (D4Exception.ObjectNotFound e) {
            throw new FsException(FsError.BAD_HANDLE, "inode " + id + " is not open");
        }
        touchAtime(id);
        return n;
    }

    /**
     * Access time as ext4 keeps it under its default relatime: a read or a listing updates atime
     * when atime is not newer than mtime or ctime, or is a day old. The kernel leaves atime of FUSE
     * inodes to the file system (S_NOATIME), so this is the only place it changes.
     */
    private void touchAtime(long id) {
        Timestamp now = Timestamp.now();
        Optional<Inode> i = cache.inode(id, () -> pool.find(new ObjectId(id)).map(FileSystem::asSeen));
        if (i.isEmpty() || !needsAtimeUpdate(i.get(), now)) {
            return;
        }
        try (Txn t = pool.begin()) {
            Inode current = pool.find(new ObjectId(id)).map(Inode::decode).orElse(null);
            if (current != null && needsAtimeUpdate(current, now)) {
                t.setAttrs(new ObjectId(id), current.withTimes(now, current.mtime(), current.ctime()).encodeAttrs());
                t.commit();
            }
        } catch (D4Exception.PoolClosed e) {
            // The pool stopped taking writes after an error: reads go on without atime, as on a
            // file system remounted read-only (the error that closed it was logged then).
        }
    }

    private static boolean needsAtimeUpdate(Inode i, Timestamp now) {
        return i.atime().compareTo(i.mtime()) <= 0 || i.atime().compareTo(i.ctime()) <= 0
                || now.seconds() - i.atime().seconds() >= RELATIME_SECONDS;
    }

    /** Writes at {@code offset} and updates mtime and ctime; returns the byte count. */
    public int write(long id, long offset, MemorySegment src) {
        return write(id, offset, src, Caller.ROOT, gid -> true);
    }

    /**
     * Writes as {@code caller}. A write by someone other than root who is not in the file's group
     * clears its setgid bit, as the kernel's setattr_should_drop_sgid says; FUSE's own killpriv only
     * covers setuid and setgid-with-group-exec, so that one case is d4's. {@code inGroup} answers
     * membership (supplementary groups included) and is asked only in that case.
     */
    public int write(long id, long offset, MemorySegment src, Caller caller, java.util.function.IntPredicate inGroup) {
        return write(id, offset, src, caller, inGroup, false);
    }

    /**
     * As above; with {@code append} (a descriptor opened O_APPEND) the data goes to the end of the
     * file as the engine knows it, whatever offset the kernel computed: with libfuse 2 each hard link
     * is its own kernel inode, whose size may be stale when another name grew the file.
     */
    public int write(long id, long offset, MemorySegment src, Caller caller, java.util.function.IntPredicate inGroup,
            boolean append) {
        if (offset < 0) {
            throw new FsException(FsError.INVALID, "negative offset");
        }
        if (append) {
            try (Txn t = pool.begin()) {
                Inode i = inode(id);
                if (i.isDirectory()) {
                    throw new FsException(FsError.IS_DIRECTORY, "write to a directory");
                }
                t.write(new ObjectId(id), i.sizeBytes(), src);
                Timestamp now = Timestamp.now();
                Inode changed = dropSetgid(i, caller, inGroup);
                t.setAttrs(new ObjectId(id), changed.withTimes(i.atime(), now, now).encodeAttrs());
                t.commit();
                return (int) src.byteSize();
            }
        }
        if (inode(id).isDirectory()) {
            throw new FsException(FsError.IS_DIRECTORY, "write to a directory");
        }
        // The data goes to the drive before the write lock is taken (see Pool.stage): concurrent
        // writers overlap their device writes, and the transaction only maps the blocks.
        try (StagedWrite staged = pool.stage(new ObjectId(id), offset, src); Txn t = pool.begin()) {
            Inode i = inode(id);
            t.write(staged);
            Timestamp now = Timestamp.now();
            Inode changed = dropSetgid(i, caller, inGroup);
            t.setAttrs(new ObjectId(id), changed.withTimes(i.atime(), now, now).encodeAttrs());
            t.commit();
            return (int) src.byteSize();
        }
    }

    public static final int FALLOC_FL_KEEP_SIZE = 0x01, FALLOC_FL_PUNCH_HOLE = 0x02, FALLOC_FL_ZERO_RANGE = 0x10;
    /** fallocate works in steps of this many bytes, each one transaction (a journal record has a limit). */
    private static final long FALLOCATE_STEP_BYTES = 256L << 20;

    /**
     * fallocate(2) on an open regular file: mode 0 gives the range real zeroed blocks and grows the
     * size to cover it, KEEP_SIZE the same without growing, PUNCH_HOLE | KEEP_SIZE zeroes the range and
     * releases its whole blocks. Other modes (collapse, insert, zero range) are EOPNOTSUPP, as on file
     * systems without them. Large ranges are allocated in steps: ENOSPC part way keeps the steps done,
     * as ext4 keeps what it allocated.
     */
    public void fallocate(long id, int mode, long offset, long length) {
        fallocate(id, mode, offset, length, Caller.ROOT, gid -> true);
    }

    public void fallocate(long id, int mode, long offset, long length, Caller caller,
            java.util.function.IntPredicate inGroup) {
        if (offset < 0 || length <= 0) {
            throw new FsException(FsError.INVALID, "fallocate of " + length + " bytes at " + offset);
        }
        if (offset > d4.engine.Limits.MAX_OBJECT_BYTES - length) {
            throw new FsException(FsError.FILE_TOO_BIG, "fallocate beyond the largest file");
        }
        boolean punch = (mode & FALLOC_FL_PUNCH_HOLE) != 0;
        boolean zero = (mode & FALLOC_FL_ZERO_RANGE) != 0;
        boolean keepSize = (mode & FALLOC_FL_KEEP_SIZE) != 0;
        if ((mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) != 0 || (punch && !keepSize)
                || (punch && zero)) {
            throw new FsException(FsError.NOT_SUPPORTED, "fallocate mode 0x" + Integer.toHexString(mode));
        }
        for (long from = offset; from < offset + length; from += FALLOCATE_STEP_BYTES) {
            long step = Math.min(FALLOCATE_STEP_BYTES, offset + length - from);
            try (Txn t = pool.begin()) {
                Inode i = inode(id);
                if (i.isDirectory()) {
                    throw new FsException(FsError.IS_DIRECTORY, "fallocate of a directory");
                }
                if (!i.isRegular()) {
                    throw new FsException(FsError.NOT_SUPPORTED, "fallocate of a file that is not regular");
                }
                if (punch) {
                    t.punchHole(new ObjectId(id), from, step);
                } else if (zero) {
                    t.zeroRange(new ObjectId(id), from, step, keepSize);
                } else {
                    t.allocate(new ObjectId(id), from, step, keepSize);
                }
                Timestamp now = Timestamp.now();
                t.setAttrs(new ObjectId(id), dropSetgid(i, caller, inGroup).withTimes(i.atime(), now, now).encodeAttrs());
                t.commit();
            }
        }
    }

    /**
     * A change of a file's data by someone other than root who is not in the file's group clears
     * its setgid bit (the kernel's setattr_should_drop_sgid, Linux 6.2+); FUSE's own kill-priv rule
     * only covers setuid and setgid with group-exec, so d4 applies this one. {@code inGroup} answers
     * membership (supplementary groups included) and is asked only when it matters.
     */
    private static Inode dropSetgid(Inode i, Caller caller, java.util.function.IntPredicate inGroup) {
        if ((i.mode() & 02000) != 0 && !caller.isRoot() && caller.gid() != i.gid() && !inGroup.test(i.gid())) {
            return i.withMode(i.mode() & ~02000);
        }
        return i;
    }

    public void truncate(String path, long size) {
        truncate(resolve(path), size);
    }

    public void truncate(String path, long size, Caller caller, java.util.function.IntPredicate inGroup) {
        truncate(resolve(path), size, caller, inGroup);
    }

    public void truncate(long id, long size) {
        truncate(id, size, Caller.ROOT, gid -> true);
    }

    public void truncate(long id, long size, Caller caller, java.util.function.IntPredicate inGroup) {
        if (size < 0) {
            throw new FsException(FsError.INVALID, "negative size");
        }
        try (Txn t = pool.begin()) {
            Inode i = inode(id);
            if (i.isDirectory()) {
                throw new FsException(FsError.IS_DIRECTORY, "truncate of a directory");
            }
            if (!i.isRegular()) {
                throw new FsException(FsError.INVALID, "truncate of a non-regular file");
            }
            t.truncate(new ObjectId(id), size);
            Timestamp now = Timestamp.now();
            t.setAttrs(new ObjectId(id), dropSetgid(i, caller, inGroup).withTimes(i.atime(), now, now).encodeAttrs());
            t.commit();
        }
    }

    /** Makes everything committed so far durable (d4 has one journal: fsync of one file syncs all). */
    public void fsync() {
        pool.sync();
    }

    public Pool pool() {
        return pool;
    }
}
