package d4.fs;

import d4.engine.Entry;
import d4.engine.ObjectId;
import d4.engine.ObjectInfo;
import d4.engine.Pool;
import d4.engine.Txn;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The offline check of a pool (d4 fsck): the engine's invariants and published metadata, then the
 * namespace — every directory entry names an existing inode of the type it says, directories have
 * one parent and the link count 2 + subdirectories, files the link count of their names, every
 * inode is reachable from the root or recorded as an orphan — and, with {@code data}, every data
 * block against its checksum.
 *
 * <p>Repair fixes only what the check proves: link counts, directory parents and entry types are
 * recomputed from the entries; entries naming no inode are removed; orphans are deleted (as the
 * next mount would); inodes reachable from nowhere are linked into /lost+found as "#id" (never
 * deleted: their data may matter). Damaged data and damaged inode attributes are reported, not
 * touched. Repairs run in passes, as e2fsck's do, until a pass finds nothing left to fix.
 */
public final class Fsck {
    /** e2fsck's exit codes, which admins and scripts already know. */
    public static final int CLEAN = 0, CORRECTED = 1, UNCORRECTED = 4;

    /** What a check found and, with repair, what it fixed; {@link #exitCode()} as e2fsck's. */
    public record Report(long inodes, long directories, long dataBytesVerified, List<String> problems, List<String> repaired) {
        public int exitCode() {
            if (problems.isEmpty()) {
                return repaired.isEmpty() ? CLEAN : CORRECTED;
            }
            return UNCORRECTED;
        }
    }

    /** Told as inodes are checked (and data verified), for a progress line. */
    @FunctionalInterface
    public interface Progress {
        void update(String phase, long done, long total);
    }

    private static final String LOST_FOUND = "lost+found";
    private static final int MAX_PASSES = 4;

    private final Pool pool;
    private final boolean repair;
    private final boolean data;
    private final Progress progress;

    /** @param pool opened read-only unless {@code repair}; no mount may be using it */
    public Fsck(Pool pool, boolean repair, boolean data, Progress progress) {
        this.pool = pool;
        this.repair = repair;
        this.data = data;
        this.progress = progress;
    }

    public Report run() {
        List<String> repaired = new ArrayList<>();
        Pass pass = new Pass();
        for (int i = 0; i < MAX_PASSES; i++) {
            pass = new Pass();
            pass.check();
            if (!repair || pass.fixes.isEmpty()) {
                break;
            }
            for (Fix f : pass.fixes) {
                try (Txn t = pool.begin()) {
                    f.apply(t);
                    t.commit();
                }
                repaired.add(f.description());
            }
            pool.sync();
        }
        if (repair) {
            // After the namespace passes: orphans they deleted gave their blocks back already.
            pool.repairFreeSpace().ifPresent(repaired::add);
        }
        List<String> problems = new ArrayList<>(pool.checkInvariants());
        problems.addAll(pool.verifyMetadata());
        problems.addAll(pass.unrepairable);
        if (!repair) {
            pass.fixes.forEach(f -> problems.add(f.problem()));
        } else {
            pass.fixes.forEach(f -> problems.add(f.problem() + " (still found after " + MAX_PASSES + " repair passes)"));
        }
        long repairedBefore = pool.info().repairedBlocks();
        long verified = data ? verifyData(pass, problems) : 0;
        long rewritten = pool.info().repairedBlocks() - repairedBefore;
        if (rewritten > 0) {
            repaired.add("rewrote " + rewritten + " damaged block copies from their intact copies");
        }
        return new Report(pass.inodes, pass.directories, verified, List.copyOf(problems), List.copyOf(repaired));
    }

    private long verifyData(Pass pass, List<String> problems) {
        long[] bytes = {0};
        long done = 0;
        for (Map.Entry<Long, String> f : pass.regularFiles.entrySet()) {
            for (Pool.DamagedRange r : pool.verify(new ObjectId(f.getKey()), n -> bytes[0] += n)) {
                problems.add("data of " + f.getValue() + " bytes " + r.fromByte() + "-" + (r.toByte() - 1)
                        + (r.repairable() ? " has a damaged copy: " + r.detail()
                                + " (d4 fsck --repair --data, or d4 scrub while mounted, rewrites it)"
                                : " is damaged: " + r.detail() + " (restore the file from a backup)"));
            }
            progress.update("data", ++done, pass.regularFiles.size());
        }
        return bytes[0];
    }

    /** One repair a pass proved necessary. */
    private record Fix(String problem, String description, TxnAction action) {
        void apply(Txn t) {
            action.apply(t);
        }
    }

    @FunctionalInterface
    private interface TxnAction {
        void apply(Txn t);
    }

    /** One walk over the namespace, collecting problems (fixable or not). */
    private final class Pass {
        final List<Fix> fixes = new ArrayList<>();
        final List<String> unrepairable = new ArrayList<>();
        /** Regular files reached, by one of their paths (for the data check and its report). */
        final Map<Long, String> regularFiles = new HashMap<>();
        long inodes;
        long directories;

        void check() {
            Optional<byte[]> rootEntry = pool.entry(ObjectId.POOL, FileSystem.ROOT_KEY);
            if (rootEntry.isEmpty()) {
                unrepairable.add("the pool has no root directory entry (fs.root): it was never mounted, or its"
                        + " metadata is badly damaged; restore from a backup");
                return;
            }
            long root = ByteBuffer.wrap(rootEntry.get()).getLong();
            Set<Long> unseen = new TreeSet<>();
            for (ObjectId id : pool.objectIds()) {
                if (id.value() != ObjectId.POOL.value()) {
                    unseen.add(id.value());
                }
            }
            long total = unseen.size();
            Map<Long, Integer> names = new HashMap<>(); // non-directory inode -> entries naming it
            Map<Long, String> firstPath = new HashMap<>();
            Set<Long> orphans = orphans(unseen);
            Inode rootInode = decode(root, "/");
            if (rootInode == null || !rootInode.isDirectory()) {
                unrepairable.add("the root directory (inode " + root + ") is missing or not a directory; restore from a"
                        + " backup");
                return;
            }
            Set<Long> dirsSeen = new HashSet<>();
            ArrayDeque<Object[]> queue = new ArrayDeque<>();
            queue.add(new Object[] {rootInode, "/"});
            dirsSeen.add(root);
            unseen.remove(root);
            Long lostFound = null;
            while (!queue.isEmpty()) {
                Object[] next = queue.poll();
                Inode dir = (Inode) next[0];
                String dirPath = (String) next[1];
                directories++;
                inodes++;
                progress.update("namespace", inodes, total);
                int subdirs = 0;
                for (DirEntry e : entries(dir.id())) {
                    String name = new String(e.name(), StandardCharsets.UTF_8);
                    String path = (dirPath.equals("/") ? "" : dirPath) + "/" + name;
                    if (dir.id() == root && name.equals(LOST_FOUND)) {
                        lostFound = e.inode();
                    }
                    boolean exists = pool.find(new ObjectId(e.inode())).isPresent();
                    Inode child = exists ? decode(e.inode(), path) : null;
                    if (child == null) {
                        unseen.remove(e.inode()); // damaged attributes: reported once, by decode
                        if (!exists) {
                            byte[] key = FileSystem.direntKey(e.name());
                            long dirId = dir.id();
                            fixes.add(new Fix(path + " names inode " + e.inode() + ", which does not exist",
                                    "removed the entry " + path, t -> t.removeEntry(new ObjectId(dirId), key)));
                        }
                        continue;
                    }
                    if (child.typeBits() != e.typeBits()) {
                        byte[] key = FileSystem.direntKey(e.name());
                        long dirId = dir.id();
                        int type = child.typeBits();
                        fixes.add(new Fix(path + ": the entry says type 0" + Integer.toOctalString(e.typeBits())
                                + " but the inode is 0" + Integer.toOctalString(type),
                                "corrected the type of " + path, t -> t.putEntry(new ObjectId(dirId), key,
                                        FileSystem.direntValue(child.id(), type))));
                    }
                    if (child.isDirectory()) {
                        subdirs++;
                        if (!dirsSeen.add(child.id())) {
                            unrepairable.add("directory inode " + child.id() + " has a second name " + path
                                    + " (a directory may have one); remove one of the names with the pool mounted");
                            continue;
                        }
                        unseen.remove(child.id());
                        if (child.parent() != dir.id()) {
                            long parent = dir.id();
                            fixes.add(new Fix(path + " records parent " + child.parent() + " but is in directory " + parent,
                                    "set the parent of " + path, t -> t.setAttrs(new ObjectId(child.id()),
                                            child.withParent(parent).encodeAttrs())));
                        }
                        queue.add(new Object[] {child, path});
                    } else {
                        names.merge(child.id(), 1, Integer::sum);
                        firstPath.putIfAbsent(child.id(), path);
                        unseen.remove(child.id());
                    }
                }
                int expected = 2 + subdirs;
                if (dir.nlink() != expected) {
                    fixes.add(new Fix(dirPath + " has link count " + dir.nlink() + ", should be " + expected,
                            "set the link count of " + dirPath + " to " + expected,
                            t -> t.setAttrs(new ObjectId(dir.id()), dir.withNlink(expected).encodeAttrs())));
                }
            }
            for (Map.Entry<Long, Integer> n : names.entrySet()) {
                Inode i = decode(n.getKey(), firstPath.get(n.getKey()));
                inodes++;
                progress.update("namespace", inodes, total);
                if (i == null) {
                    continue;
                }
                if (i.isRegular()) {
                    regularFiles.put(i.id(), firstPath.get(i.id()));
                }
                if (orphans.contains(i.id())) {
                    byte[] key = orphanKey(i.id());
                    fixes.add(new Fix("inode " + i.id() + " is recorded as an orphan but has names (" + firstPath.get(i.id())
                            + ")", "removed the orphan record of inode " + i.id(),
                            t -> t.removeEntry(ObjectId.POOL, key)));
                }
                if (i.nlink() != n.getValue()) {
                    int count = n.getValue();
                    fixes.add(new Fix(firstPath.get(i.id()) + " has link count " + i.nlink() + ", but " + count
                            + " entries name it", "set the link count of " + firstPath.get(i.id()) + " to " + count,
                            t -> t.setAttrs(new ObjectId(i.id()), i.withNlink(count).encodeAttrs())));
                }
            }
            for (long id : orphans) {
                if (!names.containsKey(id)) {
                    unseen.remove(id);
                    byte[] key = orphanKey(id);
                    fixes.add(new Fix("inode " + id + " was deleted while open and not yet removed",
                            "removed orphan inode " + id, t -> {
                                if (pool.find(new ObjectId(id)).isPresent()) {
                                    t.delete(new ObjectId(id));
                                }
                                t.removeEntry(ObjectId.POOL, key);
                            }));
                }
            }
            linkUnreachable(unseen, root, lostFound);
        }

        /** Inodes no entry reaches: linked into /lost+found (created when needed) by id. */
        private void linkUnreachable(Set<Long> unseen, long root, Long lostFound) {
            // Only the tops of unreachable trees: what an unreachable directory names comes back with it.
            Set<Long> named = new HashSet<>();
            List<Inode> candidates = new ArrayList<>();
            for (long id : unseen) {
                Inode i = decode(id, "inode " + id);
                if (i == null) {
                    continue;
                }
                candidates.add(i);
                if (i.isDirectory()) {
                    entries(id).forEach(e -> named.add(e.inode()));
                }
            }
            List<Inode> lost = candidates.stream().filter(i -> !named.contains(i.id())).toList();
            if (lost.isEmpty()) {
                if (!candidates.isEmpty()) {
                    unrepairable.add(candidates.size() + " unreachable inodes name only each other (a directory cycle: "
                            + describe(candidates) + "); copy out what you need with the pool mounted, then reformat");
                }
                return;
            }
            fixes.add(new Fix(lost.size() + " inodes are in no directory (" + describe(lost) + ")",
                    "linked " + lost.size() + " unreachable inodes into /" + LOST_FOUND, t -> {
                        long lf = lostFound != null ? lostFound : createLostFound(t, root);
                        int subdirs = 0;
                        for (Inode i : lost) {
                            byte[] key = FileSystem.direntKey(("#" + i.id()).getBytes(StandardCharsets.UTF_8));
                            t.putEntry(new ObjectId(lf), key, FileSystem.direntValue(i.id(), i.typeBits()));
                            if (i.isDirectory()) {
                                subdirs++;
                                t.setAttrs(new ObjectId(i.id()), i.withParent(lf).encodeAttrs());
                            } else {
                                t.setAttrs(new ObjectId(i.id()), i.withNlink(i.nlink() + 1).encodeAttrs());
                            }
                        }
                        if (subdirs > 0 && lostFound != null) {
                            Inode lfInode = decode(lf, "/" + LOST_FOUND);
                            t.setAttrs(new ObjectId(lf), lfInode.withNlink(lfInode.nlink() + subdirs).encodeAttrs());
                        }
                        // A new lost+found gets its link count in the next pass, which recomputes it.
                    }));
        }

        private long createLostFound(Txn t, long root) {
            Timestamp now = Timestamp.now();
            Inode proto = new Inode(0, Inode.S_IFDIR | 0700, 0, 0, 2, 0, 0, 0, now, now, now, now, root, new byte[0]);
            ObjectId id = t.create(proto.encodeAttrs());
            t.putEntry(new ObjectId(root), FileSystem.direntKey(LOST_FOUND.getBytes(StandardCharsets.UTF_8)),
                    FileSystem.direntValue(id.value(), Inode.S_IFDIR));
            return id.value();
        }

        private static String describe(List<Inode> lost) {
            StringBuilder sb = new StringBuilder();
            for (Inode i : lost.subList(0, Math.min(5, lost.size()))) {
                sb.append(sb.isEmpty() ? "" : ", ").append("inode ").append(i.id()).append(" mode 0")
                        .append(Integer.toOctalString(i.mode())).append(' ').append(i.sizeBytes()).append(" bytes");
            }
            return lost.size() > 5 ? sb + ", ..." : sb.toString();
        }

        private Set<Long> orphans(Set<Long> existing) {
            Set<Long> out = new TreeSet<>();
            for (Entry e : pool.entries(ObjectId.POOL, FileSystem.ORPHAN_PREFIX, null, Integer.MAX_VALUE)) {
                long id = ByteBuffer.wrap(e.value()).getLong();
                if (!existing.contains(id)) {
                    byte[] key = e.key();
                    fixes.add(new Fix("an orphan record names inode " + id + ", which does not exist",
                            "removed the orphan record of inode " + id, t -> t.removeEntry(ObjectId.POOL, key)));
                } else {
                    out.add(id);
                }
            }
            return out;
        }

        private List<DirEntry> entries(long dir) {
            List<DirEntry> out = new ArrayList<>();
            byte[] after = null;
            while (true) {
                List<Entry> batch = pool.entries(new ObjectId(dir), new byte[] {FileSystem.DIRENT}, after, 1024);
                for (Entry e : batch) {
                    ByteBuffer v = ByteBuffer.wrap(e.value());
                    out.add(new DirEntry(java.util.Arrays.copyOfRange(e.key(), 1, e.key().length), v.getLong(), v.getInt()));
                }
                if (batch.size() < 1024) {
                    return out;
                }
                after = batch.getLast().key();
            }
        }

        /** The inode, or null (with an unrepairable problem noted) when its attributes do not decode. */
        private Inode decode(long id, String where) {
            Optional<ObjectInfo> info = pool.find(new ObjectId(id));
            if (info.isEmpty()) {
                return null;
            }
            try {
                return Inode.decode(info.get());
            } catch (RuntimeException e) {
                unrepairable.add(where + ": the attributes of inode " + id + " are damaged (" + e.getMessage()
                        + "); restore the file from a backup");
                return null;
            }
        }
    }

    private static byte[] orphanKey(long id) {
        byte[] key = java.util.Arrays.copyOf(FileSystem.ORPHAN_PREFIX, FileSystem.ORPHAN_PREFIX.length + 8);
        ByteBuffer.wrap(key, FileSystem.ORPHAN_PREFIX.length, 8).putLong(id);
        return key;
    }
}
