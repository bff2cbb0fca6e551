package d4.engine;

import static d4.engine.Pools.BLOCK;
import static d4.engine.Pools.MIB;
import static d4.engine.Pools.create;
import static d4.engine.Pools.open;
import static d4.engine.Pools.random;
import static d4.engine.Pools.read;
import static d4.engine.Pools.readAll;
import static d4.engine.Pools.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pools with two copies: every block on two volumes; a damaged copy is read from the other and rewritten. */
class MirrorTest {
    @TempDir
    Path dir;

    Path v0;
    Path v1;

    private void format() {
        v0 = dir.resolve("a.d4vol");
        v1 = dir.resolve("b.d4vol");
        Pool.format("m", List.of(new VolumeSpec(v0, 64 * MIB), new VolumeSpec(v1, 64 * MIB)), 2);
    }

    private static byte[] marker(String text) {
        byte[] b = new byte[BLOCK];
        byte[] t = text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (int i = 0; i < BLOCK; i++) {
            b[i] = t[i % t.length];
        }
        return b;
    }

    @Test
    void everyBlockIsOnBothVolumesAndSpaceCountsOnce() {
        format();
        byte[] data = random(new Random(1), (int) MIB);
        byte[] mark = marker("both-copies");
        ObjectId id;
        try (Pool pool = open(v0, v1)) {
            PoolInfo empty = pool.info();
            assertEquals(2, empty.copies());
            assertTrue(empty.capacityBytes() < 64 * MIB, "capacity counts what files can hold: " + empty.capacityBytes());
            id = create(pool);
            write(pool, id, 0, data);
            write(pool, id, MIB, mark);
            pool.sync();
            long used = empty.freeBytes() - pool.info().freeBytes();
            assertTrue(used >= MIB + BLOCK && used < MIB + 64 * BLOCK, "space is counted once per copy pair: " + used);
        }
        assertTrue(Pools.indexOf(v0, mark) > 0 && Pools.indexOf(v1, mark) > 0, "the block is on both volumes");
        try (Pool pool = open(v1, v0)) { // reopen: the checkpoint image keeps both locations
            assertArrayEquals(data, read(pool, id, 0, (int) MIB));
            assertArrayEquals(mark, read(pool, id, MIB, BLOCK));
        }
    }

    @Test
    void aDamagedCopyIsReadFromTheOtherAndRewritten() {
        format();
        byte[] mark = marker("heal-me");
        ObjectId id;
        try (Pool pool = open(v0, v1)) {
            id = create(pool);
            write(pool, id, 0, random(new Random(2), 3 * BLOCK));
            write(pool, id, 3L * BLOCK, mark);
        }
        for (Path damaged : List.of(v0, v1)) {
            long at = Pools.indexOf(damaged, mark);
            Pools.flipByte(damaged, at + 100);
            try (Pool pool = open(v0, v1)) {
                long repairedBefore = pool.info().repairedBlocks();
                assertArrayEquals(mark, read(pool, id, 3L * BLOCK, BLOCK), "the good copy answers");
                assertEquals(List.of(), pool.verify(id, n -> {}), "scrub finds nothing it cannot repair");
                assertEquals(repairedBefore + 1, pool.info().repairedBlocks(), "one copy rewritten, by the read or the scrub");
            }
            assertArrayEquals(mark, Pools.readFile(damaged, at, BLOCK), "the damaged copy was rewritten in place: " + damaged);
        }
    }

    @Test
    void bothCopiesDamagedIsCorruptionAndScrubNamesIt() {
        format();
        byte[] mark = marker("lost-twice");
        ObjectId id;
        try (Pool pool = open(v0, v1)) {
            id = create(pool);
            write(pool, id, 0, mark);
        }
        Pools.flipByte(v0, Pools.indexOf(v0, mark) + 5);
        Pools.flipByte(v1, Pools.indexOf(v1, mark) + 6);
        try (Pool pool = open(v0, v1)) {
            D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class, () -> read(pool, id, 0, 10));
            assertTrue(e.getMessage().contains("in both copies"), e.getMessage());
            List<Pool.DamagedRange> bad = pool.verify(id, n -> {});
            assertEquals(1, bad.size(), bad.toString());
            assertTrue(bad.getFirst().detail().startsWith("both copies damaged"), bad.toString());
            assertEquals(0, pool.info().repairedBlocks());
        }
    }

    @Test
    void mirroredExtentsAreReplayedAfterACrash() {
        format();
        byte[] data = random(new Random(3), 200_000);
        List<Path> copy;
        ObjectId id;
        try (Pool pool = open(v0, v1)) {
            id = create(pool);
            pool.sync();
            write(pool, id, 0, data);
            Pools.truncate(pool, id, 150_000);
            pool.sync();
            copy = Pools.crashCopy(dir.resolve("crash"), v0, v1);
        }
        try (Pool pool = open(copy.get(0), copy.get(1))) {
            assertArrayEquals(Arrays.copyOf(data, 150_000), readAll(pool, id));
            assertEquals(List.of(), pool.checkInvariants());
        }
    }

    @Test
    void twoCopiesNeedTwoVolumes() {
        D4Exception.InvalidArgument e = assertThrows(D4Exception.InvalidArgument.class,
                () -> Pool.format("x", List.of(new VolumeSpec(dir.resolve("one.d4vol"), 64 * MIB)), 2));
        assertTrue(e.getMessage().contains("at least 2 volumes"), e.getMessage());
    }
}
