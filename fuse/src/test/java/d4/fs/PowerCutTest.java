package d4.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import d4.engine.Pool;
import d4.engine.PoolOptions;
import d4.engine.VolumeSpec;
import d4.fs.PowerCutDrive.CutMode;
import d4.fs.PowerCutDrive.Image;
import d4.fs.PowerCutDrive.Power;
import d4.fs.PowerCutDrive.PowerCut;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power cuts at random moments of random namespace operation sequences (see {@link PowerCutDrive}):
 * after each, the pool opens, fsck is clean, everything an fsync acknowledged is there, and the
 * namespace is exactly as after some prefix of the operations (no operation half applied).
 *
 * <p>The default run is sized for CI; {@code -Dd4.powercut.sequences=N} runs more (see
 * docs/testing.md), {@code -Dd4.powercut.seed=S} one seed.
 */
class PowerCutTest {
    private static final Path VOLUME = Path.of("/powercut/v0.d4vol");
    private static final long QUIET_MILLIS = 3_600_000; // no background flush: the sequence decides
    private static Image formatted;

    @TempDir
    static Path dir;

    @BeforeAll
    static void format() throws IOException {
        Path file = dir.resolve("v.d4vol");
        Pool.format("cut", List.of(new VolumeSpec(file, 64L << 20)));
        Map<Long, byte[]> blocks = new HashMap<>();
        long size;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            size = raf.length();
            byte[] b = new byte[PowerCutDrive.BLOCK];
            byte[] zero = new byte[PowerCutDrive.BLOCK];
            for (long block = 0; block * PowerCutDrive.BLOCK < size; block++) {
                raf.readFully(b);
                if (!Arrays.equals(b, zero)) {
                    blocks.put(block, b.clone());
                }
            }
        }
        formatted = new Image(blocks, size);
    }

    private static Pool open(Power power) {
        return Pool.open(List.of(VOLUME), new PoolOptions(power, QUIET_MILLIS));
    }

    private static Power noCut(Map<Path, Image> images) {
        return new Power(images, Long.MAX_VALUE, CutMode.DROP_ALL, new Random(0));
    }

    // ------------------------------------------------------------------------------------------
    // The model: what the namespace holds, by path.

    /** A file's content shared by its hard links. */
    private static final class Data {
        byte[] bytes = new byte[0];
    }

    /** A directory (an identity: two directories are never the same one). */
    private static final class Dir {}

    /** The namespace: directories, symlinks (target) and files (shared data), by absolute path. */
    private static final class Model {
        final TreeMap<String, Object> nodes = new TreeMap<>(); // a Dir, a String target, or a Data

        Model copy() {
            Model m = new Model();
            Map<Data, Data> copies = new HashMap<>();
            for (Map.Entry<String, Object> e : nodes.entrySet()) {
                Object v = e.getValue();
                if (v instanceof Data d) {
                    v = copies.computeIfAbsent(d, k -> {
                        Data c = new Data();
                        c.bytes = k.bytes.clone();
                        return c;
                    });
                }
                m.nodes.put(e.getKey(), v);
            }
            return m;
        }

        /** Path to "d", "l:target" or "f:nlink:hash": what a recovered tree must show. */
        Map<String, String> view() {
            Map<Data, Integer> links = new HashMap<>();
            nodes.values().forEach(v -> {
                if (v instanceof Data d) {
                    links.merge(d, 1, Integer::sum);
                }
            });
            Map<String, String> out = new TreeMap<>();
            for (Map.Entry<String, Object> e : nodes.entrySet()) {
                Object v = e.getValue();
                out.put(e.getKey(), v instanceof Data d ? "f:" + links.get(d) + ":" + d.bytes.length + ":"
                        + Arrays.hashCode(d.bytes) : v instanceof String s ? "l:" + s : "d");
            }
            return out;
        }
    }

    /** The recovered namespace in the model's view. */
    private static Map<String, String> view(FileSystem fs) {
        Map<String, String> out = new TreeMap<>();
        List<String> dirs = new ArrayList<>(List.of("/"));
        while (!dirs.isEmpty()) {
            String d = dirs.removeLast();
            for (DirEntry e : fs.readdir(d).subList(2, fs.readdir(d).size())) {
                String path = (d.equals("/") ? "" : d) + "/" + new String(e.name(), StandardCharsets.UTF_8);
                Inode i = fs.getattr(path);
                if (i.isDirectory()) {
                    out.put(path, "d");
                    dirs.add(path);
                } else if (i.isSymlink()) {
                    out.put(path, "l:" + new String(i.symlinkTarget(), StandardCharsets.UTF_8));
                } else {
                    byte[] b = new byte[(int) i.sizeBytes()];
                    Inode h = fs.open(path);
                    try {
                        fs.read(h.id(), 0, MemorySegment.ofArray(b));
                    } finally {
                        fs.release(h.id());
                    }
                    out.put(path, "f:" + i.nlink() + ":" + b.length + ":" + Arrays.hashCode(b));
                }
            }
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------
    // One sequence.

    /** What a sequence run saw: the model after each completed operation, and where the last sync was. */
    private static final class Run {
        final List<Model> states = new ArrayList<>();
        final List<String> trace = new ArrayList<>();
        int lastSynced; // index into states: everything up to here was acknowledged durable
        boolean cut;
        long driveOps;
    }

    private static final String[] NAMES = {"a", "b", "c", "d"};

    private static String randomPath(Random r, Model m, boolean existing) {
        if (existing && !m.nodes.isEmpty() && r.nextInt(4) != 0) {
            List<String> keys = new ArrayList<>(m.nodes.keySet());
            return keys.get(r.nextInt(keys.size()));
        }
        String p = "/" + NAMES[r.nextInt(NAMES.length)];
        if (r.nextBoolean()) {
            p += "/" + NAMES[r.nextInt(NAMES.length)];
        }
        return p;
    }

    /**
     * Runs the sequence of {@code seed} with the power failing at drive operation {@code cutAt}.
     * Each step is one FileSystem call (one transaction); errors a call throws (ENOENT, EEXIST...)
     * are part of the sequence and leave the model as it was, as they leave the pool.
     */
    private static Run runSequence(long seed, Map<Path, Image> start, long cutAt, CutMode mode, int steps,
            java.util.concurrent.atomic.AtomicReference<Map<Path, Image>> crashed) {
        Random r = new Random(seed);
        Run run = new Run();
        Model model = new Model();
        run.states.add(model.copy());
        Power power = new Power(start, cutAt, mode, new Random(seed * 31 + 7));
        Pool pool = null;
        long usedBefore = 0;
        try {
            pool = open(power);
            FileSystem fs = new FileSystem(pool);
            for (int step = 0; step < steps; step++) {
                run.trace.add(applyRandom(r, fs, model));
                run.states.add(model.copy());
                if (r.nextInt(8) == 0) {
                    fs.fsync();
                    run.lastSynced = run.states.size() - 1;
                }
                if (r.nextInt(25) == 0) { // a clean remount: close checkpoints (and syncs)
                    pool.close();
                    run.lastSynced = run.states.size() - 1;
                    Map<Path, Image> now = power.currentImages();
                    long used = power.ops();
                    usedBefore += used;
                    power = new Power(now, cutAt == Long.MAX_VALUE ? cutAt : cutAt - used, mode,
                            new Random(seed * 31 + 11));
                    cutAt = cutAt == Long.MAX_VALUE ? cutAt : cutAt - used;
                    pool = open(power);
                    fs = new FileSystem(pool);
                }
            }
            pool.close();
            run.driveOps = usedBefore + power.ops();
            pool = null;
            crashed.set(power.currentImages());
        } catch (PowerCut c) {
            run.cut = true;
            crashed.set(power.crashImages());
        } finally {
            if (pool != null) {
                try {
                    pool.close(); // after a cut this throws PowerCut too: the pool is dead either way
                } catch (Throwable ignored) {
                    // nothing of a dead pool can reach the disk any more
                }
            }
        }
        return run;
    }

    /** Applies one random call to the pool and, when it succeeds, to the model; returns what it did. */
    private static String applyRandom(Random r, FileSystem fs, Model model) {
        String p = randomPath(r, model, true);
        String q = randomPath(r, model, r.nextBoolean());
        int dice = r.nextInt(100);
        String op = "?";
        try {
            if (dice < 15) {
                op = "create " + p;
                fs.release(fs.create(p, 0644, Caller.ROOT).id());
                model.nodes.put(p, new Data());
            } else if (dice < 40) {
                if (!(model.nodes.get(p) instanceof Data)) {
                    return "skip write " + p; // the kernel writes only to regular files (it follows symlinks itself)
                }
                Inode i = fs.open(p);
                try {
                    byte[] data = new byte[1 + r.nextInt(r.nextBoolean() ? 100 : 20_000)];
                    r.nextBytes(data);
                    long off = r.nextInt(3) == 0 ? 0 : r.nextInt(30_000);
                    op = "write " + p + " @" + off + "+" + data.length;
                    fs.write(i.id(), off, MemorySegment.ofArray(data));
                    Data d = (Data) model.nodes.get(p);
                    if (d.bytes.length < off + data.length) {
                        d.bytes = Arrays.copyOf(d.bytes, (int) off + data.length);
                    }
                    System.arraycopy(data, 0, d.bytes, (int) off, data.length);
                } finally {
                    fs.release(i.id());
                }
            } else if (dice < 48) {
                if (!(model.nodes.get(p) instanceof Data)) {
                    return "skip truncate " + p;
                }
                op = "truncate " + p;
                int size = r.nextInt(25_000);
                fs.truncate(p, size);
                Data d = (Data) model.nodes.get(p);
                d.bytes = Arrays.copyOf(d.bytes, size);
            } else if (dice < 58) {
                op = "mkdir " + p;
                fs.mkdir(p, 0755, Caller.ROOT);
                model.nodes.put(p, new Dir());
            } else if (dice < 64) {
                op = "rmdir " + p;
                fs.rmdir(p);
                model.nodes.remove(p);
            } else if (dice < 74) {
                op = "unlink " + p;
                fs.unlink(p);
                model.nodes.remove(p);
            } else if (dice < 86) {
                op = "rename " + p + " " + q;
                fs.rename(p, q);
                renameInModel(model, p, q);
            } else if (dice < 92) {
                op = "link " + p + " " + q;
                fs.link(p, q);
                model.nodes.put(q, model.nodes.get(p));
            } else {
                String target = "t" + r.nextInt(100);
                op = "symlink " + p;
                fs.symlink(target.getBytes(StandardCharsets.UTF_8), p, Caller.ROOT);
                model.nodes.put(p, target);
            }
        } catch (FsException e) {
            // The call failed as POSIX says it must (ENOENT, EEXIST, ENOTEMPTY, ...): nothing changed.
            return op + " -> " + e.error();
        }
        return op;
    }

    /** Moves p (and, for a directory, everything under it) to q, as a successful rename(2) did. */
    private static void renameInModel(Model m, String p, String q) {
        Object moving = m.nodes.get(p);
        if (moving == null || p.equals(q)) {
            return;
        }
        if (m.nodes.get(q) == moving) {
            return; // two links to the same file: rename does nothing
        }
        TreeMap<String, Object> moved = new TreeMap<>();
        for (Map.Entry<String, Object> e : m.nodes.entrySet()) {
            if (e.getKey().equals(p) || e.getKey().startsWith(p + "/")) {
                moved.put(q + e.getKey().substring(p.length()), e.getValue());
            }
        }
        m.nodes.keySet().removeIf(k -> k.equals(p) || k.startsWith(p + "/") || k.equals(q) || k.startsWith(q + "/"));
        m.nodes.putAll(moved);
    }

    /** Opens what the disks kept, checks it against the run, and checks it with fsck. */
    private static void verifyRecovered(long seed, Run run, Map<Path, Image> images, String what) {
        Map<String, String> got;
        Power power = noCut(images);
        try (Pool pool = open(power)) {
            FileSystem fs = new FileSystem(pool); // removes orphans, as a mount does
            got = view(fs);
            images = null;
            pool.sync();
        } catch (RuntimeException e) {
            throw new AssertionError("seed " + seed + " (" + what + "): the pool does not open after the cut: " + e, e);
        }
        Map<Path, Image> after = power.currentImages();
        int match = -1;
        for (int j = run.states.size() - 1; j >= run.lastSynced; j--) {
            if (run.states.get(j).view().equals(got)) {
                match = j;
                break;
            }
        }
        if (match < 0) {
            fail("seed " + seed + " (" + what + "): the recovered namespace is no state between the last sync (step "
                    + run.lastSynced + ") and the cut (step " + (run.states.size() - 1) + ")\n  recovered: " + got
                    + "\n  last synced: " + run.states.get(run.lastSynced).view() + "\n  last: "
                    + run.states.getLast().view() + "\n  calls: " + run.trace);
        }
        try (Pool pool = Pool.open(List.of(VOLUME), new PoolOptions(noCut(after), QUIET_MILLIS).asReadOnly())) {
            Fsck.Report report = new Fsck(pool, false, true, (phase, done, total) -> {}).run();
            assertEquals(List.of(), report.problems(), "seed " + seed + " (" + what + "): fsck after the cut");
        }
    }

    @Test
    void randomSequencesSurviveRandomPowerCuts() {
        int sequences = Integer.getInteger("d4.powercut.sequences", 400);
        long onlySeed = Long.getLong("d4.powercut.seed", -1);
        int steps = 40;
        Map<Path, Image> start = Map.of(VOLUME, formatted);
        int cuts = 0;
        int withUnsynced = 0;
        for (int i = 0; i < sequences; i++) {
            long seed = onlySeed >= 0 ? onlySeed : 1000 + i;
            var crashed = new java.util.concurrent.atomic.AtomicReference<Map<Path, Image>>();
            Run dry = runSequence(seed, start, Long.MAX_VALUE, CutMode.DROP_ALL, steps, crashed);
            verifyRecovered(seed, dry, crashed.get(), "no cut");
            CutMode mode = CutMode.values()[(int) (seed % 3)];
            long cutAt = 1 + new Random(seed).nextLong(dry.driveOps);
            Run run = runSequence(seed, start, cutAt, mode, steps, crashed);
            assertTrue(run.cut, "seed " + seed + ": the power cut at drive op " + cutAt + " of " + dry.driveOps + " fired");
            cuts++;
            if (run.lastSynced < run.states.size() - 1) {
                withUnsynced++;
            }
            verifyRecovered(seed, run, crashed.get(), mode + " cut at drive op " + cutAt + " of " + dry.driveOps);
            if (onlySeed >= 0) {
                break;
            }
        }
        assertEquals(onlySeed >= 0 ? 1 : sequences, cuts);
        assertTrue(onlySeed >= 0 || withUnsynced > sequences / 4, "cuts hit unsynced work often: " + withUnsynced);
    }

    /** The canary: the injector really drops what was not flushed, and keeps what was. */
    @Test
    void theInjectorDropsUnflushedWritesAndKeepsFlushedOnes() {
        Map<Path, Image> start = Map.of(VOLUME, formatted);
        Power setup = noCut(start);
        try (Pool pool = open(setup)) {
            new FileSystem(pool); // the root
        }
        Map<Path, Image> base = setup.currentImages();
        // Synced: survives a cut that drops every unflushed write.
        Power p1 = new Power(base, Long.MAX_VALUE, CutMode.DROP_ALL, new Random(1));
        Pool pool = open(p1);
        FileSystem fs = new FileSystem(pool);
        fs.release(fs.create("/synced", 0644, Caller.ROOT).id());
        fs.fsync();
        fs.release(fs.create("/unsynced", 0644, Caller.ROOT).id());
        Power cutNow = p1;
        Map<Path, Image> images = cutAtNextOp(cutNow, pool);
        Power reopen = noCut(images);
        try (Pool recovered = open(reopen)) {
            FileSystem rfs = new FileSystem(recovered);
            assertEquals(FsError.NOT_FOUND, FileSystemTest.errorOf(() -> rfs.getattr("/unsynced")),
                    "an unsynced create is gone after a DROP_ALL cut: the injector fired");
            assertTrue(rfs.getattr("/synced").isRegular(), "the synced create survived");
        }
    }

    /** Cuts the power of a running pool at its next drive operation and returns what the disks kept. */
    private static Map<Path, Image> cutAtNextOp(Power power, Pool pool) {
        try {
            power.cutNow();
            pool.sync();
            fail("the drive answered after the power cut");
        } catch (PowerCut expected) {
            // what a dead disk does
        } finally {
            try {
                pool.close();
            } catch (Throwable ignored) {
                // a dead pool cannot close cleanly
            }
        }
        return power.crashImages();
    }
}
