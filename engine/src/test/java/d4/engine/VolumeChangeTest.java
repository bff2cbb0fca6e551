package d4.engine;

import static d4.engine.Pools.BLOCK;
import static d4.engine.Pools.MIB;
import static d4.engine.Pools.create;
import static d4.engine.Pools.open;
import static d4.engine.Pools.random;
import static d4.engine.Pools.readAll;
import static d4.engine.Pools.utf8;
import static d4.engine.Pools.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.volume.Superblock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** d4 volume add and remove at the engine: a pool grows by a volume, spreads data over it, and shrinks back without losing a byte. */
class VolumeChangeTest {
    @TempDir
    Path dir;

    private final Map<ObjectId, byte[]> model = new LinkedHashMap<>();

    private void fill(Pool pool, Random r, int files, int maxBytes) {
        for (int i = 0; i < files; i++) {
            ObjectId id = create(pool, utf8("file " + model.size()));
            byte[] data = random(r, 1 + r.nextInt(maxBytes));
            write(pool, id, 0, data);
            try (Txn t = pool.begin()) {
                t.putEntry(ObjectId.POOL, utf8(String.format("name-%06d", id.value())), utf8("x".repeat(200)));
                t.commit();
            }
            model.put(id, data);
        }
    }

    private void checkAll(Pool pool, String when) {
        for (var e : model.entrySet()) {
            assertArrayEquals(e.getValue(), readAll(pool, e.getKey()), "object " + e.getKey() + " " + when);
        }
        assertEquals(List.of(), pool.checkInvariants(), when);
    }

    @Test
    void aVolumeAddedTakesNewDataAndTheLastVolumeRemovedGivesItBack() {
        Path v0 = dir.resolve("v0");
        Path v1 = dir.resolve("v1");
        Path v2 = dir.resolve("v2");
        Pool.format("grow", List.of(new VolumeSpec(v0, 64 * MIB), new VolumeSpec(v1, 64 * MIB)));
        Random r = new Random(3);
        try (Pool pool = open(v0, v1)) {
            fill(pool, r, 40, 600_000);
        }
        Superblock added = Pool.addVolume(List.of(v1, v0), new VolumeSpec(v2, 96 * MIB), Pools.QUIET);
        assertEquals(2, added.volumeIndex());
        assertEquals(3, Pool.readSuperblock(v0).volumeCount());
        assertEquals(3, Pool.readSuperblock(v1).volumeCount());
        assertThrows(D4Exception.PoolUnavailable.class, () -> open(v0, v1), "the pool has three members now");
        try (Pool pool = open(v0, v1, v2)) {
            assertEquals(3, pool.info().volumes().size());
            long freeBefore = pool.info().volumes().get(2).freeBytes();
            fill(pool, r, 30, 600_000);
            assertTrue(pool.info().volumes().get(2).freeBytes() < freeBefore, "new data spreads onto the new volume");
            for (PoolInfo.VolumeInfo v : pool.info().volumes()) {
                assertTrue(v.freeBytes() < v.capacityBytes(), "every volume holds data: " + v);
            }
            checkAll(pool, "after the add");
        }
        List<long[]> progress = new ArrayList<>();
        Pool.removeVolume(List.of(v0, v1, v2), v2, Pools.QUIET, (done, total) -> progress.add(new long[] {done, total}));
        assertTrue(progress.size() > 2 && progress.getLast()[0] == progress.getLast()[1] && progress.getLast()[1] > 0,
                "progress goes up to the blocks moved");
        assertFalse(Superblock.hasMagic(Pools.readFile(v2, 0, BLOCK)), "the removed volume's superblock is wiped");
        assertEquals(2, Pool.readSuperblock(v0).volumeCount());
        try (Pool pool = open(v0, v1)) {
            assertEquals(2, pool.info().volumes().size());
            checkAll(pool, "after the remove");
            fill(pool, r, 5, 100_000);
        }
        try (Pool pool = open(v1, v0)) {
            checkAll(pool, "reopened");
        }
    }

    @Test
    void removalIsRefusedWhereItCannotWorkAndLosesNothing() {
        Path v0 = dir.resolve("v0");
        Path v1 = dir.resolve("v1");
        Path v2 = dir.resolve("v2");
        Pool.format("p", List.of(new VolumeSpec(v0, 64 * MIB), new VolumeSpec(v1, 64 * MIB), new VolumeSpec(v2, 64 * MIB)));
        Random r = new Random(4);
        try (Pool pool = open(v0, v1, v2)) {
            fill(pool, r, 60, 1_000_000); // about 30 MiB, spread over the three volumes
        }
        List<Path> all = List.of(v0, v1, v2);
        D4Exception.InvalidArgument zero = assertThrows(D4Exception.InvalidArgument.class,
                () -> Pool.removeVolume(all, v0, Pools.QUIET, (a, b) -> { }));
        assertTrue(zero.getMessage().contains("journal"), zero.getMessage());
        D4Exception.InvalidArgument middle = assertThrows(D4Exception.InvalidArgument.class,
                () -> Pool.removeVolume(all, v1, Pools.QUIET, (a, b) -> { }));
        assertTrue(middle.getMessage().contains("only the last volume"), middle.getMessage());
        try (Pool pool = open(v0, v1, v2)) {
            checkAll(pool, "after the refusals");
            // Fill the pool, so that the third volume's data has nowhere to go.
            // (fill records a file only once its write succeeded: the one that hit the full pool is not compared)
            assertThrows(D4Exception.NoSpace.class, () -> fill(pool, r, 1000, 1_000_000));
        }
        D4Exception.NoSpace full = assertThrows(D4Exception.NoSpace.class,
                () -> Pool.removeVolume(all, v2, Pools.QUIET, (a, b) -> { }));
        assertTrue(full.getMessage().contains("room"), full.getMessage());
        assertEquals(3, Pool.readSuperblock(v0).volumeCount(), "nothing changed");
        try (Pool pool = open(v0, v1, v2)) {
            checkAll(pool, "after the refused removal");
        }
    }

    @Test
    void anAddIsRefusedWhileThePoolIsOpen() {
        Path v0 = Pools.formatOne(dir, "p");
        Path v1 = dir.resolve("v1");
        Pool mounted = open(v0);
        try {
            D4Exception e = assertThrows(D4Exception.class,
                    () -> Pool.addVolume(List.of(v0), new VolumeSpec(v1, 64 * MIB), Pools.QUIET));
            assertTrue(e.getMessage().contains("in use") || e.getMessage().contains("lock"), e.getMessage());
        } finally {
            mounted.close();
        }
        assertFalse(Files.exists(v1), "nothing was created");
        assertEquals(1, Pool.readSuperblock(v0).volumeCount());
    }

    /** A removal interrupted after volume 0's count dropped: running it again only wipes the volume. */
    @Test
    void aRemovalInterruptedAfterItsCommitPointIsFinishedByRunningItAgain() throws Exception {
        Path v0 = dir.resolve("v0");
        Path v1 = dir.resolve("v1");
        Pool.format("p", List.of(new VolumeSpec(v0, 64 * MIB), new VolumeSpec(v1, 64 * MIB)));
        byte[] oldV1 = Pools.readFile(v1, 0, BLOCK);
        byte[] oldV1Copy = Pools.readFile(v1, 64 * MIB - BLOCK, BLOCK);
        Pool.removeVolume(List.of(v0, v1), v1, Pools.QUIET, (a, b) -> { });
        // v1 as if the crash came before its superblocks were wiped.
        try (var ch = java.nio.channels.FileChannel.open(v1, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(oldV1), 0);
            ch.write(java.nio.ByteBuffer.wrap(oldV1Copy), 64 * MIB - BLOCK);
        }
        D4Exception.PoolUnavailable stale = assertThrows(D4Exception.PoolUnavailable.class, () -> open(v0, v1));
        assertTrue(stale.getMessage().contains("is no member of pool p") && stale.getMessage().contains("d4 volume remove"),
                stale.getMessage());
        Pool.removeVolume(List.of(v0, v1), v1, Pools.QUIET, (a, b) -> { });
        assertFalse(Superblock.hasMagic(Pools.readFile(v1, 0, BLOCK)));
        try (Pool pool = open(v0)) {
            assertEquals(1, pool.info().volumes().size());
        }
    }

    /** A crash between volume 0's new member count and the others': open catches the others up. */
    @Test
    void anAddInterruptedAfterItsCommitPointIsCaughtUpAtOpen() throws Exception {
        Path v0 = dir.resolve("v0");
        Path v1 = dir.resolve("v1");
        Path v2 = dir.resolve("v2");
        Pool.format("p", List.of(new VolumeSpec(v0, 64 * MIB), new VolumeSpec(v1, 64 * MIB)));
        byte[] oldV1 = Pools.readFile(v1, 0, BLOCK);
        byte[] oldV1Copy = Pools.readFile(v1, 64 * MIB - BLOCK, BLOCK);
        Pool.addVolume(List.of(v0, v1), new VolumeSpec(v2, 64 * MIB), Pools.QUIET);
        // Volume 1 as if the crash came before its superblocks were rewritten.
        try (var ch = java.nio.channels.FileChannel.open(v1, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(oldV1), 0);
            ch.write(java.nio.ByteBuffer.wrap(oldV1Copy), 64 * MIB - BLOCK);
        }
        assertEquals(2, Pool.readSuperblock(v1).volumeCount());
        try (Pool pool = open(v0, v1, v2)) {
            assertEquals(3, pool.info().volumes().size());
        }
        assertEquals(3, Pool.readSuperblock(v1).volumeCount(), "caught up");
        assertTrue(Files.size(v2) == 64 * MIB);
    }
}
