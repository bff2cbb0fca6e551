package d4.fs;

/** Counters of the namespace caches since mount, for `d4 status`. */
public record CacheStats(long inodeHits, long inodeMisses, long inodeEntries, long nameHits, long nameMisses,
        long nameEntries) {
    public double inodeHitRate() {
        return rate(inodeHits, inodeMisses);
    }

    public double nameHitRate() {
        return rate(nameHits, nameMisses);
    }

    private static double rate(long hits, long misses) {
        return hits + misses == 0 ? 0 : (double) hits / (hits + misses);
    }
}
