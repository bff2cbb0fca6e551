package d4.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.ObjectId;
import d4.engine.Pool;
import d4.engine.PoolOptions;
import d4.engine.Txn;
import d4.engine.VolumeSpec;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** fsck finds namespace damage made on purpose, repairs what it can prove, and is clean afterwards. */
class FsckTest {
    @TempDir
    Path dir;

    Path volume;

    PoolOptions options() {
        return PoolOptions.defaults().withDriveFactory(
                d4.engine.io.DriveFactory.forEngine(System.getProperty("d4.test.ioEngine", "io_uring")));
    }

    Fsck.Report fsck(boolean repair, boolean data) {
        PoolOptions o = repair ? options() : options().asReadOnly();
        try (Pool pool = Pool.open(List.of(volume), o)) {
            return new Fsck(pool, repair, data, (phase, done, total) -> {}).run();
        }
    }

    private static void write(FileSystem fs, String path, byte[] data) {
        Inode i = fs.create(path, 0644, Caller.ROOT);
        fs.write(i.id(), 0, MemorySegment.ofArray(data));
        fs.release(i.id());
    }

    @Test
    void aHealthyPoolIsClean() {
        volume = dir.resolve("v.d4vol");
        Pool.format("t", List.of(new VolumeSpec(volume, 64L << 20)));
        try (Pool pool = Pool.open(List.of(volume), options())) {
            FileSystem fs = new FileSystem(pool);
            fs.mkdir("/a", 0755, Caller.ROOT);
            fs.mkdir("/a/b", 0755, Caller.ROOT);
            write(fs, "/a/b/f", new byte[10_000]);
            fs.link("/a/b/f", "/g");
            fs.symlink("x".getBytes(StandardCharsets.UTF_8), "/l", Caller.ROOT);
            fs.mknod("/p", Inode.S_IFIFO | 0644, 0, Caller.ROOT);
        }
        Fsck.Report r = fsck(false, true);
        assertEquals(List.of(), r.problems());
        assertEquals(Fsck.CLEAN, r.exitCode());
        assertEquals(6, r.inodes(), "root, a, b, f (also named g), l, p: each once: " + r);
        assertEquals(3, r.directories());
        assertEquals(12_288, r.dataBytesVerified());
    }

    @Test
    void findsAndRepairsLinkCountsDanglingEntriesOrphansAndLostInodes() {
        volume = dir.resolve("v.d4vol");
        Pool.format("t", List.of(new VolumeSpec(volume, 64L << 20)));
        long fileId;
        long lostId;
        try (Pool pool = Pool.open(List.of(volume), options())) {
            FileSystem fs = new FileSystem(pool);
            fs.mkdir("/d", 0755, Caller.ROOT);
            write(fs, "/d/f", "hello".getBytes(StandardCharsets.UTF_8));
            write(fs, "/lost", "keep me".getBytes(StandardCharsets.UTF_8));
            fileId = fs.getattr("/d/f").id();
            lostId = fs.getattr("/lost").id();
            Inode f = fs.getattr("/d/f");
            Inode d = fs.getattr("/d");
            long rootId = fs.rootId();
            try (Txn t = pool.begin()) {
                t.setAttrs(new ObjectId(f.id()), f.withNlink(5).encodeAttrs()); // wrong link count
                t.setAttrs(new ObjectId(d.id()), d.withNlink(9).encodeAttrs()); // wrong directory link count
                t.putEntry(new ObjectId(d.id()), FileSystem.direntKey("ghost".getBytes(StandardCharsets.UTF_8)),
                        FileSystem.direntValue(424242, Inode.S_IFREG)); // names nothing
                t.removeEntry(new ObjectId(rootId), FileSystem.direntKey("lost".getBytes(StandardCharsets.UTF_8)));
                t.putEntry(ObjectId.POOL, orphanKey(777), java.nio.ByteBuffer.allocate(8).putLong(777).array());
                t.commit();
            }
        }
        Fsck.Report check = fsck(false, false);
        assertEquals(Fsck.UNCORRECTED, check.exitCode());
        String all = String.join("\n", check.problems());
        assertTrue(all.contains("/d/f has link count 5, but 1 entries name it"), all);
        assertTrue(all.contains("/d has link count 9, should be 2"), all);
        assertTrue(all.contains("/d/ghost names inode 424242, which does not exist"), all);
        assertTrue(all.contains("1 inodes are in no directory (inode " + lostId), all);
        assertTrue(all.contains("orphan record names inode 777"), all);
        assertEquals(List.of(), check.repaired(), "a check alone changes nothing");
        assertEquals(Fsck.UNCORRECTED, fsck(false, false).exitCode(), "still damaged: the check wrote nothing");

        Fsck.Report repair = fsck(true, false);
        assertEquals(Fsck.CORRECTED, repair.exitCode(), repair.toString());
        assertEquals(Fsck.CLEAN, fsck(false, false).exitCode(), "clean after the repair");
        try (Pool pool = Pool.open(List.of(volume), options())) {
            FileSystem fs = new FileSystem(pool);
            assertEquals(1, fs.getattr("/d/f").nlink());
            assertEquals(fileId, fs.getattr("/d/f").id());
            Inode found = fs.getattr("/lost+found/#" + lostId);
            byte[] b = new byte[7];
            fs.read(found.id(), 0, MemorySegment.ofArray(b));
            assertEquals("keep me", new String(b, StandardCharsets.UTF_8), "the lost file's data is kept");
            assertEquals(3, fs.readdir("/d").size(), "., .. and f: the dangling entry is gone");
        }
    }

    @Test
    void dataCheckNamesADamagedFile() throws Exception {
        volume = dir.resolve("v.d4vol");
        Pool.format("t", List.of(new VolumeSpec(volume, 64L << 20)));
        byte[] marker = new byte[4096];
        Arrays.fill(marker, (byte) 'M');
        try (Pool pool = Pool.open(List.of(volume), options())) {
            FileSystem fs = new FileSystem(pool);
            fs.mkdir("/x", 0755, Caller.ROOT);
            write(fs, "/x/damaged", marker);
        }
        byte[] all = Files.readAllBytes(volume);
        int at = -1;
        for (int i = 0; i + 4096 <= all.length && at < 0; i += 4096) {
            if (Arrays.equals(all, i, i + 4096, marker, 0, 4096)) {
                at = i;
            }
        }
        assertTrue(at > 0);
        try (RandomAccessFile raf = new RandomAccessFile(volume.toFile(), "rw")) {
            raf.seek(at + 9);
            raf.write('N');
        }
        assertEquals(Fsck.CLEAN, fsck(false, false).exitCode(), "without --data the damage is not seen");
        Fsck.Report r = fsck(false, true);
        assertEquals(Fsck.UNCORRECTED, r.exitCode());
        assertEquals(1, r.problems().size(), r.toString());
        assertTrue(r.problems().getFirst().startsWith("data of /x/damaged bytes 0-4095 is damaged"), r.toString());
        assertEquals(Fsck.UNCORRECTED, fsck(true, true).exitCode(), "repair never touches damaged data");
    }

    @Test
    void aDamagedCopyInAMirroredPoolIsReportedThenRewrittenByRepair() throws Exception {
        volume = dir.resolve("a.d4vol");
        Path second = dir.resolve("b.d4vol");
        Pool.format("m", List.of(new VolumeSpec(volume, 64L << 20), new VolumeSpec(second, 64L << 20)), 2);
        byte[] marker = new byte[4096];
        Arrays.fill(marker, (byte) 'Q');
        try (Pool pool = Pool.open(List.of(volume, second), options())) {
            write(new FileSystem(pool), "/m", marker);
        }
        byte[] all = Files.readAllBytes(second);
        int at = -1;
        for (int i = 0; i + 4096 <= all.length && at < 0; i += 4096) {
            if (Arrays.equals(all, i, i + 4096, marker, 0, 4096)) {
                at = i;
            }
        }
        assertTrue(at > 0);
        try (RandomAccessFile raf = new RandomAccessFile(second.toFile(), "rw")) {
            raf.seek(at + 1);
            raf.write('R');
        }
        Fsck.Report check;
        try (Pool pool = Pool.open(List.of(volume, second), options().asReadOnly())) {
            check = new Fsck(pool, false, true, (phase, done, total) -> {}).run();
        }
        assertEquals(Fsck.UNCORRECTED, check.exitCode());
        assertTrue(check.problems().getFirst().startsWith("data of /m bytes 0-4095 has a damaged copy"), check.toString());
        Fsck.Report repair;
        try (Pool pool = Pool.open(List.of(volume, second), options())) {
            repair = new Fsck(pool, true, true, (phase, done, total) -> {}).run();
        }
        assertEquals(Fsck.CORRECTED, repair.exitCode(), repair.toString());
        assertEquals(List.of("rewrote 1 damaged block copies from their intact copies"), repair.repaired());
        try (Pool pool = Pool.open(List.of(volume, second), options().asReadOnly())) {
            assertEquals(Fsck.CLEAN, new Fsck(pool, false, true, (phase, done, total) -> {}).run().exitCode());
        }
    }

    private static byte[] orphanKey(long id) {
        byte[] key = Arrays.copyOf(FileSystem.ORPHAN_PREFIX, FileSystem.ORPHAN_PREFIX.length + 8);
        java.nio.ByteBuffer.wrap(key, FileSystem.ORPHAN_PREFIX.length, 8).putLong(id);
        return key;
    }
}
