package d4.engine;

import static d4.engine.Pools.create;
import static d4.engine.Pools.open;
import static d4.engine.Pools.random;
import static d4.engine.Pools.utf8;
import static d4.engine.Pools.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scrub walks the published metadata tree without the pool's lock while writers commit, delete
 * (freeing blocks that new data reuses) and checkpoint: it never reports damage that is not there,
 * and the writers are not held up for the whole walk.
 */
class ScrubWhileWritingTest {
    @TempDir
    Path dir;

    /** Page reads by the scrubbing thread take 2 ms: the walk spans many commits and checkpoints. */
    private static final class SlowScrubReads extends ForwardingDrive {
        SlowScrubReads(d4.engine.io.Drive drive) {
            super(drive);
        }

        @Override
        public void read(long offsetBytes, java.lang.foreign.MemorySegment dst) {
            if (Thread.currentThread().getName().equals("scrubber") && dst.byteSize() == Limits.BLOCK_BYTES) {
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            drive.read(offsetBytes, dst);
        }
    }

    @Test
    void scrubOfThePublishedTreeSeesNoFalseDamageWhileWritersCheckpoint() throws Exception {
        Path v = Pools.formatOne(dir, "p");
        PoolOptions slow = Pools.QUIET.withDriveFactory((path, alignment) -> new SlowScrubReads(
                Pools.DRIVES.open(path, alignment)));
        try (Pool pool = Pool.open(List.of(v), slow)) {
            for (int i = 0; i < 2000; i++) {
                Pools.putEntry(pool, ObjectId.POOL, utf8(String.format("name-%05d", i)), utf8("x".repeat(150)));
            }
            AtomicBoolean writing = new AtomicBoolean(true);
            AtomicInteger commits = new AtomicInteger();
            List<Throwable> writerErrors = new ArrayList<>();
            Thread writer = Thread.ofPlatform().start(() -> {
                Random r = new Random(11);
                List<ObjectId> live = new ArrayList<>();
                try {
                    while (writing.get()) {
                        int k = r.nextInt(2000);
                        Pools.putEntry(pool, ObjectId.POOL, utf8(String.format("name-%05d", k)),
                                utf8("y".repeat(50 + r.nextInt(300))));
                        if (live.size() > 20 || (!live.isEmpty() && r.nextBoolean())) {
                            Pools.delete(pool, live.remove(r.nextInt(live.size())));
                        } else {
                            ObjectId id = create(pool);
                            write(pool, id, 0, random(r, 1 + r.nextInt(200_000)));
                            live.add(id);
                        }
                        if (commits.incrementAndGet() % 500 == 0) {
                            // A checkpoint that must run (as when the journal is full): it waits for the scrub.
                            Txn holdsTheWriteLock = pool.begin();
                            try {
                                pool.checkpoint();
                            } finally {
                                holdsTheWriteLock.close();
                            }
                        }
                    }
                } catch (Throwable t) {
                    synchronized (writerErrors) {
                        writerErrors.add(t);
                    }
                }
            });
            long generationBefore = Pools.newestGeneration(v);
            List<String> problems = new ArrayList<>();
            int[] scrubs = {0};
            Thread scrubber = Thread.ofPlatform().name("scrubber").start(() -> {
                long deadline = System.nanoTime() + 4_000_000_000L;
                while (System.nanoTime() < deadline || scrubs[0] < 3) {
                    List<String> found = pool.verifyMetadata();
                    synchronized (problems) {
                        problems.addAll(found);
                    }
                    scrubs[0]++;
                    try {
                        Thread.sleep(5); // a scrub of a real pool runs now and then: checkpoints get their turn
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            });
            scrubber.join();
            writing.set(false);
            writer.join();
            assertEquals(List.of(), writerErrors, "the writer ran without errors");
            assertEquals(List.of(), problems, "no false damage over " + scrubs[0] + " scrubs and " + commits.get() + " commits");
            long checkpoints = Pools.newestGeneration(v) - generationBefore;
            assertTrue(commits.get() > 300 && checkpoints >= 3, "writers committed and checkpointed while scrubs ran: "
                    + commits.get() + " commits, " + checkpoints + " checkpoints, " + scrubs[0] + " scrubs");
            assertEquals(List.of(), pool.checkInvariants());
        }
    }
}
