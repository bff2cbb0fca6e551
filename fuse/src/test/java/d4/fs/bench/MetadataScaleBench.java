package d4.fs.bench;

import d4.engine.Pool;
import d4.engine.PoolOptions;
import d4.engine.VolumeSpec;
import d4.engine.io.DriveFactory;
import d4.fs.Caller;
import d4.fs.FileSystem;
import d4.fs.Inode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Metadata at scale (issue 4): how opening a pool, the heap after opening, and cold stats behave
 * with N files in the pool, against an empty pool formatted the same way. A program run by hand,
 * not a test; docs/benchmarks.md ("Metadata at scale") has the command and a run's table.
 *
 * <p>The parent populates a file-backed pool with N files through {@link FileSystem} (no FUSE) once
 * and keeps it (a marker file says it is complete), then starts each measurement in a fresh child
 * JVM with {@code -Xmx256m}: open the pool and the FileSystem on top of it (what the daemon does
 * before it serves, without the kernel mount), the heap used after a GC, then K stats of random
 * existing paths. Empty and N-file runs alternate, R times each; medians are printed.
 */
public final class MetadataScaleBench {
    private MetadataScaleBench() {}

    static final String MARKER = "populated.properties";
    static final String RESULT = "RESULT";
    /** Files in the small pool on which each child warms up the stat path's code before measuring. */
    static final long WARMUP_FILES = 2000;
    /** Stats done on it: enough for C2 to compile the lookup path. */
    static final int WARMUP_STATS = 20_000;

    /** What a run is asked to do; every field has a default and a flag. */
    static final class Params {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "d4-meta-bench");
        long files = 1_000_000;
        int filesPerDir = 1000;
        /** One file in this many gets data (the rest are empty). */
        int dataEvery = 10;
        long volumeBytes = 8L << 30;
        int repeat = 3;
        int lookups = 1000;
        String ioEngine = "io_uring";
        String childHeap = "256m";
        boolean fresh;
        boolean populateOnly;
        long seed = 42;
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            child(args);
            return;
        }
        Params p;
        try {
            p = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(usage());
            System.exit(2);
            return;
        }
        System.exit(parent(p));
    }

    static String usage() {
        return """
                usage: MetadataScaleBench [--dir DIR] [--files N] [--files-per-dir F] [--data-every K]
                                          [--size SIZE] [--repeat R] [--lookups L] [--io-engine io_uring|filechannel]
                                          [--child-heap SIZE] [--fresh] [--populate-only] [--seed S]
                  --dir           where the pools go (default $TMPDIR/d4-meta-bench); the N-file pool is kept
                                  there and reused while its marker file matches --files/--files-per-dir/--data-every/--size
                  --files         files in the populated pool (default 1000000), in directories of --files-per-dir (1000)
                  --data-every    one file in K gets 1-4 KiB of data, the others stay empty (default 10)
                  --size          sparse volume file size, e.g. 8G (default), 512M
                  --repeat        child runs per pool (default 3), alternating empty and N-file
                  --lookups       random stats per child run (default 1000)
                  --child-heap    -Xmx of the measuring child JVMs (default 256m: the issue's bound)
                  --fresh         repopulate even if a complete pool is there (needed after the on-disk format changes)
                  --populate-only populate (or check the marker) and stop
                """;
    }

    static Params parse(String[] args) {
        Params p = new Params();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--fresh" -> p.fresh = true;
                case "--populate-only" -> p.populateOnly = true;
                case "-h", "--help" -> {
                    System.out.println(usage());
                    System.exit(0);
                }
                default -> {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException("unknown option or missing value: " + a);
                    }
                    String v = args[++i];
                    switch (a) {
                        case "--dir" -> p.dir = Path.of(v);
                        case "--files" -> p.files = Long.parseLong(v.replace("_", ""));
                        case "--files-per-dir" -> p.filesPerDir = Integer.parseInt(v);
                        case "--data-every" -> p.dataEvery = Integer.parseInt(v);
                        case "--size" -> p.volumeBytes = parseSize(v);
                        case "--repeat" -> p.repeat = Integer.parseInt(v);
                        case "--lookups" -> p.lookups = Integer.parseInt(v);
                        case "--io-engine" -> p.ioEngine = v;
                        case "--child-heap" -> p.childHeap = v;
                        case "--seed" -> p.seed = Long.parseLong(v);
                        default -> throw new IllegalArgumentException("unknown option: " + a);
                    }
                }
            }
        }
        if (p.files < 1 || p.filesPerDir < 1 || p.dataEvery < 1 || p.repeat < 1 || p.lookups < 1) {
            throw new IllegalArgumentException("--files, --files-per-dir, --data-every, --repeat and --lookups must be positive");
        }
        DriveFactory.forEngine(p.ioEngine); // fails early on a wrong name
        return p;
    }

    static long parseSize(String s) {
        String t = s.trim().toUpperCase(java.util.Locale.ROOT);
        long mult = 1;
        char last = t.charAt(t.length() - 1);
        if (last == 'K' || last == 'M' || last == 'G' || last == 'T') {
            mult = switch (last) {
                case 'K' -> 1L << 10;
                case 'M' -> 1L << 20;
                case 'G' -> 1L << 30;
                default -> 1L << 40;
            };
            t = t.substring(0, t.length() - 1);
        }
        return Long.parseLong(t) * mult;
    }

    // ------------------------------------------------------------------------------------------
    // Parent: populate, then run and summarize the children

    static int parent(Params p) throws Exception {
        Files.createDirectories(p.dir);
        Path emptyVolume = p.dir.resolve("empty").resolve("v.d4vol");
        Path warmupVolume = p.dir.resolve("warmup").resolve("v.d4vol");
        Path fullDir = p.dir.resolve("files-" + p.files);
        Path fullVolume = fullDir.resolve("v.d4vol");
        System.out.printf("metadata at scale: %,d files (%,d per directory, 1 in %d with data), volume %s, io engine %s,"
                + " child -Xmx%s, %d runs, %,d stats per run%n", p.files, p.filesPerDir, p.dataEvery,
                humanBytes(p.volumeBytes), p.ioEngine, p.childHeap, p.repeat, p.lookups);
        System.out.println("java " + Runtime.version() + ", pools in " + p.dir);

        if (!p.fresh && markerMatches(fullDir, p)) {
            Properties m = readMarker(fullDir);
            System.out.println("reusing " + fullVolume + " (populated " + m.getProperty("populatedAt") + " in "
                    + m.getProperty("populateSeconds") + " s; pass --fresh to repopulate)");
        } else {
            populate(p, fullDir, fullVolume);
        }
        if (p.populateOnly) {
            return 0;
        }
        // The empty and warm-up pools are made anew each time: that is quick, and they then always match the engine.
        formatWithRoot(emptyVolume, p);
        formatWithRoot(warmupVolume, p);
        try (Pool pool = Pool.open(List.of(warmupVolume), options(p.ioEngine))) {
            fill(new FileSystem(pool), WARMUP_FILES, p.filesPerDir, p.dataEvery, false);
        }

        List<Run> empty = new ArrayList<>();
        List<Run> full = new ArrayList<>();
        for (int r = 0; r < p.repeat; r++) {
            Run e = runChild(p, "empty", emptyVolume, 0, warmupVolume, r);
            empty.add(e);
            System.out.println("  run " + (r + 1) + " empty:     " + e);
            Run f = runChild(p, "files", fullVolume, p.files, warmupVolume, r);
            full.add(f);
            System.out.println("  run " + (r + 1) + " populated: " + f);
        }
        printTable(p, empty, full);
        return 0;
    }

    /** Formats a pool and creates its root directory, so that no measured open has to create it. */
    static void formatWithRoot(Path volume, Params p) throws IOException {
        Files.createDirectories(volume.getParent());
        Files.deleteIfExists(volume);
        Pool.format("bench", List.of(new VolumeSpec(volume, p.volumeBytes)));
        try (Pool pool = Pool.open(List.of(volume), options(p.ioEngine))) {
            new FileSystem(pool);
        }
    }

    static PoolOptions options(String ioEngine) {
        return PoolOptions.defaults().withDriveFactory(DriveFactory.forEngine(ioEngine));
    }

    static String dirName(long d) {
        return "/d" + d;
    }

    static String path(long fileIndex, int filesPerDir) {
        return dirName(fileIndex / filesPerDir) + "/f" + (fileIndex % filesPerDir);
    }

    static void populate(Params p, Path fullDir, Path volume) throws IOException {
        Files.deleteIfExists(fullDir.resolve(MARKER));
        formatWithRoot(volume, p);
        System.out.printf("populating %s with %,d files (takes minutes; kept for later runs)%n", volume, p.files);
        long start = System.nanoTime();
        long dataFiles;
        try (Pool pool = Pool.open(List.of(volume), options(p.ioEngine))) {
            dataFiles = fill(new FileSystem(pool), p.files, p.filesPerDir, p.dataEvery, true);
        } // close: a checkpoint, so that opening replays nothing
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
        System.out.printf("populated %,d files (%,d with data) in %d s%n", p.files, dataFiles, seconds);
        Properties m = new Properties();
        m.setProperty("files", Long.toString(p.files));
        m.setProperty("filesPerDir", Integer.toString(p.filesPerDir));
        m.setProperty("dataEvery", Integer.toString(p.dataEvery));
        m.setProperty("volumeBytes", Long.toString(p.volumeBytes));
        m.setProperty("formatVersion", Integer.toString(d4.engine.volume.Superblock.FORMAT_VERSION));
        m.setProperty("populatedAt", Instant.now().toString());
        m.setProperty("populateSeconds", Long.toString(seconds));
        try (OutputStream out = Files.newOutputStream(fullDir.resolve(MARKER))) {
            m.store(out, "complete N-file pool of d4.fs.bench.MetadataScaleBench");
        }
    }

    /**
     * Creates {@code files} files named by {@link #path}, directory by directory; one in
     * {@code dataEvery} gets 1 to 4 KiB. Returns how many got data.
     */
    static long fill(FileSystem fs, long files, int filesPerDir, int dataEvery, boolean progress) {
        byte[] data = new byte[4096];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) ('a' + i % 26);
        }
        long start = System.nanoTime();
        long lastPrint = start;
        long lastCount = 0;
        long dataFiles = 0;
        for (long i = 0; i < files; i++) {
            if (i % filesPerDir == 0) {
                fs.mkdir(dirName(i / filesPerDir), 0755, Caller.ROOT);
            }
            String path = path(i, filesPerDir);
            if (i % dataEvery == 0) {
                // Written as an application would: create, write, close.
                int len = 1024 * (1 + (int) ((i / dataEvery) % 4));
                Inode f = fs.create(path, 0644, Caller.ROOT);
                fs.write(f.id(), 0, MemorySegment.ofArray(data).asSlice(0, len));
                fs.release(f.id());
                dataFiles++;
            } else {
                fs.mknod(path, Inode.S_IFREG | 0644, 0, Caller.ROOT); // as touch, or a create without writes
            }
            // A batch ends with an fsync, as an archiver extracting a tree would now and then.
            if ((i + 1) % 10_000 == 0) {
                fs.fsync();
            }
            long now = System.nanoTime();
            if (progress && (now - lastPrint >= TimeUnit.SECONDS.toNanos(10) || i + 1 == files)) {
                double rate = (i + 1 - lastCount) / ((now - lastPrint) / 1e9);
                double avg = (i + 1) / ((now - start) / 1e9);
                System.out.printf("  %,d / %,d files, %,.0f files/s (last interval), %,.0f files/s overall, %d s%n",
                        i + 1, files, rate, avg, TimeUnit.NANOSECONDS.toSeconds(now - start));
                lastPrint = now;
                lastCount = i + 1;
            }
        }
        fs.fsync();
        return dataFiles;
    }

    static Properties readMarker(Path dir) throws IOException {
        Properties m = new Properties();
        try (InputStream in = Files.newInputStream(dir.resolve(MARKER))) {
            m.load(in);
        }
        return m;
    }

    /** True when a complete pool made with the same layout (and engine format version) is there. */
    static boolean markerMatches(Path dir, Params p) throws IOException {
        if (!Files.exists(dir.resolve(MARKER)) || !Files.exists(dir.resolve("v.d4vol"))) {
            return false;
        }
        Properties m = readMarker(dir);
        boolean same = Long.toString(p.files).equals(m.getProperty("files"))
                && Integer.toString(p.filesPerDir).equals(m.getProperty("filesPerDir"))
                && Integer.toString(p.dataEvery).equals(m.getProperty("dataEvery"))
                && Long.toString(p.volumeBytes).equals(m.getProperty("volumeBytes"))
                && Integer.toString(d4.engine.volume.Superblock.FORMAT_VERSION).equals(m.getProperty("formatVersion"));
        if (!same) {
            System.out.println("the pool in " + dir + " was populated with other parameters or format version " + m);
        }
        return same;
    }

    /** One child's outcome: its figures, or why it has none. */
    record Run(boolean ok, boolean oom, double openMs, long heapBytes, double p50Us, double p99Us, double closeMs,
            double pageReadsPerStat, int treeHeight, long heapAfterStatsBytes,
            String engine, String failure) {
        @Override
        public String toString() {
            if (oom) {
                return "OOM at -Xmx" + failure;
            }
            if (!ok) {
                return "FAILED: " + failure;
            }
            String stats = Double.isNaN(p50Us) ? "no stats" : String.format("stat p50 %.1f us p99 %.1f us", p50Us, p99Us);
            return String.format("open %.0f ms, heap %.1f MiB, %s, close %.0f ms (%s)", openMs, heapBytes / 1048576.0,
                    stats, closeMs, engine);
        }
    }

    static Run runChild(Params p, String label, Path volume, long files, Path warmupVolume, int run) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = List.of(java.toString(), "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-Xmx" + p.childHeap, "-XX:+ExitOnOutOfMemoryError",
                "-cp", System.getProperty("java.class.path"), MetadataScaleBench.class.getName(), "child",
                volume.toString(), p.ioEngine, Long.toString(files), Integer.toString(p.filesPerDir),
                Integer.toString(files == 0 ? 0 : p.lookups), Long.toString(p.seed + run), warmupVolume.toString());
        long started = System.nanoTime();
        Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Thread killer = new Thread(proc::destroyForcibly);
        Runtime.getRuntime().addShutdownHook(killer); // a parent stopped with ^C takes its child along
        String output;
        int code;
        try {
            // Read before waiting, so that a chatty child never blocks on a full pipe.
            output = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!proc.waitFor(30, TimeUnit.MINUTES)) {
                proc.destroyForcibly().waitFor();
                return new Run(false, false, 0, 0, 0, 0, 0, 0, 0, 0, "", label + " child timed out after 30 min");
            }
            code = proc.exitValue();
        } finally {
            Runtime.getRuntime().removeShutdownHook(killer);
        }
        if (output.contains("java.lang.OutOfMemoryError")) {
            return new Run(false, true, 0, 0, 0, 0, 0, 0, 0, 0, "", String.format("%s (after %.1f s)", p.childHeap,
                    (System.nanoTime() - started) / 1e9));
        }
        for (String line : output.split("\n")) {
            if (line.startsWith(RESULT + " ") && code == 0) {
                Properties r = new Properties();
                for (String kv : line.substring(RESULT.length() + 1).trim().split(" ")) {
                    int eq = kv.indexOf('=');
                    r.setProperty(kv.substring(0, eq), kv.substring(eq + 1));
                }
                return new Run(true, false, Double.parseDouble(r.getProperty("openMs")),
                        Long.parseLong(r.getProperty("heapBytes")), Double.parseDouble(r.getProperty("statP50Us")),
                        Double.parseDouble(r.getProperty("statP99Us")), Double.parseDouble(r.getProperty("closeMs")),
                        Double.parseDouble(r.getProperty("pageReadsPerStat")), Integer.parseInt(r.getProperty("treeHeight")),
                        Long.parseLong(r.getProperty("heapAfterStatsBytes")), r.getProperty("engine"), null);
            }
        }
        return new Run(false, false, 0, 0, 0, 0, 0, 0, 0, 0, "", label + " child exited with " + code + " (if the engine's on-disk"
                + " format changed since the pool was populated, run again with --fresh):\n" + output.strip());
    }

    static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    interface Field {
        double of(Run r);
    }

    static double medianOf(List<Run> runs, Field f) {
        return median(runs.stream().filter(Run::ok).mapToDouble(f::of).toArray());
    }

    static void printTable(Params p, List<Run> empty, List<Run> full) {
        System.out.println();
        System.out.printf("medians of %d runs, each in a fresh JVM with -Xmx%s (io engine %s)%n", p.repeat, p.childHeap,
                full.stream().filter(Run::ok).map(Run::engine).findFirst()
                        .orElse(empty.stream().filter(Run::ok).map(Run::engine).findFirst().orElse(p.ioEngine)));
        System.out.println();
        System.out.println("| pool | files | open ms | heap after open MiB | survived -Xmx" + p.childHeap
                + " | stat p50 us | stat p99 us | page reads per cold stat | tree height | heap after stats MiB | close ms |");
        System.out.println("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|");
        row("empty", 0, empty, p);
        row("populated", p.files, full, p);
        double ratio = medianOf(full, Run::openMs) / medianOf(empty, Run::openMs);
        System.out.println();
        System.out.printf("open time, populated / empty: %s (target: at most 2)%n",
                Double.isNaN(ratio) ? "n/a (no populated run finished)" : String.format("%.1f", ratio));
        double heap = medianOf(full, r -> r.heapBytes()) / 1048576.0;
        System.out.printf("heap after open with %,d files: %s (target: under 256 MiB)%n", p.files,
                Double.isNaN(heap) ? "n/a" : String.format("%.1f MiB", heap));
        for (List<Run> runs : List.of(empty, full)) {
            for (Run r : runs) {
                if (!r.ok() && !r.oom()) {
                    System.out.println();
                    System.out.println(r.failure());
                }
            }
        }
    }

    static void row(String label, long files, List<Run> runs, Params p) {
        long ok = runs.stream().filter(Run::ok).count();
        long oom = runs.stream().filter(Run::oom).count();
        String survived = oom == 0 && ok == runs.size() ? "yes"
                : oom == runs.size() ? "no: OOM at -Xmx" + p.childHeap
                : oom > 0 ? "OOM at -Xmx" + p.childHeap + " in " + oom + " of " + runs.size() + " runs"
                : "failed in " + (runs.size() - ok) + " of " + runs.size() + " runs";
        System.out.printf("| %s | %,d | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", label, files,
                fmt(medianOf(runs, Run::openMs), "%.0f"), fmt(medianOf(runs, r -> r.heapBytes()) / 1048576.0, "%.1f"), survived,
                files == 0 ? "-" : fmt(medianOf(runs, Run::p50Us), "%.1f"),
                files == 0 ? "-" : fmt(medianOf(runs, Run::p99Us), "%.1f"),
                files == 0 ? "-" : fmt(medianOf(runs, Run::pageReadsPerStat), "%.2f"),
                fmt(medianOf(runs, r -> r.treeHeight()), "%.0f"),
                files == 0 ? "-" : fmt(medianOf(runs, r -> r.heapAfterStatsBytes()) / 1048576.0, "%.1f"),
                fmt(medianOf(runs, Run::closeMs), "%.0f"));
    }

    static String fmt(double v, String format) {
        return Double.isNaN(v) ? "-" : String.format(format, v);
    }

    static String humanBytes(long b) {
        return b % (1L << 30) == 0 ? (b >> 30) + " GiB" : b % (1L << 20) == 0 ? (b >> 20) + " MiB" : b + " B";
    }

    // ------------------------------------------------------------------------------------------
    // Child: one measurement in a fresh JVM

    /** {@code child VOLUME IO_ENGINE FILES FILES_PER_DIR LOOKUPS SEED WARMUP_VOLUME}; prints one RESULT line. */
    static void child(String[] args) {
        Path volume = Path.of(args[1]);
        String ioEngine = args[2];
        long files = Long.parseLong(args[3]);
        int filesPerDir = Integer.parseInt(args[4]);
        int lookups = Integer.parseInt(args[5]);
        long seed = Long.parseLong(args[6]);
        Path warmupVolume = Path.of(args[7]);

        long t0 = System.nanoTime();
        Pool pool = Pool.open(List.of(volume), options(ioEngine));
        FileSystem fs = new FileSystem(pool);
        long t1 = System.nanoTime();

        System.gc();
        System.gc();
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();

        SplittableRandom rnd = new SplittableRandom(seed);
        if (lookups > 0) {
            // Warm the code, not the data: a running daemon has its stat path compiled, but a random
            // file's metadata is not in its caches. Stats on another pool (namespace caches off, so
            // that each one reaches the engine) let the JIT compile the path; this pool stays cold.
            try (Pool warm = Pool.open(List.of(warmupVolume), options(ioEngine))) {
                FileSystem wfs = new FileSystem(warm, 0, 0);
                for (int k = 0; k < WARMUP_STATS; k++) {
                    wfs.getattr(path(rnd.nextLong(WARMUP_FILES), filesPerDir));
                }
            }
        }
        // Cold stats: nothing of this pool was looked up since the open, so each starts from what opening loaded.
        long readsBefore = pool.metadataStats().pageReads();
        long[] nanos = new long[lookups];
        for (int k = 0; k < lookups; k++) {
            String path = path(rnd.nextLong(files), filesPerDir);
            long s = System.nanoTime();
            Inode i = fs.getattr(path);
            nanos[k] = System.nanoTime() - s;
            if (!i.isRegular()) {
                throw new IllegalStateException(path + " is not a regular file: " + i);
            }
        }
        double readsPerStat = lookups == 0 ? 0 : (pool.metadataStats().pageReads() - readsBefore) / (double) lookups;
        int height = pool.metadataStats().treeHeight();
        System.gc();
        System.gc();
        long heapAfter = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        Arrays.sort(nanos);
        double p50 = lookups == 0 ? Double.NaN : nanos[lookups / 2] / 1e3;
        double p99 = lookups == 0 ? Double.NaN : nanos[(int) Math.min(lookups - 1, Math.ceil(lookups * 0.99) - 1)] / 1e3;
        String engine = pool.info().ioEngine();

        long t2 = System.nanoTime();
        pool.close();
        long t3 = System.nanoTime();
        System.out.printf(java.util.Locale.ROOT, "%s openMs=%.1f heapBytes=%d statP50Us=%.2f statP99Us=%.2f closeMs=%.1f"
                + " pageReadsPerStat=%.3f treeHeight=%d heapAfterStatsBytes=%d engine=%s%n",
                RESULT, (t1 - t0) / 1e6, heap, p50, p99, (t3 - t2) / 1e6, readsPerStat, height, heapAfter, engine);
        System.out.flush();
        System.exit(0);
    }
}
