package d4.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.Pool;
import d4.engine.PoolOptions;
import d4.engine.VolumeSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inode and name caches are never staler than the engine, also while writers race readers. */
class NamespaceCacheTest {
    @TempDir
    Path dir;

    Pool pool;
    FileSystem fs;

    @BeforeEach
    void open() {
        Path volume = dir.resolve("v.d4vol");
        Pool.format("t", List.of(new VolumeSpec(volume, 64L << 20)));
        pool = Pool.open(List.of(volume), PoolOptions.defaults().withDriveFactory(
                d4.engine.io.DriveFactory.forEngine(System.getProperty("d4.test.ioEngine", "io_uring"))));
        fs = new FileSystem(pool, 64, 64); // small bounds: evictions happen too
    }

    @AfterEach
    void close() {
        pool.close();
    }

    private void probe(String path) {
        try {
            fs.getattr(path);
        } catch (FsException e) {
            assertEquals(FsError.NOT_FOUND, e.error());
        }
    }

    @Test
    void aReaderNeverSeesAValueOlderThanTheLastCompletedChange() throws Exception {
        fs.release(fs.create("/f", 0644, Caller.ROOT).id());
        fs.mkdir("/d", 0755, Caller.ROOT);
        int rounds = 3000;
        // Published after each change returns: a read that starts later must see it (or a newer one).
        java.util.concurrent.atomic.AtomicInteger lastOwner = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger lastCreated = new java.util.concurrent.atomic.AtomicInteger(-1);
        java.util.concurrent.atomic.AtomicInteger lastRenamed = new java.util.concurrent.atomic.AtomicInteger(-1);
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> readers = new ArrayList<>();
        long[] reads = new long[4];
        for (int r = 0; r < 4; r++) {
            int me = r;
            readers.add(Thread.ofPlatform().start(() -> {
                try {
                    while (!done.get()) {
                        int owner = lastOwner.get();
                        int seen = fs.getattr("/f").uid();
                        if (seen < owner) {
                            throw new AssertionError("uid " + seen + " read after chown to " + owner + " completed");
                        }
                        int created = lastCreated.get();
                        if (created >= 0) {
                            fs.getattr("/d/c" + created); // NOT_FOUND here would be a stale negative entry
                            probe("/d/c" + (created + 1)); // usually absent: caches a negative entry
                        }
                        int renamed = lastRenamed.get();
                        if (renamed > 0) {
                            FsException gone = org.junit.jupiter.api.Assertions.assertThrows(FsException.class,
                                    () -> fs.getattr("/d/r" + (renamed - 1)), "a renamed-away name still resolves");
                            assertEquals(FsError.NOT_FOUND, gone.error());
                        }
                        reads[me]++;
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        fs.release(fs.create("/d/r0", 0644, Caller.ROOT).id());
        lastRenamed.set(0);
        for (int i = 1; i <= rounds && failure.get() == null; i++) {
            fs.chown("/f", i, -1);
            lastOwner.set(i);
            fs.release(fs.create("/d/c" + i, 0644, Caller.ROOT).id());
            lastCreated.set(i);
            fs.rename("/d/r" + (i - 1), "/d/r" + i);
            lastRenamed.set(i);
        }
        done.set(true);
        for (Thread t : readers) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertEquals(rounds, fs.getattr("/f").uid());
        CacheStats stats = fs.cacheStats();
        assertTrue(stats.inodeHits() > 0 && stats.nameHits() > 0, "the caches answered some lookups: " + stats);
        assertTrue(stats.inodeEntries() <= 64 + 16 && stats.nameEntries() <= 64 + 16, "bounded: " + stats);
        assertTrue(java.util.Arrays.stream(reads).sum() > 0);
    }
}
