package d4.engine;

import static d4.engine.Pools.BLOCK;
import static d4.engine.Pools.MIB;
import static d4.engine.Pools.create;
import static d4.engine.Pools.open;
import static d4.engine.Pools.random;
import static d4.engine.Pools.read;
import static d4.engine.Pools.readAll;
import static d4.engine.Pools.utf8;
import static d4.engine.Pools.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PoolTest {
    @TempDir
    Path dir;

    @Test
    void formatThenOpenReportsAnEmptyPool() {
        Path v = dir.resolve("p.d4vol");
        UUID uuid = Pool.format("p", List.of(new VolumeSpec(v, 64 * MIB)));
        assertEquals(64 * MIB, Files.exists(v) ? v.toFile().length() : -1);
        try (Pool pool = open(v)) {
            PoolInfo info = pool.info();
            assertEquals("p", pool.name());
            assertEquals(uuid, pool.uuid());
            assertEquals(uuid, info.uuid());
            assertEquals(BLOCK, info.blockSizeBytes());
            assertEquals(1, info.objectCount(), "only the pool object exists");
            assertEquals(1, info.volumes().size());
            assertTrue(info.capacityBytes() > 50 * MIB && info.capacityBytes() < 64 * MIB, "capacity " + info.capacityBytes());
            assertTrue(info.freeBytes() > 50 * MIB && info.freeBytes() <= info.capacityBytes(), "free " + info.freeBytes());
            assertEquals(System.getProperty("d4.test.ioEngine", "io_uring"), info.ioEngine());
            assertTrue(pool.find(ObjectId.POOL).isPresent());
        }
    }

    @Test
    void randomWritesAtUnalignedOffsetsReadBackByteForByte() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(7);
        byte[] model = new byte[0];
        try (Pool pool = open(v)) {
            ObjectId id = create(pool);
            // One large unaligned write spanning many blocks and more than one 1 MiB I/O chunk.
            byte[] big = random(r, (int) (2 * MIB + 12_345));
            write(pool, id, 777, big);
            model = apply(model, 777, big);
            assertArrayEquals(model, readAll(pool, id));
            // Many small and medium overwrites and appends, each in its own transaction.
            for (int i = 0; i < 200; i++) {
                int len = switch (i % 4) {
                    case 0 -> 1 + r.nextInt(20);
                    case 1 -> 1 + r.nextInt(BLOCK * 2);
                    case 2 -> BLOCK - 1 + r.nextInt(3);
                    default -> 1 + r.nextInt(300_000);
                };
                long off = r.nextInt(model.length + 10_000);
                byte[] data = random(r, len);
                write(pool, id, off, data);
                model = apply(model, off, data);
                assertEquals(model.length, pool.get(id).sizeBytes(), "size after write " + i);
                // Read the written range with a window that starts and ends off block boundaries.
                long from = Math.max(0, off - r.nextInt(5000));
                int rl = (int) Math.min(model.length - from, len + r.nextInt(9000));
                assertArrayEquals(Arrays.copyOfRange(model, (int) from, (int) from + rl), read(pool, id, from, rl),
                        "range read after write " + i);
            }
            assertArrayEquals(model, readAll(pool, id));
            // Reads of every odd length at odd offsets, including past the end.
            for (int i = 0; i < 100; i++) {
                long off = r.nextInt(model.length + 100);
                int len = r.nextInt(3 * BLOCK + 5);
                byte[] got = read(pool, id, off, len);
                int expect = (int) Math.max(0, Math.min(len, model.length - off));
                assertEquals(expect, got.length, "bytes read at " + off);
                assertArrayEquals(Arrays.copyOfRange(model, (int) Math.min(off, model.length), (int) Math.min(off, model.length) + expect), got);
            }
        }
        try (Pool pool = open(v)) {
            assertArrayEquals(model, readAll(pool, new ObjectId(1)), "after close and reopen");
        }
    }

    @Test
    void sparseHolesReadAsZerosAndHoldNoBlocks() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId id = create(pool);
            byte[] tail = random(new Random(1), 100);
            long off = 10 * MIB + 7;
            write(pool, id, off, tail);
            ObjectInfo info = pool.get(id);
            assertEquals(off + 100, info.sizeBytes());
            assertEquals(BLOCK, info.allocatedBytes(), "100 bytes inside one block allocate one block");
            byte[] hole = read(pool, id, 0, (int) off);
            assertEquals(off, hole.length);
            for (int i = 0; i < hole.length; i++) {
                if (hole[i] != 0) {
                    throw new AssertionError("hole byte " + i + " is " + hole[i]);
                }
            }
            assertArrayEquals(tail, read(pool, id, off, 100));
            // A write in the middle of the hole keeps the rest of the hole zero.
            byte[] mid = random(new Random(2), 3 * BLOCK);
            write(pool, id, 5 * MIB + 1, mid);
            assertArrayEquals(new byte[BLOCK], read(pool, id, 5 * MIB - BLOCK, BLOCK));
            byte[] around = read(pool, id, 5 * MIB, 3 * BLOCK + 2);
            assertEquals(0, around[0]);
            assertArrayEquals(mid, Arrays.copyOfRange(around, 1, 1 + mid.length));
            assertEquals(0, around[around.length - 1]);
            // Growing by truncate makes a hole too.
            ObjectId grown = create(pool);
            Pools.truncate(pool, grown, 3 * MIB);
            assertEquals(3 * MIB, pool.get(grown).sizeBytes());
            assertEquals(0, pool.get(grown).allocatedBytes());
            assertArrayEquals(new byte[(int) MIB], read(pool, grown, MIB, (int) MIB));
        }
    }

    @Test
    void truncateShrinkThenGrowShowsZerosInTheTail() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(3);
        byte[] data = random(r, 3 * BLOCK + 100);
        try (Pool pool = open(v)) {
            ObjectId a = create(pool);
            write(pool, a, 0, data);
            Pools.truncate(pool, a, 5000);
            assertEquals(5000, pool.get(a).sizeBytes());
            assertEquals(2 * BLOCK, pool.get(a).allocatedBytes(), "blocks past the end are released");
            assertArrayEquals(Arrays.copyOf(data, 5000), readAll(pool, a));
            Pools.truncate(pool, a, 20_000);
            byte[] grown = readAll(pool, a);
            assertEquals(20_000, grown.length);
            assertArrayEquals(Arrays.copyOf(data, 5000), Arrays.copyOf(grown, 5000));
            assertArrayEquals(new byte[15_000], Arrays.copyOfRange(grown, 5000, 20_000), "tail after shrink+grow is zero");

            // Shrink to a block boundary, then grow with a write past the end: the gap reads as zeros.
            ObjectId b = create(pool);
            write(pool, b, 0, data);
            Pools.truncate(pool, b, BLOCK);
            write(pool, b, 3 * BLOCK, utf8("end"));
            byte[] got = readAll(pool, b);
            assertEquals(3 * BLOCK + 3, got.length);
            assertArrayEquals(Arrays.copyOf(data, BLOCK), Arrays.copyOf(got, BLOCK));
            assertArrayEquals(new byte[2 * BLOCK], Arrays.copyOfRange(got, BLOCK, 3 * BLOCK));

            // Shrink inside a block, then write just after the end inside the same block: the bytes
            // between the new end and the write are zeros, not the old data.
            ObjectId c = create(pool);
            write(pool, c, 0, data);
            Pools.truncate(pool, c, 10);
            write(pool, c, 20, utf8("x"));
            byte[] cc = readAll(pool, c);
            assertEquals(21, cc.length);
            assertArrayEquals(Arrays.copyOf(data, 10), Arrays.copyOf(cc, 10));
            assertArrayEquals(new byte[10], Arrays.copyOfRange(cc, 10, 20));

            // Truncate to zero releases every block.
            Pools.truncate(pool, c, 0);
            assertEquals(0, pool.get(c).allocatedBytes());
            assertEquals(0, read(pool, c, 0, 10).length);
        }
        try (Pool pool = open(v)) {
            byte[] grown = readAll(pool, new ObjectId(1));
            assertEquals(20_000, grown.length);
            assertArrayEquals(new byte[15_000], Arrays.copyOfRange(grown, 5000, 20_000), "after reopen");
        }
    }

    @Test
    void entriesListWithPrefixAndPageInUnsignedByteOrder() {
        Path v = Pools.formatOne(dir, "p");
        List<byte[]> dKeys = new ArrayList<>();
        try (Pool pool = open(v)) {
            ObjectId dirObj = create(pool);
            try (Txn t = pool.begin()) {
                for (int i = 0; i < 50; i++) {
                    byte[] k = utf8("d/" + String.format("%03d", (i * 37) % 50));
                    t.putEntry(dirObj, k, utf8("v" + i));
                }
                t.putEntry(dirObj, utf8("c"), utf8("before"));
                t.putEntry(dirObj, utf8("e/1"), utf8("after"));
                // Keys with high bytes sort after ASCII (unsigned order), still under the prefix.
                t.putEntry(dirObj, new byte[] {'d', '/', (byte) 0xff}, utf8("high"));
                t.putEntry(dirObj, new byte[] {'d', '/', (byte) 0x80, 1}, utf8("high2"));
                t.commit();
            }
            List<Entry> all = pool.entries(dirObj, utf8("d/"), null, 1000);
            assertEquals(52, all.size());
            for (Entry e : all) {
                dKeys.add(e.key());
            }
            for (int i = 1; i < all.size(); i++) {
                assertTrue(Arrays.compareUnsigned(all.get(i - 1).key(), all.get(i).key()) < 0, "order at " + i);
            }
            assertArrayEquals(utf8("d/000"), all.getFirst().key());
            assertArrayEquals(new byte[] {'d', '/', (byte) 0xff}, all.getLast().key());
            // Paging with afterKey returns the same sequence.
            List<byte[]> paged = new ArrayList<>();
            byte[] after = null;
            while (true) {
                List<Entry> page = pool.entries(dirObj, utf8("d/"), after, 7);
                assertTrue(page.size() <= 7);
                if (page.isEmpty()) {
                    break;
                }
                page.forEach(e -> paged.add(e.key()));
                after = page.getLast().key();
            }
            assertEquals(dKeys.size(), paged.size());
            for (int i = 0; i < paged.size(); i++) {
                assertArrayEquals(dKeys.get(i), paged.get(i));
            }
            assertEquals(54, pool.entries(dirObj, new byte[0], null, 1000).size(), "empty prefix lists everything");
            assertEquals(0, pool.entries(dirObj, utf8("zz"), null, 10).size());
            assertEquals(0, pool.entries(dirObj, utf8("d/"), null, 0).size());
            assertTrue(pool.hasEntries(dirObj, utf8("e/")));
            assertFalse(pool.hasEntries(dirObj, utf8("f")));
            assertArrayEquals(utf8("before"), pool.entry(dirObj, utf8("c")).orElseThrow());
            assertTrue(pool.entry(dirObj, utf8("nope")).isEmpty());

            // Overwrite and remove.
            try (Txn t = pool.begin()) {
                t.putEntry(dirObj, utf8("c"), utf8("changed"));
                t.removeEntry(dirObj, utf8("e/1"));
                t.commit();
            }
            assertArrayEquals(utf8("changed"), pool.entry(dirObj, utf8("c")).orElseThrow());
            assertFalse(pool.hasEntries(dirObj, utf8("e/")));
        }
        try (Pool pool = open(v)) {
            ObjectId dirObj = new ObjectId(1);
            List<Entry> all = pool.entries(dirObj, utf8("d/"), null, 1000);
            assertEquals(dKeys.size(), all.size());
            for (int i = 0; i < all.size(); i++) {
                assertArrayEquals(dKeys.get(i), all.get(i).key());
            }
            assertArrayEquals(utf8("changed"), pool.entry(dirObj, utf8("c")).orElseThrow());
        }
    }

    @Test
    
    void entriesAfterAKeyBeforeThePrefixStillListTheWholePrefix() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId o = create(pool);
            try (Txn t = pool.begin()) {
                t.putEntry(o, utf8("a"), utf8("1"));
                t.putEntry(o, utf8("aa"), utf8("1"));
                t.putEntry(o, utf8("b/1"), utf8("2"));
                t.putEntry(o, utf8("b/2"), utf8("3"));
                t.commit();
            }
            // "b/1" and "b/2" start with "b/" and come after "a": the documented contract lists them.
            // The scan starts at "aa" (after "a"), sees it lacks the prefix and stops.
            assertEquals(2, pool.entries(o, utf8("b/"), utf8("a"), 10).size());
        }
    }

    @Test
    void deleteFreesSpaceOnceDurable() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            long empty = pool.info().freeBytes();
            ObjectId id = create(pool);
            byte[] data = random(new Random(5), (int) (8 * MIB));
            write(pool, id, 0, data);
            pool.sync();
            long full = pool.info().freeBytes();
            assertTrue(empty - full >= 8 * MIB, "8 MiB written: " + empty + " -> " + full);
            assertEquals(8 * MIB, pool.get(id).allocatedBytes());
            Pools.delete(pool, id);
            assertTrue(pool.find(id).isEmpty());
            assertThrows(D4Exception.ObjectNotFound.class, () -> pool.get(id));
            assertThrows(D4Exception.ObjectNotFound.class, () -> read(pool, id, 0, 10));
            // Reported at once, as ext4's statfs does; reused only once the delete is durable (an
            // allocation that needs them syncs first): CrashRecoveryTest checks the reuse side.
            assertTrue(pool.info().freeBytes() - full >= 8 * MIB - 64 * BLOCK, "the delete's blocks count as free at once");
            pool.sync();
            long after = pool.info().freeBytes();
            assertTrue(after - full >= 8 * MIB - 64 * BLOCK, "free space back after sync: " + full + " -> " + after);
        }
        try (Pool pool = open(v)) {
            assertTrue(pool.find(new ObjectId(1)).isEmpty(), "the delete survives reopen");
            assertEquals(1, pool.info().objectCount());
        }
    }

    @Test
    void overwriteReleasesTheOldBlocks() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId id = create(pool);
            Random r = new Random(11);
            write(pool, id, 0, random(r, (int) (4 * MIB)));
            pool.sync();
            long before = pool.info().freeBytes();
            for (int i = 0; i < 10; i++) {
                write(pool, id, 0, random(r, (int) (4 * MIB)));
                pool.sync();
            }
            long after = pool.info().freeBytes();
            assertEquals(4 * MIB, pool.get(id).allocatedBytes());
            assertTrue(before - after < 64 * BLOCK, "copy-on-write overwrites leak no blocks: " + before + " -> " + after);
        }
    }

    @Test
    void closeAndReopenKeepsObjectsAttrsDataAndEntries() {
        Path v = Pools.formatOne(dir, "p");
        Random r = new Random(9);
        Map<ObjectId, byte[]> data = new HashMap<>();
        Map<ObjectId, byte[]> attrs = new HashMap<>();
        long lastId;
        try (Pool pool = open(v)) {
            for (int i = 0; i < 20; i++) {
                byte[] a = random(r, r.nextInt(200));
                ObjectId id = create(pool, a);
                byte[] d = random(r, r.nextInt(100_000));
                write(pool, id, 0, d);
                Pools.putEntry(pool, id, utf8("k" + i), a);
                data.put(id, d);
                attrs.put(id, a);
            }
            ObjectId changed = data.keySet().iterator().next();
            try (Txn t = pool.begin()) {
                t.setAttrs(changed, utf8("new attrs"));
                t.commit();
            }
            attrs.put(changed, utf8("new attrs"));
            lastId = data.keySet().stream().mapToLong(ObjectId::value).max().orElseThrow();
        }
        try (Pool pool = open(v)) {
            assertEquals(21, pool.info().objectCount());
            for (var e : data.entrySet()) {
                ObjectInfo info = pool.get(e.getKey());
                assertEquals(e.getValue().length, info.sizeBytes());
                assertArrayEquals(attrs.get(e.getKey()), info.attrs());
                assertArrayEquals(e.getValue(), readAll(pool, e.getKey()));
                assertEquals(1, pool.entries(e.getKey(), new byte[0], null, 10).size());
            }
            ObjectId fresh = create(pool);
            assertTrue(fresh.value() > lastId, "ids are not reused after reopen: " + fresh + " vs " + lastId);
        }
    }

    @Test
    void abortedTransactionLeavesNoTraceAndFreesItsBlocks() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId id = create(pool);
            write(pool, id, 0, utf8("kept"));
            pool.sync();
            long free = pool.info().freeBytes();
            try (Txn t = pool.begin()) {
                t.write(id, 0, MemorySegment.ofArray(random(new Random(1), (int) (3 * MIB))));
                t.putEntry(id, utf8("k"), utf8("v"));
                t.create(new byte[0]);
                // While the transaction is open, reads see the state before it.
                assertArrayEquals(utf8("kept"), readAll(pool, id));
                assertTrue(pool.info().freeBytes() < free, "the open transaction holds its blocks");
            }
            assertEquals(free, pool.info().freeBytes(), "an aborted transaction gives its blocks back at once");
            assertArrayEquals(utf8("kept"), readAll(pool, id));
            assertTrue(pool.entry(id, utf8("k")).isEmpty());
            assertEquals(2, pool.info().objectCount());
        }
    }

    @Test
    void finishedTransactionCannotBeReused() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            Txn t = pool.begin();
            ObjectId id = t.create(new byte[0]);
            t.commit();
            assertThrows(IllegalStateException.class, () -> t.putEntry(id, utf8("k"), utf8("v")));
            t.close();
            // The write lock was released: another transaction can start.
            write(pool, id, 0, utf8("x"));
            assertArrayEquals(utf8("x"), readAll(pool, id));
        }
    }

    @Test
    void invalidArgumentsAreRejected() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId id = create(pool);
            try (Txn t = pool.begin()) {
                assertThrows(D4Exception.InvalidArgument.class, () -> t.putEntry(id, new byte[0], new byte[1]));
                assertThrows(D4Exception.InvalidArgument.class,
                        () -> t.putEntry(id, new byte[Limits.MAX_KEY_BYTES + 1], new byte[1]));
                assertThrows(D4Exception.InvalidArgument.class, () -> t.create(new byte[Limits.MAX_ATTRS_BYTES + 1]));
                assertThrows(D4Exception.InvalidArgument.class, () -> t.truncate(id, -1));
                assertThrows(D4Exception.InvalidArgument.class,
                        () -> t.write(id, -1, MemorySegment.ofArray(new byte[1])));
                assertThrows(D4Exception.ObjectNotFound.class, () -> t.write(new ObjectId(999), 0, MemorySegment.ofArray(new byte[1])));
                assertThrows(D4Exception.ObjectNotFound.class, () -> t.putEntry(new ObjectId(999), utf8("k"), utf8("v")));
            }
            assertThrows(D4Exception.InvalidArgument.class, () -> pool.read(id, -1, MemorySegment.ofArray(new byte[1])));
        }
    }

    @Test
    void formatRejectsBadRequestsAndNeverOverwrites() throws IOException {
        Path small = dir.resolve("small");
        assertThrows(D4Exception.InvalidArgument.class, () -> Pool.format("p", List.of(new VolumeSpec(small, 32 * MIB))));
        assertFalse(Files.exists(small));
        assertThrows(D4Exception.InvalidArgument.class,
                () -> Pool.format("-bad", List.of(new VolumeSpec(dir.resolve("x"), 64 * MIB))));
        assertThrows(D4Exception.InvalidArgument.class,
                () -> Pool.format("has space", List.of(new VolumeSpec(dir.resolve("x"), 64 * MIB))));
        assertThrows(D4Exception.InvalidArgument.class, () -> Pool.format("p", List.of()));

        Path existing = dir.resolve("existing");
        Files.write(existing, utf8("precious"));
        Path first = dir.resolve("first");
        D4Exception.InvalidArgument e = assertThrows(D4Exception.InvalidArgument.class, () -> Pool.format("p",
                List.of(new VolumeSpec(first, 64 * MIB), new VolumeSpec(existing, 64 * MIB))));
        assertTrue(e.getMessage().contains(existing.toString()), e.getMessage());
        assertArrayEquals(utf8("precious"), Files.readAllBytes(existing), "format never overwrites");
        assertFalse(Files.exists(first), "a failed format removes the volumes it created");
    }

    @Test
    void multiVolumePoolOpensInAnyOrderAndSpreadsData() {
        Path v0 = dir.resolve("v0.d4vol");
        Path v1 = dir.resolve("v1.d4vol");
        Pool.format("multi", List.of(new VolumeSpec(v0, 64 * MIB), new VolumeSpec(v1, 64 * MIB)));
        assertEquals(0, Pools.superblock(v0).volumeIndex());
        assertEquals(1, Pools.superblock(v1).volumeIndex());
        assertEquals(Pools.superblock(v0).poolUuid(), Pools.superblock(v1).poolUuid());
        List<ObjectId> ids = new ArrayList<>();
        try (Pool pool = Pool.open(List.of(v1, v0), Pools.QUIET)) {
            PoolInfo info = pool.info();
            assertEquals(2, info.volumes().size());
            assertEquals(v0, info.volumes().get(0).path());
            assertEquals(v1, info.volumes().get(1).path());
            // 80 MiB does not fit on volume 0 alone: volume 1 must take data too.
            for (int i = 0; i < 20; i++) {
                ObjectId id = create(pool);
                ids.add(id);
                write(pool, id, i, random(new Random(i), (int) (4 * MIB)));
            }
            pool.sync();
            PoolInfo after = pool.info();
            assertTrue(after.volumes().get(1).freeBytes() < after.volumes().get(1).capacityBytes() - 8 * MIB,
                    "volume 1 holds data: " + after.volumes().get(1));
            assertTrue(after.volumes().get(0).freeBytes() < after.volumes().get(0).capacityBytes() - 8 * MIB,
                    "volume 0 holds data: " + after.volumes().get(0));
        }
        try (Pool pool = Pool.open(List.of(v1, v0), Pools.QUIET)) {
            for (int i = 0; i < ids.size(); i++) {
                byte[] expect = random(new Random(i), (int) (4 * MIB));
                assertArrayEquals(expect, read(pool, ids.get(i), i, expect.length), "object " + i);
            }
        }
    }

    @Test
    void missingOrForeignVolumeIsPoolUnavailableWithAClearMessage() {
        Path v0 = dir.resolve("v0.d4vol");
        Path v1 = dir.resolve("v1.d4vol");
        Pool.format("multi", List.of(new VolumeSpec(v0, 64 * MIB), new VolumeSpec(v1, 64 * MIB)));
        D4Exception.PoolUnavailable missing = assertThrows(D4Exception.PoolUnavailable.class,
                () -> Pool.open(List.of(v0), Pools.QUIET));
        assertTrue(missing.getMessage().contains("2 volumes") && missing.getMessage().contains("multi"), missing.getMessage());
        assertThrows(D4Exception.PoolUnavailable.class, () -> Pool.open(List.of(v1), Pools.QUIET));

        Path gone = dir.resolve("gone.d4vol");
        D4Exception.PoolUnavailable notThere = assertThrows(D4Exception.PoolUnavailable.class,
                () -> Pool.open(List.of(v0, gone), Pools.QUIET));
        assertTrue(notThere.getMessage().contains(gone.toString()) && notThere.getMessage().contains("does not exist"),
                notThere.getMessage());

        Path other = Pools.formatOne(dir, "other");
        D4Exception.PoolUnavailable foreign = assertThrows(D4Exception.PoolUnavailable.class,
                () -> Pool.open(List.of(v0, other), Pools.QUIET));
        assertTrue(foreign.getMessage().contains("other"), foreign.getMessage());

        // Every failed open released its locks: the complete pool opens now.
        try (Pool pool = Pool.open(List.of(v0, v1), Pools.QUIET)) {
            assertEquals("multi", pool.name());
        }
    }

    @Test
    void secondOpenOfAnOpenPoolFailsBecauseTheVolumeIsLocked() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            D4Exception.PoolUnavailable e = assertThrows(D4Exception.PoolUnavailable.class, () -> open(v));
            assertTrue(e.getMessage().contains(v.toString()) && e.getMessage().contains("in use"), e.getMessage());
            // The failed open did not disturb the open pool.
            ObjectId id = create(pool);
            write(pool, id, 0, utf8("still fine"));
            assertArrayEquals(utf8("still fine"), readAll(pool, id));
        }
        try (Pool pool = open(v)) {
            assertArrayEquals(utf8("still fine"), readAll(pool, new ObjectId(1)));
        }
    }

    @Test
    void closedPoolRefusesRequests() {
        Path v = Pools.formatOne(dir, "p");
        Pool pool = open(v);
        ObjectId id = create(pool);
        pool.close();
        pool.close(); // idempotent
        assertThrows(D4Exception.PoolClosed.class, pool::begin);
        assertThrows(D4Exception.PoolClosed.class, () -> pool.find(id));
        assertThrows(D4Exception.PoolClosed.class, () -> read(pool, id, 0, 1));
        assertThrows(D4Exception.PoolClosed.class, pool::sync);
    }

    @Test
    void openingAFileThatIsNotAVolumeIsCorruption() throws IOException {
        Path junk = dir.resolve("junk");
        byte[] garbage = random(new Random(4), (int) (64 * MIB / 16));
        Files.write(junk, garbage);
        D4Exception.Corruption e = assertThrows(D4Exception.Corruption.class, () -> open(junk));
        assertTrue(e.getMessage().contains(junk.toString()), e.getMessage());
    }

    @Test
    void openingAnEmptyFileIsAD4Exception() throws IOException {
        Path empty = dir.resolve("empty.d4vol");
        Files.createFile(empty);
        RuntimeException e = assertThrows(RuntimeException.class, () -> open(empty));
        assertInstanceOf(D4Exception.class, e, "an empty file given as a volume is an operating error, not a d4 bug: " + e);
    }

    @Test
    void idsIncreaseAndAreNeverReusedAfterDelete() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId a = create(pool);
            ObjectId b = create(pool);
            Pools.delete(pool, b);
            ObjectId c = create(pool);
            assertTrue(a.compareTo(b) < 0 && b.compareTo(c) < 0, a + " " + b + " " + c);
            assertNotEquals(b, c);
        }
        try (Pool pool = open(v)) {
            ObjectId d = create(pool);
            assertTrue(d.value() > 3, "after reopen the counter continues past every id handed out: " + d);
        }
    }

    @Test
    void aLargeIndexMakesADeeperTreeAndReopens() {
        Path v = Pools.formatOne(dir, "p");
        int perTxn = 5000;
        int txns = 6;
        try (Pool pool = open(v)) {
            ObjectId o = create(pool);
            for (int t = 0; t < txns; t++) {
                try (Txn txn = pool.begin()) {
                    for (int i = 0; i < perTxn; i++) {
                        int n = t * perTxn + i;
                        txn.putEntry(o, utf8(String.format("name-%08d", n)), utf8("value-" + n + "-" + "x".repeat(60)));
                    }
                    txn.commit();
                }
            }
            assertTrue(pool.metadataStats().treeHeight() >= 3, "30,000 entries of ~90 bytes: " + pool.metadataStats());
            assertTrue(pool.metadataBlocks() > 2 * MIB / BLOCK, pool.metadataBlocks() + " metadata blocks");
        }
        try (Pool pool = open(v)) {
            assertEquals(List.of(), pool.checkInvariants());
            ObjectId o = new ObjectId(1);
            List<Entry> all = pool.entries(o, utf8("name-"), null, Integer.MAX_VALUE);
            assertEquals(perTxn * txns, all.size());
            for (int n = 0; n < all.size(); n += 997) {
                assertArrayEquals(utf8(String.format("name-%08d", n)), all.get(n).key());
                assertArrayEquals(utf8("value-" + n + "-" + "x".repeat(60)), all.get(n).value());
            }
        }
    }

    /**
     * FileChannel is interruptible: I/O by an interrupted thread (an fsync whose FUSE request was
     * cancelled, say) closes the volume's channel, and every later request of every thread fails.
     * (Reads and writes happen to be shielded: they first take an I/O buffer from a queue, whose
     * take() throws on interrupt before any I/O. sync() and close() are not.)
     */
    @Test
    void anInterruptedSyncDoesNotBreakThePoolForOthers() throws Exception {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId id = create(pool);
            write(pool, id, 0, utf8("data"));
            Thread t = new Thread(() -> {
                Thread.currentThread().interrupt();
                try {
                    pool.sync();
                } catch (RuntimeException ignored) {
                    // the interrupted caller may fail its own request
                }
            });
            t.start();
            t.join();
            assertArrayEquals(utf8("data"), read(pool, id, 0, 4), "another thread still reads");
            write(pool, id, 0, utf8("more"));
            pool.sync();
        }
    }

    private static byte[] apply(byte[] model, long off, byte[] data) {
        int end = (int) (off + data.length);
        byte[] out = end > model.length ? Arrays.copyOf(model, end) : model;
        System.arraycopy(data, 0, out, (int) off, data.length);
        return out;
    }
}
