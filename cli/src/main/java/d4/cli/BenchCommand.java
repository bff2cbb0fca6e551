package d4.cli;

import d4.cli.config.ByteSize;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {
            "Measure a d4 mount against a native directory in the same run, with fio:",
            "sequential 1 MiB writes (end_fsync) and reads, random 4 KiB reads and writes",
            "at queue depth 1 and 16 with O_DIRECT, buffered random 4 KiB writes; and",
            "create, stat, readdir and unlink of many files in one directory. Prints the",
            "median of the runs of each job and the ratio d4/native (all figures are",
            "rates: below 1, d4 is slower). Each job works in its own directory, removed",
            "afterwards. Progress goes to stderr: a line as each job starts, after each run",
            "and when the job is done, and on a terminal a bar for the step running (the file",
            "being written, the fio run, the metadata phases). Needs fio. See docs/benchmarks.md."
        })
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--native", paramLabel = "DIR",
            description = "Directory on the native file system to compare with (default: /var/tmp).")
    Path nativeDir;

    @Option(names = "--size", paramLabel = "SIZE", defaultValue = "1G",
            description = "File size of each fio job, e.g. 256M, 1G (default: ${DEFAULT-VALUE}).")
    String size;

    @Option(names = "--runtime", paramLabel = "SECONDS", defaultValue = "5",
            description = "Seconds per fio run, after 1 s of ramp-up (default: ${DEFAULT-VALUE}).")
    int runtimeSeconds;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "3",
            description = "Runs per job and target; the median is reported (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--files", paramLabel = "N", defaultValue = "10000",
            description = "Files of the metadata workload (default: ${DEFAULT-VALUE}).")
    int files;

    @Option(names = "--ioengine", paramLabel = "ENGINE", defaultValue = "io_uring",
            description = "fio ioengine of the O_DIRECT jobs: io_uring or libaio (default: ${DEFAULT-VALUE}).")
    String ioEngine;

    @Option(names = "--json", description = "Print one JSON object instead of the table.")
    boolean json;

    @Option(names = "--jobs", paramLabel = "JOB", split = ",",
            description = "Run only these jobs, comma-separated: a fio job's name as the table prints it"
                    + " (seq-write-1m, rand-read-4k-qd1, ...) or metadata (the four meta- jobs). Default: all.")
    List<String> onlyJobs;

    @Parameters(paramLabel = "MOUNTPOINT")
    Path mountPoint;

    private static final long MIB = 1 << 20;

    /** One fio workload: name, what it is, fio arguments, and whether its figure is MiB/s or IOPS. */
    record FioJob(String name, String what, boolean mibPerSecond, List<String> args) {}

    /** One row of the result: the rates of every run on each side (empty = all failed) and why runs failed. */
    static final class Row {
        final String job;
        final String what;
        final String unit;
        final List<Double> nativeRuns = new ArrayList<>();
        final List<Double> d4Runs = new ArrayList<>();
        String nativeError;
        String d4Error;

        Row(String job, String what, String unit) {
            this.job = job;
            this.what = what;
            this.unit = unit;
        }

        Double nativeMedian() {
            return median(nativeRuns);
        }

        Double d4Median() {
            return median(d4Runs);
        }

        Double ratio() {
            Double n = nativeMedian();
            Double d = d4Median();
            return n == null || d == null || n == 0 ? null : d / n;
        }
    }

    private volatile Process running;
    /** Set by the shutdown hook (Ctrl-C, SIGTERM): the jobs stop and the main thread cleans up. */
    private volatile boolean stopping;
    /** Counted down by the main thread once it has removed its directories. */
    private final CountDownLatch cleanedUp = new CountDownLatch(1);

    @Override
    public Integer call() throws Exception {
        Path mp = mountPoint.toAbsolutePath().normalize();
        long sizeBytes = ByteSize.parse(size);
        if (sizeBytes < MIB || sizeBytes % MIB != 0) {
            throw new CommandFailure("--size " + size + " must be a whole number of MiB, at least 1M (e.g. 256M, 1G)");
        }
        if (runtimeSeconds < 1 || repeat < 1 || files < 1) {
            throw new CommandFailure("--runtime, --repeat and --files must be at least 1");
        }
        if (!ioEngine.equals("io_uring") && !ioEngine.equals("libaio")) {
            throw new CommandFailure("invalid --ioengine '" + ioEngine + "': use io_uring or libaio");
        }
        List<FioJob> jobs = selectedFioJobs();
        boolean metadata = onlyJobs == null || onlyJobs.contains("metadata");
        if (!MountTable.isD4(mp)) {
            throw new CommandFailure(mp + " is not a d4 mount: mount a pool there first (d4 mount " + mp + ")");
        }
        String fioVersion = fioVersion();
        Path nativeBase = (nativeDir != null ? nativeDir : Path.of("/var/tmp")).toAbsolutePath().normalize();
        if (!Files.isDirectory(nativeBase)) {
            throw new CommandFailure("native dir " + nativeBase + " is not a directory: create it or pick another with --native");
        }
        String nativeFs = describeFs(nativeBase);
        if (nativeFs.startsWith("fuse.d4 ")) {
            throw new CommandFailure("native dir " + nativeBase + " is on a d4 mount: pick a native file system with --native");
        }
        requireSpace(mp, sizeBytes, "the d4 mount");
        requireSpace(nativeBase, sizeBytes, "the native dir");

        Path nativeWork = null;
        Path d4Work = null;
        Path fioOut = null;
        Thread cleanupOnExit = null;
        try {
            nativeWork = workDir(nativeBase, "d4-bench-");
            d4Work = workDir(mp, "d4-bench-");
            fioOut = workDir(Path.of(System.getProperty("java.io.tmpdir")), "d4-bench-fio-");
            List<Path> toDelete = List.of(nativeWork, d4Work, fioOut);
            cleanupOnExit = new Thread(() -> {
                stopping = true;
                Process p = running;
                if (p != null) {
                    destroyTree(p);
                }
                try {
                    // The main thread stops at its next check and removes its directories.
                    if (!cleanedUp.await(30, TimeUnit.SECONDS)) {
                        toDelete.forEach(BenchCommand::deleteTreeQuietly);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "d4-bench-cleanup");
            Runtime.getRuntime().addShutdownHook(cleanupOnExit);

            progress(fioVersion + "; d4 " + mp + " vs native " + nativeBase + " (" + nativeFs + "); size "
                    + ByteSize.format(sizeBytes) + ", " + runtimeSeconds + " s per run, " + repeat + " runs, O_DIRECT via "
                    + ioEngine);
            List<Row> rows = new ArrayList<>();
            int total = jobs.size() + (metadata ? 4 : 0);
            int n = 0;
            for (FioJob job : jobs) {
                checkStopping();
                n++;
                rows.add(runFio(job, n, total, sizeBytes, nativeWork, d4Work, fioOut));
            }
            if (metadata) {
                rows.addAll(runMetadata(n, total, nativeWork, d4Work));
            }

            if (json) {
                System.out.println(toJson(mp, nativeBase, nativeFs, fioVersion, sizeBytes, rows));
            } else {
                printTable(mp, nativeBase, nativeFs, fioVersion, sizeBytes, rows);
            }
            return 0;
        } finally {
            if (nativeWork != null) {
                deleteTreeQuietly(nativeWork);
            }
            if (d4Work != null) {
                deleteTreeQuietly(d4Work);
            }
            if (fioOut != null) {
                deleteTreeQuietly(fioOut);
            }
            cleanedUp.countDown();
            if (cleanupOnExit != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(cleanupOnExit);
                } catch (IllegalStateException shuttingDown) {
                    // the hook runs anyway
                }
            }
        }
    }

    // ---- fio ----------------------------------------------------------------------------------

    private static Path workDir(Path in, String prefix) {
        try {
            return Files.createTempDirectory(in, prefix);
        } catch (IOException e) {
            throw new CommandFailure("cannot create a work directory in " + in + " (" + e + "): check that it is writable");
        }
    }

    /** The fio jobs --jobs names (all without it); an unknown name is refused with the list of names. */
    private List<FioJob> selectedFioJobs() {
        List<FioJob> all = fioJobs();
        if (onlyJobs == null) {
            return all;
        }
        List<String> known = new ArrayList<>(all.stream().map(FioJob::name).toList());
        known.add("metadata");
        for (String name : onlyJobs) {
            if (!known.contains(name)) {
                throw new CommandFailure("unknown job '" + name + "' in --jobs: the jobs are " + String.join(", ", known));
            }
        }
        return all.stream().filter(j -> onlyJobs.contains(j.name())).toList();
    }

    private List<FioJob> fioJobs() {
        List<String> direct = List.of("--direct=1", "--ioengine=" + ioEngine, "--norandommap", "--randrepeat=0");
        List<FioJob> jobs = new ArrayList<>();
        jobs.add(new FioJob("seq-write-1m", "sequential 1 MiB writes, buffered, end_fsync=1", true,
                List.of("--rw=write", "--bs=1m", "--direct=0", "--ioengine=psync", "--end_fsync=1")));
        jobs.add(new FioJob("seq-read-1m", "sequential 1 MiB reads, buffered (page cache dropped first)", true,
                List.of("--rw=read", "--bs=1m", "--direct=0", "--ioengine=psync", "--invalidate=1")));
        for (String rw : List.of("randread", "randwrite")) {
            for (int qd : new int[] {1, 16}) {
                List<String> args = new ArrayList<>(direct);
                args.addAll(List.of("--rw=" + rw, "--bs=4k", "--iodepth=" + qd));
                String name = (rw.equals("randread") ? "rand-read" : "rand-write") + "-4k-qd" + qd;
                jobs.add(new FioJob(name, "random 4 KiB " + (rw.equals("randread") ? "reads" : "writes") + ", O_DIRECT, "
                        + ioEngine + " iodepth " + qd, false, args));
            }
        }
        jobs.add(new FioJob("rand-write-4k-buffered", "random 4 KiB writes, buffered, end_fsync=1", false,
                List.of("--rw=randwrite", "--bs=4k", "--direct=0", "--ioengine=psync", "--end_fsync=1",
                        "--norandommap", "--randrepeat=0")));
        // Four processes reading and writing one file at once: what many clients of one database or
        // image file do. Reads and writes overlap only where the file system lets them.
        jobs.add(new FioJob("rand-rw-4k-4jobs", "random 4 KiB reads and writes (half each), O_DIRECT, 4 processes",
                false, List.of("--rw=randrw", "--rwmixread=50", "--bs=4k", "--direct=1", "--ioengine=psync",
                        "--numjobs=4", "--norandommap", "--randrepeat=0")));
        return jobs;
    }

    private Row runFio(FioJob job, int n, int total, long sizeBytes, Path nativeWork, Path d4Work, Path fioOut) {
        Row row = new Row(job.name(), job.what(), job.mibPerSecond() ? "MiB/s" : "IOPS");
        Path nativeDirOfJob = nativeWork.resolve(job.name());
        Path d4DirOfJob = d4Work.resolve(job.name());
        try {
            String prefix = "[" + n + "/" + total + "] " + job.name();
            progress(prefix + ": " + job.what());
            boolean[] laidOut = new boolean[2];
            for (int side = 0; side < 2; side++) {
                Path dir = side == 0 ? nativeDirOfJob : d4DirOfJob;
                String label = side == 0 ? "native" : "d4";
                checkStopping();
                try {
                    Files.createDirectory(dir);
                    progress(prefix + ": writing its " + ByteSize.format(sizeBytes) + " file on " + label);
                    layOut(dir.resolve("data"), sizeBytes, prefix + " " + label + ": writing");
                    laidOut[side] = true;
                } catch (CommandFailure stopped) {
                    throw stopped;
                } catch (IOException | RuntimeException e) {
                    String why = "cannot write the job's file: " + e;
                    if (side == 0) {
                        row.nativeError = why;
                    } else {
                        row.d4Error = why;
                    }
                    progress(prefix + ": " + label + " " + why);
                }
            }
            // Alternate the sides run by run, so that drift of the host hits both alike.
            for (int r = 1; r <= repeat; r++) {
                for (int side = 0; side < 2; side++) {
                    checkStopping();
                    if (!laidOut[side]) {
                        continue;
                    }
                    boolean isNative = side == 0;
                    Path dir = isNative ? nativeDirOfJob : d4DirOfJob;
                    String label = isNative ? "native" : "d4";
                    String run = prefix + " run " + r + "/" + repeat + ": " + label;
                    try {
                        Path out = fioOut.resolve(job.name() + "-" + label + "-" + r + ".json");
                        double v = fioOnce(job, dir.resolve("data"), sizeBytes, out, run);
                        (isNative ? row.nativeRuns : row.d4Runs).add(v);
                        progress(run + " " + number(v) + " " + row.unit);
                    } catch (FioFailed e) {
                        if (isNative) {
                            row.nativeError = e.getMessage();
                        } else {
                            row.d4Error = e.getMessage();
                        }
                        progress(run + " FAILED: " + e.getMessage());
                    }
                }
            }
            progress(prefix + " done: " + summary(row));
        } finally {
            deleteTreeQuietly(nativeDirOfJob);
            deleteTreeQuietly(d4DirOfJob);
        }
        return row;
    }

    /** Writes the whole file once (1 MiB at a time, then fsync), so that no job reads holes or pays for allocation. */
    private void layOut(Path file, long sizeBytes, String barLabel) throws IOException {
        byte[] chunk = new byte[(int) MIB];
        new SplittableRandom(4).nextBytes(chunk);
        ProgressBar b = startBar(barLabel, ByteSize::format);
        try {
            try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                for (long done = 0; done < sizeBytes; done += MIB) {
                    checkStopping();
                    out.write(chunk);
                    b.update(done + MIB, sizeBytes);
                }
            }
            try (var ch = java.nio.channels.FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
        } finally {
            endBar();
        }
    }

    static final class FioFailed extends Exception {
        private static final long serialVersionUID = 1L;

        FioFailed(String message) {
            super(message, null, false, false);
        }
    }

    /** Runs one fio job on {@code file} and returns its rate (MiB/s or IOPS, read + write). */
    private double fioOnce(FioJob job, Path file, long sizeBytes, Path output, String barLabel) throws FioFailed {
        List<String> cmd = new ArrayList<>(List.of("fio", "--name=" + job.name(), "--filename=" + file,
                "--size=" + sizeBytes, "--runtime=" + runtimeSeconds, "--ramp_time=1", "--time_based",
                "--group_reporting", "--output-format=json", "--output=" + output));
        cmd.addAll(job.args());
        Path errFile = output.resolveSibling(output.getFileName() + ".err");
        int rc;
        try {
            Process p = new ProcessBuilder(cmd)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(errFile.toFile())
                    .start();
            running = p;
            long timeout = Math.max(300, 20L * runtimeSeconds);
            // fio runs 1 s of ramp-up, then runtime seconds: the bar shows that time passing.
            long expectedMillis = (runtimeSeconds + 1) * 1000L;
            long startNanos = System.nanoTime();
            ProgressBar b = startBar(barLabel, millis -> ""); // time-based: the percentage and the seconds
            try {
                while (!p.waitFor(100, TimeUnit.MILLISECONDS)) {
                    long elapsedMillis = (System.nanoTime() - startNanos) / 1_000_000;
                    if (elapsedMillis > timeout * 1000) {
                        destroyTree(p);
                        throw new FioFailed("fio did not finish within " + timeout + " s (the file system hangs?)");
                    }
                    b.update(Math.min(elapsedMillis, expectedMillis), expectedMillis);
                }
            } finally {
                endBar();
            }
            rc = p.exitValue();
        } catch (IOException e) {
            throw new FioFailed("cannot run fio: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FioFailed("interrupted");
        } finally {
            running = null;
        }
        String stderr = readQuietly(errFile);
        String out = readQuietly(output);
        if (rc != 0 || out.indexOf('{') < 0) {
            throw new FioFailed("fio exit status " + rc + ": " + lastLines(stderr.isBlank() ? out : stderr));
        }
        Object parsed;
        try {
            parsed = Json.parse(out.substring(out.indexOf('{')));
        } catch (IllegalArgumentException e) {
            throw new FioFailed("unreadable fio output: " + e.getMessage());
        }
        double iops = 0;
        double bytesPerSecond = 0;
        for (Object j : Json.list(Json.get(parsed, "jobs"))) {
            double error = Json.number(Json.get(j, "error"));
            if (error != 0) {
                throw new FioFailed("fio job error " + (long) error + " (errno): " + lastLines(stderr));
            }
            for (String d : List.of("read", "write")) {
                iops += Json.number(Json.get(Json.get(j, d), "iops"));
                bytesPerSecond += Json.number(Json.get(Json.get(j, d), "bw_bytes"));
            }
        }
        if (iops == 0) {
            throw new FioFailed("fio did no I/O: " + lastLines(stderr));
        }
        return job.mibPerSecond() ? bytesPerSecond / MIB : iops;
    }

    /** Kills fio and its job processes (fio forks one per job), and waits for them to exit. */
    static void destroyTree(Process p) {
        List<ProcessHandle> all = new ArrayList<>(p.descendants().toList());
        all.add(p.toHandle());
        all.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // still alive after SIGKILL (blocked in the kernel): give up waiting
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static String fioVersion() {
        try {
            Process p = new ProcessBuilder("fio", "--version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new CommandFailure("fio --version failed (" + v + "): reinstall fio (apt-get install fio)");
            }
            return v;
        } catch (IOException e) {
            throw new CommandFailure("fio is not installed (d4 bench runs its I/O jobs with it): apt-get install fio");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommandFailure("interrupted");
        }
    }

    // ---- metadata -----------------------------------------------------------------------------

    private static final String[] PHASES = {"create", "stat", "readdir", "unlink"};

    private List<Row> runMetadata(int done, int total, Path nativeWork, Path d4Work) {
        List<Row> rows = new ArrayList<>();
        for (String phase : PHASES) {
            rows.add(new Row("meta-" + phase, phase + (phase.equals("readdir") ? " (entries)" : "") + " of " + files
                    + " files in one directory, java.nio.file", phase.equals("readdir") ? "entries/s" : "ops/s"));
        }
        String metadataJobs = "[" + (done + 1) + "-" + total + "/" + total + "]";
        progress(metadataJobs + " metadata: create, stat, readdir, unlink of " + files + " files");
        for (int r = 1; r <= repeat; r++) {
            for (int side = 0; side < 2; side++) {
                checkStopping();
                boolean isNative = side == 0;
                Path dir = (isNative ? nativeWork : d4Work).resolve("meta-" + r);
                String label = isNative ? "native" : "d4";
                try {
                    double[] rates = metadataOnce(dir, "metadata run " + r + "/" + repeat + ": " + label);
                    StringBuilder line = new StringBuilder("metadata run " + r + "/" + repeat + ": " + label);
                    for (int i = 0; i < PHASES.length; i++) {
                        (isNative ? rows.get(i).nativeRuns : rows.get(i).d4Runs).add(rates[i]);
                        line.append(' ').append(PHASES[i]).append(' ').append(number(rates[i])).append("/s");
                    }
                    progress(line.toString());
                } catch (IOException | RuntimeException e) {
                    String why = e.getClass().getSimpleName() + ": " + e.getMessage();
                    for (Row row : rows) {
                        if (isNative) {
                            row.nativeError = why;
                        } else {
                            row.d4Error = why;
                        }
                    }
                    progress("metadata run " + r + "/" + repeat + ": " + label + " FAILED: " + why);
                } finally {
                    deleteTreeQuietly(dir);
                }
            }
        }
        List<String> results = new ArrayList<>();
        for (Row row : rows) {
            results.add(row.job.substring("meta-".length()) + " " + summary(row));
        }
        progress(metadataJobs + " metadata done: " + String.join("; ", results));
        return rows;
    }

    /** Rates (per second) of create, stat, readdir (entries) and unlink of {@link #files} files in {@code dir}. */
    private double[] metadataOnce(Path dir, String barLabel) throws IOException {
        ProgressBar b = startBar(barLabel + " (create, stat, readdir, unlink) operations", Long::toString);
        try {
            return metadataPhases(dir, b);
        } finally {
            endBar();
        }
    }

    /** Rates of create, stat, readdir and unlink; the bar counts 4 x files operations. */
    private double[] metadataPhases(Path dir, ProgressBar b) throws IOException {
        long total = 4L * files;
        Files.createDirectory(dir);
        Path[] paths = new Path[files];
        for (int i = 0; i < files; i++) {
            paths[i] = dir.resolve(String.format(Locale.ROOT, "file-%06d", i));
        }
        double[] rates = new double[4];
        // The bar is updated every 1024 operations (an update reads the clock; drawing is rarer).
        long t0 = System.nanoTime();
        for (int i = 0; i < files; i++) {
            Files.createFile(paths[i]);
            if ((i & 1023) == 1023) {
                b.update(i + 1, total);
            }
        }
        long t1 = System.nanoTime();
        long sizes = 0;
        for (int i = 0; i < files; i++) {
            sizes += Files.readAttributes(paths[i], BasicFileAttributes.class).size();
            if ((i & 1023) == 1023) {
                b.update(files + i + 1, total);
            }
        }
        long t2 = System.nanoTime();
        int listed = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path ignored : ds) {
                listed++;
            }
        }
        b.update(3L * files, total);
        long t3 = System.nanoTime();
        for (int i = 0; i < files; i++) {
            Files.delete(paths[i]);
            if ((i & 1023) == 1023) {
                b.update(3L * files + i + 1, total);
            }
        }
        long t4 = System.nanoTime();
        if (listed != files || sizes != 0) {
            throw new IllegalStateException("readdir listed " + listed + " entries of " + files + " created files (sizes "
                    + sizes + ")");
        }
        long[] t = {t0, t1, t2, t3, t4};
        for (int i = 0; i < 4; i++) {
            rates[i] = files / Math.max(1e-9, (t[i + 1] - t[i]) / 1e9);
        }
        return rates;
    }

    // ---- output -------------------------------------------------------------------------------

    private void printTable(Path mp, Path nativeBase, String nativeFs, String fioVersion, long sizeBytes, List<Row> rows) {
        System.out.println("d4 bench: d4 " + mp + " vs native " + nativeBase + " (" + nativeFs + ")");
        System.out.println("  " + fioVersion + ", file size " + ByteSize.format(sizeBytes) + ", " + runtimeSeconds
                + " s per fio run, median of " + repeat + " runs; all figures are rates (higher is better)");
        String fmt = "%-24s %-10s %12s %12s %10s%n";
        System.out.printf(Locale.ROOT, fmt, "job", "unit", "native", "d4", "d4/native");
        List<String> notes = new ArrayList<>();
        for (Row row : rows) {
            Double ratio = row.ratio();
            System.out.printf(Locale.ROOT, fmt, row.job, row.unit, cell(row.nativeMedian(), row.nativeError),
                    cell(row.d4Median(), row.d4Error), ratio == null ? "-" : String.format(Locale.ROOT, "%.2f", ratio));
            if (row.nativeError != null) {
                notes.add(row.job + " native: " + row.nativeError);
            }
            if (row.d4Error != null) {
                notes.add(row.job + " d4: " + row.d4Error);
            }
        }
        System.out.println();
        for (Row row : rows) {
            System.out.println("  " + row.job + ": " + row.what);
        }
        if (!notes.isEmpty()) {
            System.out.println("failures (a figure marked * has fewer runs than asked):");
            notes.forEach(s -> System.out.println("  " + s));
        }
    }

    private static String cell(Double median, String error) {
        if (median == null) {
            return "failed";
        }
        return number(median) + (error != null ? "*" : "");
    }

    private String toJson(Path mp, Path nativeBase, String nativeFs, String fioVersion, long sizeBytes, List<Row> rows) {
        StringBuilder b = new StringBuilder("{");
        b.append("\"mountpoint\":").append(Json.quote(mp.toString()));
        b.append(",\"native_dir\":").append(Json.quote(nativeBase.toString()));
        b.append(",\"native_fs\":").append(Json.quote(nativeFs));
        b.append(",\"fio\":").append(Json.quote(fioVersion));
        b.append(",\"size_bytes\":").append(sizeBytes);
        b.append(",\"runtime_seconds\":").append(runtimeSeconds);
        b.append(",\"repeat\":").append(repeat);
        b.append(",\"files\":").append(files);
        b.append(",\"ioengine\":").append(Json.quote(ioEngine));
        b.append(",\"jobs\":[");
        for (int i = 0; i < rows.size(); i++) {
            Row row = rows.get(i);
            b.append(i == 0 ? "" : ",").append('{');
            b.append("\"job\":").append(Json.quote(row.job));
            b.append(",\"what\":").append(Json.quote(row.what));
            b.append(",\"unit\":").append(Json.quote(row.unit));
            b.append(",\"native\":").append(Json.number(row.nativeMedian()));
            b.append(",\"d4\":").append(Json.number(row.d4Median()));
            b.append(",\"ratio\":").append(Json.number(row.ratio()));
            b.append(",\"native_runs\":").append(Json.numbers(row.nativeRuns));
            b.append(",\"d4_runs\":").append(Json.numbers(row.d4Runs));
            b.append(",\"native_error\":").append(row.nativeError == null ? "null" : Json.quote(row.nativeError));
            b.append(",\"d4_error\":").append(row.d4Error == null ? "null" : Json.quote(row.d4Error));
            b.append('}');
        }
        return b.append("]}").toString();
    }

    // ---- helpers ------------------------------------------------------------------------------

    static Double median(List<Double> values) {
        if (values.isEmpty()) {
            return null;
        }
        List<Double> s = new ArrayList<>(values);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    static String number(double v) {
        return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    private void checkStopping() {
        if (stopping) {
            throw new CommandFailure("stopped (SIGTERM or Ctrl-C); the benchmark's files are removed");
        }
    }

    /** The bar of the step running (on a terminal only), or null. */
    private ProgressBar bar;

    private ProgressBar startBar(String label, LongFunction<String> unit) {
        endBar();
        bar = ProgressBar.barOnly("d4 bench: " + label, unit);
        return bar;
    }

    private void endBar() {
        if (bar != null) {
            bar.clear();
            bar = null;
        }
    }

    /** One plain line on stderr (a bar is erased first; its next update draws it again below). */
    private void progress(String line) {
        if (bar != null) {
            bar.clear();
        }
        System.err.println("d4 bench: " + line);
    }

    /** "native 480 MiB/s, d4 300 MiB/s, d4/native 0.62" (or which side failed). */
    static String summary(Row row) {
        Double n = row.nativeMedian();
        Double d = row.d4Median();
        Double ratio = row.ratio();
        return "native " + (n == null ? "failed" : number(n) + " " + row.unit) + ", d4 "
                + (d == null ? "failed" : number(d) + " " + row.unit)
                + (ratio == null ? "" : ", d4/native " + String.format(Locale.ROOT, "%.2f", ratio));
    }

    private static void requireSpace(Path dir, long sizeBytes, String what) throws IOException {
        long free = Files.getFileStore(dir).getUsableSpace();
        long need = sizeBytes + 64 * MIB;
        if (free < need) {
            throw new CommandFailure(what + " " + dir + " has " + ByteSize.format(free) + " free, the benchmark needs "
                    + ByteSize.format(need) + ": free space there or pass a smaller --size");
        }
    }

    /** "TYPE on SOURCE at MOUNTPOINT" of the file system holding {@code dir}, from /proc/self/mountinfo. */
    static String describeFs(Path dir) {
        Path real;
        try {
            real = dir.toRealPath();
        } catch (IOException e) {
            real = dir;
        }
        String best = null;
        String bestInfo = "unknown file system";
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/mountinfo"));
        } catch (IOException e) {
            return bestInfo;
        }
        for (String line : lines) {
            String[] f = line.split(" ");
            int dash = line.indexOf(" - ");
            if (f.length < 5 || dash < 0) {
                continue;
            }
            String target = MountTable.unescape(f[4]);
            boolean covers = real.startsWith(Path.of(target));
            // The longest covering mount point wins; of equals, the last mounted (the visible one).
            if (covers && (best == null || target.length() >= best.length())) {
                String[] tail = line.substring(dash + 3).split(" ");
                best = target;
                bestInfo = tail[0] + " on " + (tail.length > 1 ? MountTable.unescape(tail[1]) : "?") + " at " + target;
            }
        }
        return bestInfo;
    }

    private static String readQuietly(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static String lastLines(String text) {
        List<String> lines = text.lines().map(String::strip).filter(s -> !s.isEmpty()).toList();
        String s = String.join(" | ", lines.subList(Math.max(0, lines.size() - 2), lines.size()));
        return s.isEmpty() ? "(no message)" : s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    static void deleteTreeQuietly(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: reported below if the root stays
                }
            }
        } catch (IOException | java.io.UncheckedIOException ignored) {
            // reported below
        }
        if (Files.exists(root)) {
            System.err.println("d4 bench: warning: could not remove " + root + ": remove it by hand");
        }
    }

    /** Just enough JSON for fio's output (read) and ours (written). */
    static final class Json {
        private final String s;
        private int i;

        private Json(String s) {
            this.s = s;
        }

        static Object parse(String text) {
            Json p = new Json(text);
            Object v = p.value();
            p.ws();
            return v;
        }

        static Object get(Object o, String key) {
            if (o instanceof Map<?, ?> m && m.containsKey(key)) {
                return m.get(key);
            }
            throw new IllegalArgumentException("no '" + key + "' in fio's JSON");
        }

        static List<?> list(Object o) {
            if (o instanceof List<?> l) {
                return l;
            }
            throw new IllegalArgumentException("expected a JSON array in fio's output");
        }

        static double number(Object o) {
            if (o instanceof Double d) {
                return d;
            }
            throw new IllegalArgumentException("expected a number in fio's JSON, got " + o);
        }

        static String number(Double d) {
            return d == null || d.isNaN() || d.isInfinite() ? "null" : String.format(Locale.ROOT, "%.3f", d);
        }

        static String numbers(List<Double> ds) {
            StringBuilder b = new StringBuilder("[");
            for (int k = 0; k < ds.size(); k++) {
                b.append(k == 0 ? "" : ",").append(number(ds.get(k)));
            }
            return b.append(']').toString();
        }

        static String quote(String v) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : v.toCharArray()) {
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\t' -> b.append("\\t");
                    case '\r' -> b.append("\\r");
                    default -> {
                        if (c < 0x20) {
                            b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                        } else {
                            b.append(c);
                        }
                    }
                }
            }
            return b.append('"').toString();
        }

        private void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException(what + " at character " + i);
        }

        private Object value() {
            ws();
            if (i >= s.length()) {
                throw error("unexpected end");
            }
            char c = s.charAt(i);
            switch (c) {
                case '{' -> {
                    i++;
                    Map<String, Object> m = new LinkedHashMap<>();
                    ws();
                    if (peek('}')) {
                        return m;
                    }
                    do {
                        ws();
                        String k = string();
                        ws();
                        expect(':');
                        m.put(k, value());
                        ws();
                    } while (peek(','));
                    expect('}');
                    return m;
                }
                case '[' -> {
                    i++;
                    List<Object> l = new ArrayList<>();
                    ws();
                    if (peek(']')) {
                        return l;
                    }
                    do {
                        l.add(value());
                        ws();
                    } while (peek(','));
                    expect(']');
                    return l;
                }
                case '"' -> {
                    return string();
                }
                default -> {
                    if (s.startsWith("true", i)) {
                        i += 4;
                        return Boolean.TRUE;
                    }
                    if (s.startsWith("false", i)) {
                        i += 5;
                        return Boolean.FALSE;
                    }
                    if (s.startsWith("null", i)) {
                        i += 4;
                        return null;
                    }
                    int start = i;
                    while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
                        i++;
                    }
                    if (start == i) {
                        throw error("unexpected '" + c + "'");
                    }
                    try {
                        return Double.parseDouble(s.substring(start, i));
                    } catch (NumberFormatException e) {
                        throw error("bad number");
                    }
                }
            }
        }

        private boolean peek(char c) {
            if (i < s.length() && s.charAt(i) == c) {
                i++;
                return true;
            }
            return false;
        }

        private void expect(char c) {
            if (!peek(c)) {
                throw error("expected '" + c + "'");
            }
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (i < s.length()) {
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                }
                if (c == '\\' && i < s.length()) {
                    char e = s.charAt(i++);
                    switch (e) {
                        case 'n' -> b.append('\n');
                        case 't' -> b.append('\t');
                        case 'r' -> b.append('\r');
                        case 'b' -> b.append('\b');
                        case 'f' -> b.append('\f');
                        case 'u' -> {
                            if (i + 4 > s.length()) {
                                throw error("bad \\u escape");
                            }
                            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                            i += 4;
                        }
                        default -> b.append(e);
                    }
                } else {
                    b.append(c);
                }
            }
            throw error("unterminated string");
        }
    }
}
