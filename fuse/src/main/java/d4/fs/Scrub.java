package d4.fs;

import d4.engine.ObjectId;
import d4.engine.Pool;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * An online scrub: reads every data block of every file reachable from the root and checks it
 * against its checksum, then re-reads the published metadata. Damage is reported by path and byte
 * range. In pools with two copies a damaged copy is rewritten from the good one (and counted);
 * with one copy nothing is changed, as there is nothing to repair from. Runs
 * beside normal traffic: the pool's lock is taken per 1 MiB chunk, and the rate can be limited.
 */
public final class Scrub {
    /** A damaged byte range of a file, by one of its paths. */
    public record Damage(String path, long fromByte, long toByte, String detail) {}

    /**
     * What a scrub found; clean when neither list has anything. {@code repairedBlocks}: damaged
     * copies rewritten from their good copy (pools with two copies) during the scrub.
     */
    public record Report(long files, long bytesVerified, List<Damage> damaged, List<String> metadataProblems,
            long repairedBlocks) {
        public boolean clean() {
            return damaged.isEmpty() && metadataProblems.isEmpty();
        }
    }

    /** Told after each chunk: files finished so far and bytes verified so far. */
    @FunctionalInterface
    public interface Progress {
        void update(long files, long bytesVerified);
    }

    private final FileSystem fs;
    private final long rateBytesPerSecond;
    private final Progress progress;
    private long files;
    private long bytes;
    private long startNanos;

    /** @param rateBytesPerSecond 0 for no limit */
    public Scrub(FileSystem fs, long rateBytesPerSecond, Progress progress) {
        if (rateBytesPerSecond < 0) {
            throw new IllegalArgumentException("a negative scrub rate");
        }
        this.fs = fs;
        this.rateBytesPerSecond = rateBytesPerSecond;
        this.progress = progress;
    }

    public Report run() throws InterruptedException {
        startNanos = System.nanoTime();
        Pool pool = fs.pool();
        long repairedBefore = pool.info().repairedBlocks();
        List<Damage> damaged = new ArrayList<>();
        Set<Long> seenLinked = new HashSet<>(); // inodes with several names: verified once
        ArrayDeque<String> dirs = new ArrayDeque<>();
        dirs.add("/");
        while (!dirs.isEmpty()) {
            String dir = dirs.poll();
            Inode d;
            List<DirEntry> entries;
            try {
                d = fs.getattr(dir);
                entries = fs.entriesOf(d);
            } catch (FsException e) {
                continue; // removed or renamed while we walked: its files are found under the new name or gone
            }
            for (DirEntry e : entries.subList(2, entries.size())) {
                String path = (dir.equals("/") ? "" : dir) + "/" + new String(e.name(), StandardCharsets.UTF_8);
                if (e.typeBits() == Inode.S_IFDIR) {
                    dirs.add(path);
                    continue;
                }
                if (e.typeBits() != Inode.S_IFREG) {
                    continue;
                }
                Inode f;
                try {
                    f = fs.getattr(e.inode());
                } catch (FsException gone) {
                    continue;
                }
                if (f.nlink() > 1 && !seenLinked.add(f.id())) {
                    continue;
                }
                for (Pool.DamagedRange r : pool.verify(new ObjectId(f.id()), this::pace)) {
                    damaged.add(new Damage(path, r.fromByte(), r.toByte(), r.detail()));
                }
                files++;
                progress.update(files, bytes);
                if (Thread.interrupted()) {
                    throw new InterruptedException("scrub stopped");
                }
            }
        }
        List<String> metadata = pool.verifyMetadata();
        return new Report(files, bytes, List.copyOf(damaged), metadata, pool.info().repairedBlocks() - repairedBefore);
    }

    /** Counts verified bytes and sleeps as long as the scrub is ahead of its rate. */
    private void pace(long n) {
        bytes += n;
        progress.update(files, bytes);
        if (rateBytesPerSecond == 0) {
            return;
        }
        long dueNanos = (long) (bytes * 1e9 / rateBytesPerSecond);
        long aheadNanos = dueNanos - (System.nanoTime() - startNanos);
        if (aheadNanos > 0) {
            try {
                Thread.sleep(aheadNanos / 1_000_000, (int) (aheadNanos % 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // seen after this file; the scrub stops there
            }
        }
    }
}
