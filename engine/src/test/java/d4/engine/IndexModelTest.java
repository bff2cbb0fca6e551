package d4.engine;

import static d4.engine.Pools.BLOCK;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random transactions (writes, truncates, deletes, entries, attributes, aborts) against a plain
 * in-memory model, compared after every step, after close and reopen, and after crash copies.
 * Fixed seeds make every run the same; a failure names its seed and step.
 */
class IndexModelTest {
    @TempDir
    Path dir;

    private static final class MObj {
        byte[] data = new byte[0];
        byte[] attrs;
        /** fallocate KEEP_SIZE mapped zero blocks past the end (until a shrinking truncate releases them). */
        boolean blocksPastEnd;
        final TreeMap<byte[], byte[]> entries = new TreeMap<>(Arrays::compareUnsigned);

        MObj(byte[] attrs) {
            this.attrs = attrs;
        }
    }

    private final TreeMap<Long, MObj> model = new TreeMap<>();
    private Random r;
    private Pool pool;
    private Path volume;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 42, 1234, 987_654_321})
    void randomOpsMatchTheModel(long seed) {
        run(seed, 350, false);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    void randomOpsWithGroupCommitsMatchTheModelAfterCrashes(long seed) {
        run(seed, 350, true);
    }

    private void run(long seed, int steps, boolean groupCommits) {
        r = new Random(seed);
        volume = Pools.formatOne(dir, "model");
        pool = Pools.open(volume);
        model.clear();
        model.put(0L, new MObj(new byte[0]));
        int step = 0;
        String last = "";
        try {
            for (step = 0; step < steps; step++) {
                last = step(groupCommits);
                if (step % 70 == 69) {
                    last += " + close/reopen";
                    pool.close();
                    pool = Pools.open(volume);
                    compareAll("reopen");
                    checkSpaceAccounting("reopen");
                }
                if (step % 50 == 25) {
                    last += " + sync/crash copy";
                    pool.sync();
                    checkSpaceAccounting("sync");
                    Path copy = Pools.crashCopy(dir.resolve("crash" + step), volume).getFirst();
                    Pool live = pool;
                    pool = Pools.open(copy);
                    try {
                        compareAll("crash copy");
                    } finally {
                        pool.close();
                        pool = live;
                    }
                }
            }
            pool.close();
            pool = Pools.open(volume);
            compareAll("final reopen");
        } catch (Throwable t) {
            String where = "seed " + seed + ", step " + step + " (" + last + "): " + t;
            System.out.println("IndexModelTest failure at " + where);
            throw new AssertionError(where, t);
        } finally {
            if (pool != null) {
                pool.close();
            }
        }
    }

    // ------------------------------------------------------------------------------------------

    private long pick() {
        List<Long> ids = new ArrayList<>(model.keySet());
        ids.remove(0L);
        if (ids.isEmpty()) {
            return -1;
        }
        return ids.get(r.nextInt(ids.size()));
    }

    private byte[] key() {
        String[] prefixes = {"a", "a/", "ab", "b/", "z"};
        byte[] p = Pools.utf8(prefixes[r.nextInt(prefixes.length)]);
        byte[] k = Arrays.copyOf(p, p.length + 1 + r.nextInt(3));
        for (int i = p.length; i < k.length; i++) {
            k[i] = (byte) (r.nextBoolean() ? 'a' + r.nextInt(4) : 0xf0 + r.nextInt(16));
        }
        return k;
    }

    private int length() {
        return switch (r.nextInt(5)) {
            case 0 -> 1 + r.nextInt(16);
            case 1 -> BLOCK - 8 + r.nextInt(16);
            case 2 -> 1 + r.nextInt(3 * BLOCK);
            case 3 -> 1 + r.nextInt(64 * 1024);
            default -> 1 + r.nextInt(600_000);
        };
    }

    private long offset(MObj o) {
        return switch (r.nextInt(4)) {
            case 0 -> 0;
            case 1 -> r.nextInt(o.data.length + 1);
            case 2 -> o.data.length;
            default -> r.nextInt(400_000);
        };
    }

    /** One random transaction (or sync); returns what it did, for failure messages. */
    private String step(boolean groupCommits) {
        int dice = r.nextInt(100);
        long id = pick();
        Set<Long> touched = new HashSet<>();
        String what;
        if (dice < 10 || id < 0) {
            if (model.size() > 25) {
                return "skip create";
            }
            byte[] attrs = Pools.random(r, r.nextInt(64));
            long nid = Pools.create(pool, attrs).value();
            model.put(nid, new MObj(attrs));
            touched.add(nid);
            what = "create " + nid;
        } else if (dice < 40) {
            MObj o = model.get(id);
            long off = offset(o);
            byte[] d = Pools.random(r, length());
            Pools.write(pool, new ObjectId(id), off, d);
            o.data = write(o.data, off, d);
            touched.add(id);
            what = "write " + id + " at " + off + " len " + d.length;
        } else if (dice < 50) {
            MObj o = model.get(id);
            long size = switch (r.nextInt(3)) {
                case 0 -> r.nextInt(o.data.length + 1);
                case 1 -> (long) r.nextInt(o.data.length / BLOCK + 2) * BLOCK;
                default -> r.nextInt(500_000);
            };
            Pools.truncate(pool, new ObjectId(id), size);
            o.blocksPastEnd &= size > o.data.length;
            o.data = Arrays.copyOf(o.data, (int) size);
            touched.add(id);
            what = "truncate " + id + " to " + size;
        } else if (dice < 55) {
            Pools.delete(pool, new ObjectId(id));
            model.remove(id);
            what = "delete " + id;
        } else if (dice < 70) {
            long owner = r.nextInt(5) == 0 ? 0 : id;
            byte[] k = key();
            byte[] v = Pools.random(r, r.nextInt(r.nextInt(10) == 0 ? 5000 : 40));
            Pools.putEntry(pool, new ObjectId(owner), k, v);
            model.get(owner).entries.put(k, v);
            touched.add(owner);
            what = "put entry of " + owner;
        } else if (dice < 76) {
            MObj o = model.get(id);
            if (o.entries.isEmpty()) {
                return "skip remove";
            }
            List<byte[]> keys = new ArrayList<>(o.entries.keySet());
            byte[] k = keys.get(r.nextInt(keys.size()));
            try (Txn t = pool.begin()) {
                t.removeEntry(new ObjectId(id), k);
                t.commit();
            }
            o.entries.remove(k);
            touched.add(id);
            what = "remove entry of " + id;
        } else if (dice < 80) {
            byte[] attrs = Pools.random(r, r.nextInt(100));
            try (Txn t = pool.begin()) {
                t.setAttrs(new ObjectId(id), attrs);
                t.commit();
            }
            model.get(id).attrs = attrs;
            touched.add(id);
            what = "set attrs of " + id;
        } else if (dice < 90) {
            // A transaction touching several objects, committed or aborted as a whole.
            boolean commit = r.nextInt(4) != 0;
            List<Runnable> applyToModel = new ArrayList<>();
            StringBuilder sb = new StringBuilder(commit ? "multi" : "aborted multi");
            try (Txn t = pool.begin()) {
                Set<Long> dataChanged = new HashSet<>();
                int n = 1 + r.nextInt(5);
                for (int i = 0; i < n; i++) {
                    long target = pick();
                    if (target < 0) {
                        break;
                    }
                    MObj o = model.get(target);
                    touched.add(target);
                    if (r.nextBoolean() && dataChanged.add(target)) {
                        int kind = r.nextInt(5);
                        if (kind == 0) {
                            long off = offset(o);
                            byte[] d = Pools.random(r, length());
                            t.write(new ObjectId(target), off, MemorySegment.ofArray(d));
                            applyToModel.add(() -> o.data = write(o.data, off, d));
                            sb.append(" write ").append(target).append('@').append(off).append('+').append(d.length);
                        } else if (kind == 1) {
                            int size = r.nextInt(o.data.length + 20_000);
                            t.truncate(new ObjectId(target), size);
                            applyToModel.add(() -> {
                                o.blocksPastEnd &= size > o.data.length;
                                o.data = Arrays.copyOf(o.data, size);
                            });
                            sb.append(" truncate ").append(target).append(" to ").append(size);
                        } else if (kind == 2) {
                            long off = offset(o);
                            int len = length();
                            t.punchHole(new ObjectId(target), off, len);
                            applyToModel.add(() -> {
                                int from = (int) Math.min(off, o.data.length);
                                Arrays.fill(o.data, from, (int) Math.min(off + len, o.data.length), (byte) 0);
                            });
                            sb.append(" punch ").append(target).append('@').append(off).append('+').append(len);
                        } else if (kind == 4) {
                            long off = offset(o);
                            int len = length();
                            boolean keep = r.nextBoolean();
                            t.zeroRange(new ObjectId(target), off, len, keep);
                            applyToModel.add(() -> {
                                if (!keep && off + len > o.data.length) {
                                    o.data = Arrays.copyOf(o.data, (int) (off + len));
                                }
                                int from = (int) Math.min(off, o.data.length);
                                Arrays.fill(o.data, from, (int) Math.min(off + len, o.data.length), (byte) 0);
                                o.blocksPastEnd |= keep && off + len > o.data.length;
                            });
                            sb.append(keep ? " zero-keep " : " zero ").append(target).append('@').append(off)
                                    .append('+').append(len);
                        } else {
                            long off = offset(o);
                            int len = length();
                            boolean keep = r.nextBoolean();
                            t.allocate(new ObjectId(target), off, len, keep);
                            applyToModel.add(() -> {
                                if (!keep && off + len > o.data.length) {
                                    o.data = Arrays.copyOf(o.data, (int) (off + len));
                                }
                                o.blocksPastEnd |= keep && off + len > o.data.length;
                            });
                            sb.append(keep ? " allocate-keep " : " allocate ").append(target).append('@').append(off)
                                    .append('+').append(len);
                        }
                    } else {
                        byte[] k = key();
                        byte[] v = Pools.random(r, r.nextInt(30));
                        t.putEntry(new ObjectId(target), k, v);
                        applyToModel.add(() -> o.entries.put(k, v));
                        sb.append(" entry ").append(target);
                    }
                }
                if (r.nextBoolean() && model.size() <= 25) {
                    byte[] attrs = Pools.random(r, 8);
                    ObjectId nid = t.create(attrs);
                    byte[] k = Pools.utf8("child-" + nid.value());
                    t.putEntry(ObjectId.POOL, k, Pools.utf8("" + nid.value()));
                    touched.add(nid.value());
                    touched.add(0L);
                    applyToModel.add(() -> {
                        model.put(nid.value(), new MObj(attrs));
                        model.get(0L).entries.put(k, Pools.utf8("" + nid.value()));
                    });
                    sb.append(" create ").append(nid.value());
                }
                if (commit) {
                    t.commit();
                    applyToModel.forEach(Runnable::run);
                }
            }
            what = sb.toString();
        } else {
            if (groupCommits && r.nextInt(3) != 0) {
                return "no sync";
            }
            pool.sync();
            return "sync";
        }
        if (!groupCommits) {
            pool.sync();
        }
        for (long t : touched) {
            compareObject(t, what);
        }
        assertEquals(model.size(), pool.info().objectCount(), "object count after " + what);
        return what;
    }

    private static byte[] write(byte[] data, long off, byte[] d) {
        int end = (int) (off + d.length);
        byte[] out = end > data.length ? Arrays.copyOf(data, end) : data;
        System.arraycopy(d, 0, out, (int) off, d.length);
        return out;
    }

    /**
     * Once everything is durable, the blocks in use are exactly the objects' blocks plus the pages of
     * the metadata tree and the checkpoint's space table: no leak, no block counted twice.
     */
    private void checkSpaceAccounting(String when) {
        long objectBytes = 0;
        for (long id : model.keySet()) {
            objectBytes += pool.get(new ObjectId(id)).allocatedBytes();
        }
        long metadataBytes = pool.metadataBlocks() * BLOCK;
        PoolInfo.VolumeInfo v = pool.info().volumes().getFirst();
        assertEquals(objectBytes + metadataBytes, v.capacityBytes() - v.freeBytes(),
                "blocks in use = object blocks + metadata pages and space table, at " + when);
        assertEquals(List.of(), pool.checkInvariants(), "at " + when);
    }

    private void compareAll(String when) {
        assertEquals(model.size(), pool.info().objectCount(), "object count at " + when);
        for (long id : model.keySet()) {
            compareObject(id, when);
        }
        assertFalse(pool.find(new ObjectId(model.lastKey() + 1000)).isPresent());
    }

    private void compareObject(long id, String when) {
        ObjectId oid = new ObjectId(id);
        MObj m = model.get(id);
        if (m == null) {
            assertTrue(pool.find(oid).isEmpty(), "object " + id + " is deleted, at " + when);
            return;
        }
        ObjectInfo info = pool.get(oid);
        assertEquals(m.data.length, info.sizeBytes(), "size of " + id + " at " + when);
        assertArrayEquals(m.attrs, info.attrs(), "attrs of " + id + " at " + when);
        assertTrue(m.blocksPastEnd || info.allocatedBytes() <= ((long) m.data.length + BLOCK - 1) / BLOCK * BLOCK,
                "object " + id + " holds no blocks past its end at " + when);
        byte[] got = Pools.readAll(pool, oid);
        if (!Arrays.equals(m.data, got)) {
            throw new AssertionError("data of " + id + " at " + when + " differs first at byte "
                    + Arrays.mismatch(m.data, got) + " (size " + m.data.length + ")");
        }
        // Entries: one full listing, then paged listings under each prefix.
        List<Entry> all = pool.entries(oid, new byte[0], null, Integer.MAX_VALUE);
        assertEquals(m.entries.size(), all.size(), "entry count of " + id + " at " + when);
        int i = 0;
        for (Map.Entry<byte[], byte[]> e : m.entries.entrySet()) {
            assertArrayEquals(e.getKey(), all.get(i).key(), "entry key " + i + " of " + id + " at " + when);
            assertArrayEquals(e.getValue(), all.get(i).value(), "entry value " + i + " of " + id + " at " + when);
            i++;
        }
        for (String p : new String[] {"a", "a/", "b/", "q"}) {
            byte[] prefix = Pools.utf8(p);
            List<byte[]> expect = new ArrayList<>();
            for (byte[] k : m.entries.keySet()) {
                if (k.length >= prefix.length && Arrays.equals(k, 0, prefix.length, prefix, 0, prefix.length)) {
                    expect.add(k);
                }
            }
            List<byte[]> paged = new ArrayList<>();
            byte[] after = null;
            List<Entry> page;
            do {
                page = pool.entries(oid, prefix, after, 3);
                page.forEach(e -> paged.add(e.key()));
                after = page.isEmpty() ? null : page.getLast().key();
            } while (!page.isEmpty());
            assertEquals(expect.size(), paged.size(), "entries under '" + p + "' of " + id + " at " + when);
            for (int j = 0; j < expect.size(); j++) {
                assertArrayEquals(expect.get(j), paged.get(j));
            }
            assertEquals(!expect.isEmpty(), pool.hasEntries(oid, prefix));
        }
    }
}
