package d4.fs;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import d4.engine.CommitListener;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Caches of decoded inodes and of directory entries (positive and negative), bounded by count.
 * Exact: the pool tells this cache of every commit while it still holds its write lock
 * ({@link CommitListener}), and the entry goes. A value loaded concurrently with a commit is only
 * kept if no commit happened between the start of its load and its insertion (the generation
 * check), so a reader that raced a writer can never put a pre-commit value back. Loads never run
 * inside the cache's own per-key lock: that lock is taken by invalidation under the pool's write
 * lock, and a load takes the pool's read lock.
 */
final class NamespaceCache implements CommitListener {
    /** The value of a cached negative directory entry. */
    private static final long ABSENT = -1;

    /** A name in a directory; the name's bytes held as a Latin-1 string (one char per byte, cheap to hash). */
    private record NameKey(long dir, String name) {
        static NameKey of(long dir, byte[] name) {
            return new NameKey(dir, new String(name, StandardCharsets.ISO_8859_1));
        }
    }

    private final Cache<Long, Inode> inodes;
    private final Cache<NameKey, Long> names;
    private final AtomicLong generation = new AtomicLong();

    NamespaceCache(long maxInodes, long maxNames) {
        // Maintenance (evictions, the buffers of reads and writes) runs on the calling thread: every
        // data write invalidates its inode, and the default executor (the common ForkJoinPool) would
        // wake a pool thread for it, which on a 2-core host takes the CPU from the FUSE thread and
        // the ring thread (420 ms of CPU in an 8.8 s sequential write of 2 GiB).
        this.inodes = Caffeine.newBuilder().maximumSize(maxInodes).executor(Runnable::run).recordStats().build();
        this.names = Caffeine.newBuilder().maximumSize(maxNames).executor(Runnable::run).recordStats().build();
    }

    /** The inode from the cache, or from {@code load} (empty when it does not exist: not cached). */
    Optional<Inode> inode(long id, Supplier<Optional<Inode>> load) {
        Inode cached = inodes.getIfPresent(id);
        if (cached != null) {
            return Optional.of(cached);
        }
        long before = generation.get();
        Optional<Inode> loaded = load.get();
        loaded.ifPresent(i -> inodes.asMap().compute(id, (k, old) -> generation.get() == before ? i : old));
        return loaded;
    }

    /** The child id a directory maps a name to, from the cache or from {@code load}. */
    Optional<Long> lookup(long dir, byte[] name, Supplier<Optional<Long>> load) {
        NameKey key = NameKey.of(dir, name);
        Long cached = names.getIfPresent(key);
        if (cached != null) {
            return cached == ABSENT ? Optional.empty() : Optional.of(cached);
        }
        long before = generation.get();
        Optional<Long> loaded = load.get();
        Long value = loaded.orElse(ABSENT);
        names.asMap().compute(key, (k, old) -> generation.get() == before ? value : old);
        return loaded;
    }

    @Override
    public void objectChanged(long id) {
        generation.incrementAndGet();
        inodes.invalidate(id);
    }

    @Override
    public void entryChanged(long owner, byte[] key) {
        if (key.length > 1 && key[0] == FileSystem.DIRENT) {
            generation.incrementAndGet();
            names.invalidate(new NameKey(owner, new String(key, 1, key.length - 1, StandardCharsets.ISO_8859_1)));
        }
    }

    CacheStats stats() {
        var i = inodes.stats();
        var n = names.stats();
        return new CacheStats(i.hitCount(), i.missCount(), inodes.estimatedSize(), n.hitCount(), n.missCount(),
                names.estimatedSize());
    }
}
