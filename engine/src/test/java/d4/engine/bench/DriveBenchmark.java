package d4.engine.bench;

import d4.engine.io.Drive;
import d4.engine.io.DriveFactory;
import d4.engine.io.IoBatch;
import d4.engine.io.IoWindow;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Control;

/**
 * The drive seam ({@link Drive}) on a preallocated file-backed volume: random 4 KiB reads and
 * writes at queue depth 1, 16 and 64, sequential 1 MiB reads and writes, and a 4 KiB write followed
 * by {@code flush()} (the journal-commit pattern).
 *
 * <p>Queue depth N is modelled two ways. The {@code _qdN} workloads are N JMH threads
 * ({@link Threads}), each issuing one synchronous request at a time on the one shared drive: how
 * FUSE worker threads use a drive. The {@code Batch} workloads are fio's model: one thread keeps N
 * requests in flight by handing them to {@link Drive#submit(IoBatch)} together and waiting for all
 * of them (fio's {@code --iodepth=N --iodepth_batch_submit=N --iodepth_batch_complete_min=N}): how
 * a read spanning many extents or a checkpoint's page runs use it. The {@code Window} workloads are
 * fio's default model ({@code --iodepth=N}): one thread keeps N requests in flight through an
 * {@link IoWindow} and starts the next as each completes, so the queue never drains; an op is one
 * request. Nothing sits between the thread
 * and the drive but JMH's loop. Scores are summed over the threads: ops/s (an op is one request, or
 * one batch for the Batch workloads), and the auxiliary counters {@code MiB} and {@code requests}
 * (reported in "ops/s", which for them means MiB/s and requests/s, comparable with fio's IOPS).
 *
 * <p>Each thread has its own 4096-aligned off-heap buffers (O_DIRECT needs them) and its own random
 * generator, so the benchmark itself allocates nothing per op: {@code -prof gc}'s
 * {@code gc.alloc.rate.norm} is what the drive allocates per request.
 *
 * <p>Run (see docs/benchmarks.md):
 * {@code mvn -pl engine -Pbench -Djmh.args="DriveBenchmark -p engine=filechannel -prof gc"}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms512m", "-Xmx512m"})
@State(Scope.Benchmark)
public class DriveBenchmark {
    static final int BLOCK = 4096;
    static final int SEQ = 1 << 20;

    /** The io engine, as DriveFactory.forEngine spells it. Subset: -p engine=filechannel. */
    @Param({"filechannel", "io_uring"})
    public String engine;

    /** Size of the volume file, fully written before the first iteration (so nothing reads holes). */
    @Param({"1G"})
    public String volumeSize;

    /** Directory for the temporary volume; same as fio-ceiling.sh's default, to compare with it. */
    @Param({"/var/tmp"})
    public String dir;

    /**
     * The host page cache of the volume file after the fill: "kept" (as 1 MiB writes left it), or
     * "dropped" (posix_fadvise DONTNEED, as fio does before each job). It matters to the
     * filechannel drive only, and a lot: see docs/benchmarks.md.
     */
    @Param({"kept"})
    public String pageCache;

    private Path tempDir;
    private Drive drive;
    private long blocks;
    private long seqChunks;

    @Setup(Level.Trial)
    public void openVolume() throws IOException {
        // Resolve the engine first: an engine this build lacks fails at once, before 1 GiB is written.
        DriveFactory factory;
        try {
            factory = DriveFactory.forEngine(engine);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("io engine '" + engine + "' is not available in this build ("
                    + e.getMessage() + "): for io_uring, a build without UringDrive. Run the others only,"
                    + " e.g. -p engine=filechannel", e);
        }
        if (!pageCache.equals("kept") && !pageCache.equals("dropped")) {
            throw new IllegalArgumentException("pageCache must be kept or dropped, not '" + pageCache + "'");
        }
        long size = parseSize(volumeSize);
        if (size < SEQ || size % SEQ != 0) {
            throw new IllegalArgumentException("volumeSize " + volumeSize + " must be a positive multiple of 1M");
        }
        tempDir = Files.createTempDirectory(Path.of(dir), "d4-drive-bench-");
        // JMH does not tear down after a failed setup: remove the volume here when anything fails.
        try {
            Path volume = tempDir.resolve("volume");
            preallocate(volume, size);
            if (pageCache.equals("dropped")) {
                dropPageCache(volume);
            }
            drive = factory.open(volume, BLOCK);
            if (!drive.engine().equals(engine)) {
                throw new IllegalStateException("asked for io engine '" + engine + "' but the drive is '"
                        + drive.engine() + "' (the factory fell back: see the log line above); not reporting "
                        + drive.engine() + " numbers as " + engine);
            }
            if (drive.sizeBytes() != size) {
                throw new IllegalStateException("the drive reports " + drive.sizeBytes() + " bytes for a volume of "
                        + size);
            }
        } catch (IOException | RuntimeException | Error e) {
            try {
                closeVolume();
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        blocks = size / BLOCK;
        seqChunks = size / SEQ;
    }

    @TearDown(Level.Trial)
    public void closeVolume() throws IOException {
        try {
            if (drive != null) {
                drive.close();
                drive = null;
            }
        } finally {
            if (tempDir != null) {
                try (Stream<Path> s = Files.walk(tempDir)) {
                    for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
                tempDir = null;
            }
        }
    }

    /** Writes every byte of the volume (random data, then fdatasync) so that it has no holes. */
    static void preallocate(Path volume, long size) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocateDirect(SEQ);
        SplittableRandom rnd = new SplittableRandom(42);
        while (chunk.hasRemaining()) {
            chunk.putLong(rnd.nextLong());
        }
        try (FileChannel ch = FileChannel.open(volume, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long pos = 0; pos < size; pos += SEQ) {
                chunk.clear();
                while (chunk.hasRemaining()) {
                    ch.write(chunk, pos + chunk.position());
                }
            }
            ch.force(false);
        }
    }

    /** posix_fadvise(POSIX_FADV_DONTNEED) on the whole (fsynced, so clean) file. */
    static void dropPageCache(Path file) {
        Linker linker = Linker.nativeLinker();
        MethodHandle open = linker.downcallHandle(linker.defaultLookup().find("open").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        MethodHandle fadvise = linker.downcallHandle(linker.defaultLookup().find("posix_fadvise").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        MethodHandle close = linker.downcallHandle(linker.defaultLookup().find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) open.invokeExact(arena.allocateFrom(file.toString()), 0 /* O_RDONLY */);
            if (fd < 0) {
                throw new IllegalStateException("open(" + file + ") failed");
            }
            int rc = (int) fadvise.invokeExact(fd, 0L, 0L, 4 /* POSIX_FADV_DONTNEED */);
            int closed = (int) close.invokeExact(fd);
            if (rc != 0 || closed != 0) {
                throw new IllegalStateException("posix_fadvise(DONTNEED) on " + file + " failed: " + rc);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    static long parseSize(String text) {
        String s = text.trim().toUpperCase(Locale.ROOT);
        int shift = switch (s.isEmpty() ? ' ' : s.charAt(s.length() - 1)) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            case 'T' -> 40;
            default -> 0;
        };
        return Long.parseLong(shift == 0 ? s : s.substring(0, s.length() - 1)) << shift;
    }

    /** Per-thread buffers (4096-aligned, off-heap), random generator and sequential position. */
    @State(Scope.Thread)
    public static class Io {
        private Arena arena;
        MemorySegment block;
        MemorySegment chunk;
        SplittableRandom rnd;
        long seqIndex;

        @Setup(Level.Trial)
        public void allocate() {
            // Shared, not confined: a drive may touch the buffer from its own completion thread.
            arena = Arena.ofShared();
            block = arena.allocate(BLOCK, BLOCK);
            chunk = arena.allocate(SEQ, BLOCK);
            rnd = new SplittableRandom(0x9E3779B97F4A7C15L * (Thread.currentThread().threadId() + 1));
            for (long i = 0; i < SEQ; i += Long.BYTES) {
                chunk.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong());
            }
            MemorySegment.copy(chunk, 0, block, 0, BLOCK);
        }

        @TearDown(Level.Trial)
        public void free() {
            arena.close();
        }
    }

    /**
     * Queue depth of the Batch workloads: requests per {@link Drive#submit(IoBatch)}, all from one
     * thread, each into its own 4096-aligned buffer. The batch and the buffer slices are made once.
     */
    @State(Scope.Thread)
    public static class Batch {
        @Param({"16", "64"})
        public int depth;

        private Arena arena;
        IoBatch batch;
        MemorySegment[] blocks;
        /** The Window workloads' window, opened by their first call on the benchmark thread (its owner). */
        IoWindow window;

        @Setup(Level.Trial)
        public void allocate() {
            arena = Arena.ofShared();
            batch = new IoBatch(depth);
            blocks = slices(arena, depth, BLOCK);
        }

        @TearDown(Level.Trial)
        public void free() {
            if (window != null) {
                window.close(); // before the drive's close, which would wait for its requests
                window = null;
            }
            arena.close();
        }
    }

    /** Sequential 1 MiB requests per batch of the seq*Batch workloads (fio: read-1m-qd8, write-1m-qd8). */
    static final int SEQ_BATCH = 8;

    /** Buffers of the sequential batches: {@link #SEQ_BATCH} times 1 MiB. */
    @State(Scope.Thread)
    public static class SeqBatch {
        private Arena arena;
        IoBatch batch;
        MemorySegment[] chunks;
        IoWindow window;

        @Setup(Level.Trial)
        public void allocate() {
            arena = Arena.ofShared();
            batch = new IoBatch(SEQ_BATCH);
            chunks = slices(arena, SEQ_BATCH, SEQ);
        }

        @TearDown(Level.Trial)
        public void free() {
            if (window != null) {
                window.close();
                window = null;
            }
            arena.close();
        }
    }

    /** {@code n} aligned buffers of {@code bytes} each, cut from one allocation filled with random bytes. */
    static MemorySegment[] slices(Arena arena, int n, int bytes) {
        MemorySegment all = arena.allocate((long) n * bytes, BLOCK);
        SplittableRandom rnd = new SplittableRandom(n);
        for (long i = 0; i < all.byteSize(); i += Long.BYTES) {
            all.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong());
        }
        MemorySegment[] s = new MemorySegment[n];
        for (int i = 0; i < n; i++) {
            s[i] = all.asSlice((long) i * bytes, bytes);
        }
        return s;
    }

    /**
     * Bytes and requests done, as auxiliary JMH counters: reported per second, so "MiB ... ops/s"
     * reads MiB/s and "requests ... ops/s" reads requests/s (for the Batch workloads an op is a
     * whole batch; requests/s is what compares with fio's IOPS). JMH keeps the threads of a
     * multi-threaded benchmark running before and after the measured window (to synchronize them)
     * and an aux counter would count those ops too, so only the ops in the window ({@link Control})
     * count.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bytes {
        public double MiB;
        public double requests;

        @Setup(Level.Iteration)
        public void reset() {
            MiB = 0;
            requests = 0;
        }

        void add(Control control, double mib) {
            add(control, mib, 1);
        }

        void add(Control control, double mib, int n) {
            if (control.startMeasurement && !control.stopMeasurement) {
                MiB += mib;
                requests += n;
            }
        }
    }

    private static final double BLOCK_MIB = (double) BLOCK / SEQ;

    private void randRead(Io io, Bytes bytes, Control control) {
        drive.read(io.rnd.nextLong(blocks) * BLOCK, io.block);
        bytes.add(control, BLOCK_MIB);
    }

    private void randWrite(Io io, Bytes bytes, Control control) {
        drive.write(io.rnd.nextLong(blocks) * BLOCK, io.block);
        bytes.add(control, BLOCK_MIB);
    }

    @Benchmark
    @Threads(1)
    public void randRead4k_qd1(Io io, Bytes bytes, Control control) {
        randRead(io, bytes, control);
    }

    @Benchmark
    @Threads(16)
    public void randRead4k_qd16(Io io, Bytes bytes, Control control) {
        randRead(io, bytes, control);
    }

    @Benchmark
    @Threads(64)
    public void randRead4k_qd64(Io io, Bytes bytes, Control control) {
        randRead(io, bytes, control);
    }

    @Benchmark
    @Threads(1)
    public void randWrite4k_qd1(Io io, Bytes bytes, Control control) {
        randWrite(io, bytes, control);
    }

    @Benchmark
    @Threads(16)
    public void randWrite4k_qd16(Io io, Bytes bytes, Control control) {
        randWrite(io, bytes, control);
    }

    @Benchmark
    @Threads(64)
    public void randWrite4k_qd64(Io io, Bytes bytes, Control control) {
        randWrite(io, bytes, control);
    }

    /** A 4 KiB write made durable: write, then flush (fdatasync for filechannel). */
    @Benchmark
    @Threads(1)
    public void randWriteFlush4k_qd1(Io io, Bytes bytes, Control control) {
        randWrite(io, bytes, control);
        drive.flush();
    }

    @Benchmark
    @Threads(1)
    public void seqRead1m(Io io, Bytes bytes, Control control) {
        drive.read(nextChunk(io) * SEQ, io.chunk);
        bytes.add(control, 1);
    }

    @Benchmark
    @Threads(1)
    public void seqWrite1m(Io io, Bytes bytes, Control control) {
        drive.write(nextChunk(io) * SEQ, io.chunk);
        bytes.add(control, 1);
    }

    /** Random 4 KiB reads, {@code depth} at a time from one thread: fio's iodepth model. */
    @Benchmark
    @Threads(1)
    public void randRead4kBatch(Io io, Batch b, Bytes bytes, Control control) {
        IoBatch batch = b.batch;
        batch.clear();
        for (int i = 0; i < b.depth; i++) {
            batch.read(io.rnd.nextLong(blocks) * BLOCK, b.blocks[i]);
        }
        drive.submit(batch);
        bytes.add(control, b.depth * BLOCK_MIB, b.depth);
    }

    /** Random 4 KiB writes, {@code depth} at a time from one thread. */
    @Benchmark
    @Threads(1)
    public void randWrite4kBatch(Io io, Batch b, Bytes bytes, Control control) {
        IoBatch batch = b.batch;
        batch.clear();
        for (int i = 0; i < b.depth; i++) {
            batch.write(io.rnd.nextLong(blocks) * BLOCK, b.blocks[i]);
        }
        drive.submit(batch);
        bytes.add(control, b.depth * BLOCK_MIB, b.depth);
    }

    /** {@link #SEQ_BATCH} consecutive 1 MiB reads per batch, wrapping at the end of the volume. */
    @Benchmark
    @Threads(1)
    public void seqRead1mBatch(Io io, SeqBatch b, Bytes bytes, Control control) {
        IoBatch batch = b.batch;
        batch.clear();
        for (int i = 0; i < SEQ_BATCH; i++) {
            batch.read(nextChunk(io) * SEQ, b.chunks[i]);
        }
        drive.submit(batch);
        bytes.add(control, SEQ_BATCH, SEQ_BATCH);
    }

    /** {@link #SEQ_BATCH} consecutive 1 MiB writes per batch, wrapping at the end of the volume. */
    @Benchmark
    @Threads(1)
    public void seqWrite1mBatch(Io io, SeqBatch b, Bytes bytes, Control control) {
        IoBatch batch = b.batch;
        batch.clear();
        for (int i = 0; i < SEQ_BATCH; i++) {
            batch.write(nextChunk(io) * SEQ, b.chunks[i]);
        }
        drive.submit(batch);
        bytes.add(control, SEQ_BATCH, SEQ_BATCH);
    }

    /**
     * Random 4 KiB reads with {@code depth} in flight from one thread, each refilled as soon as it
     * completes: fio's default model ({@code --iodepth=N}). An op is one request: take one
     * completion, start the next request into its buffer.
     */
    @Benchmark
    @Threads(1)
    public void randRead4kWindow(Io io, Batch b, Bytes bytes, Control control) {
        IoWindow w = b.window;
        if (w == null) {
            w = b.window = drive.openWindow(b.depth);
            for (int k = 0; k < b.depth; k++) {
                w.read(io.rnd.nextLong(blocks) * BLOCK, b.blocks[k], k);
            }
        }
        int k = (int) w.take();
        if (w.failure() != null) {
            throw w.failure();
        }
        w.read(io.rnd.nextLong(blocks) * BLOCK, b.blocks[k], k);
        bytes.add(control, BLOCK_MIB);
    }

    /** Random 4 KiB writes with {@code depth} in flight from one thread, refilled as each completes. */
    @Benchmark
    @Threads(1)
    public void randWrite4kWindow(Io io, Batch b, Bytes bytes, Control control) {
        IoWindow w = b.window;
        if (w == null) {
            w = b.window = drive.openWindow(b.depth);
            for (int k = 0; k < b.depth; k++) {
                w.write(io.rnd.nextLong(blocks) * BLOCK, b.blocks[k], k);
            }
        }
        int k = (int) w.take();
        if (w.failure() != null) {
            throw w.failure();
        }
        w.write(io.rnd.nextLong(blocks) * BLOCK, b.blocks[k], k);
        bytes.add(control, BLOCK_MIB);
    }

    /** Consecutive 1 MiB reads, {@link #SEQ_BATCH} in flight, refilled as each completes (fio: read-1m-qd8). */
    @Benchmark
    @Threads(1)
    public void seqRead1mWindow(Io io, SeqBatch b, Bytes bytes, Control control) {
        IoWindow w = b.window;
        if (w == null) {
            w = b.window = drive.openWindow(SEQ_BATCH);
            for (int k = 0; k < SEQ_BATCH; k++) {
                w.read(nextChunk(io) * SEQ, b.chunks[k], k);
            }
        }
        int k = (int) w.take();
        if (w.failure() != null) {
            throw w.failure();
        }
        w.read(nextChunk(io) * SEQ, b.chunks[k], k);
        bytes.add(control, 1);
    }

    /** Consecutive 1 MiB writes, {@link #SEQ_BATCH} in flight, refilled as each completes (fio: write-1m-qd8). */
    @Benchmark
    @Threads(1)
    public void seqWrite1mWindow(Io io, SeqBatch b, Bytes bytes, Control control) {
        IoWindow w = b.window;
        if (w == null) {
            w = b.window = drive.openWindow(SEQ_BATCH);
            for (int k = 0; k < SEQ_BATCH; k++) {
                w.write(nextChunk(io) * SEQ, b.chunks[k], k);
            }
        }
        int k = (int) w.take();
        if (w.failure() != null) {
            throw w.failure();
        }
        w.write(nextChunk(io) * SEQ, b.chunks[k], k);
        bytes.add(control, 1);
    }

    private long nextChunk(Io io) {
        long i = io.seqIndex;
        io.seqIndex = i + 1 == seqChunks ? 0 : i + 1;
        return i;
    }
}
