package d4.cli;

import d4.cli.config.ByteSize;
import d4.engine.PoolInfo;
import d4.fs.CacheStats;
import d4.fuse.OpStats;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code d4 status} reports about one mount, as JSON (one object) or as text; the metrics
 * endpoint serves the same numbers ({@link Metrics}).
 *
 * @param ops the FUSE operations served since the mount (those with at least one request)
 * @param metricsUrl where the metrics endpoint serves, or "" when there is none
 */
record MountStatus(long pid, Path mountPoint, Path dataDir, Path logFile, PoolInfo pool, String health, CacheStats caches,
        List<OpStats.OpSnapshot> ops, String metricsUrl) {

    String toJson() {
        List<String> vols = new ArrayList<>();
        for (PoolInfo.VolumeInfo v : pool.volumes()) {
            vols.add("{\"index\":" + v.index() + ",\"path\":" + str(v.path().toString()) + ",\"uuid\":"
                    + str(v.uuid().toString()) + ",\"size_bytes\":" + v.sizeBytes() + ",\"capacity_bytes\":"
                    + v.capacityBytes() + ",\"free_bytes\":" + v.freeBytes() + ",\"io\":" + ioJson(v) + "}");
        }
        return "{\"pid\":" + pid
                + ",\"mountpoint\":" + str(mountPoint.toString())
                + ",\"pool\":" + str(pool.name())
                + ",\"pool_uuid\":" + str(pool.uuid().toString())
                + ",\"io_engine\":" + str(pool.ioEngine())
                + ",\"block_size\":" + pool.blockSizeBytes()
                + ",\"capacity_bytes\":" + pool.capacityBytes()
                + ",\"used_bytes\":" + (pool.capacityBytes() - pool.freeBytes())
                + ",\"free_bytes\":" + pool.freeBytes()
                + ",\"objects\":" + pool.objectCount()
                + ",\"health\":" + str(health)
                + ",\"checksum_failures\":" + pool.checksumFailures()
                + ",\"copies\":" + pool.copies()
                + ",\"repaired_blocks\":" + pool.repairedBlocks()
                + ",\"caches\":{\"inode\":{\"hits\":" + caches.inodeHits() + ",\"misses\":" + caches.inodeMisses()
                + ",\"entries\":" + caches.inodeEntries() + ",\"hit_rate\":" + rate(caches.inodeHitRate())
                + "},\"dentry\":{\"hits\":" + caches.nameHits() + ",\"misses\":" + caches.nameMisses()
                + ",\"entries\":" + caches.nameEntries() + ",\"hit_rate\":" + rate(caches.nameHitRate()) + "}}"
                + ",\"metadata\":{\"tree_height\":" + pool.metadata().treeHeight() + ",\"dirty_pages\":"
                + pool.metadata().dirtyPages() + ",\"cached_bytes\":" + pool.metadata().cachedBytes()
                + ",\"cache_limit_bytes\":" + pool.metadata().cacheLimitBytes() + ",\"page_reads\":"
                + pool.metadata().pageReads() + "}"
                + ",\"data_dir\":" + str(dataDir.toString())
                + ",\"log\":" + str(logFile == null ? "" : logFile.toString())
                + ",\"metrics\":" + str(metricsUrl)
                + ",\"volumes\":[" + String.join(",", vols) + "]"
                + ",\"fuse_ops\":{" + String.join(",", opsJson()) + "}}";
    }

    /** The ring queue depths of a volume's drive, or null (FileChannel drive, or not reported). */
    private static String ioJson(PoolInfo.VolumeInfo v) {
        return v.rings().map(q -> "{\"rings\":" + q.rings() + ",\"sq_entries\":" + q.sqEntries() + ",\"in_flight\":"
                + q.inFlight() + ",\"peak_in_flight\":" + q.peakInFlight() + "}").orElse("null");
    }

    private List<String> opsJson() {
        List<String> out = new ArrayList<>();
        for (OpStats.OpSnapshot o : ops) {
            out.add(str(o.op()) + ":{\"count\":" + o.count() + ",\"errors\":" + o.errors() + ",\"p50_ns\":" + o.p50Nanos()
                    + ",\"p99_ns\":" + o.p99Nanos() + ",\"max_ns\":" + o.maxNanos() + ",\"mean_ns\":" + o.meanNanos() + "}");
        }
        return out;
    }

    String toText() {
        StringBuilder b = new StringBuilder();
        long used = pool.capacityBytes() - pool.freeBytes();
        b.append("mount point: ").append(mountPoint).append('\n');
        b.append("pid:         ").append(pid).append('\n');
        b.append("pool:        ").append(pool.name()).append(" (").append(pool.uuid()).append(")\n");
        b.append("health:      ").append(health).append('\n');
        b.append("io engine:   ").append(pool.ioEngine()).append('\n');
        b.append("capacity:    ").append(ByteSize.format(pool.capacityBytes())).append(", used ")
                .append(ByteSize.format(used)).append(String.format(java.util.Locale.ROOT, " (%.1f%%)",
                        pool.capacityBytes() == 0 ? 0.0 : 100.0 * used / pool.capacityBytes()))
                .append(", free ").append(ByteSize.format(pool.freeBytes())).append('\n');
        b.append("objects:     ").append(pool.objectCount()).append('\n');
        b.append("copies:      ").append(pool.copies()).append(pool.copies() == 2 ? " (every block on two volumes; "
                + pool.repairedBlocks() + " damaged copies rewritten since mount)" : "").append('\n');
        b.append("checksums:   ").append(pool.checksumFailures() == 0 ? "no failures"
                : pool.checksumFailures() + " checksum failures (those reads got EIO; d4 scrub lists the damaged files)")
                .append('\n');
        b.append("caches:      inodes ").append(percent(caches.inodeHitRate())).append(" hits (")
                .append(caches.inodeEntries()).append(" cached), directory entries ").append(percent(caches.nameHitRate()))
                .append(" hits (").append(caches.nameEntries()).append(" cached)\n");
        PoolInfo.Metadata m = pool.metadata();
        b.append("metadata:    B+tree of height ").append(m.treeHeight()).append(", page cache ")
                .append(d4.cli.config.ByteSize.format(m.cachedBytes())).append(" of ")
                .append(d4.cli.config.ByteSize.format(m.cacheLimitBytes())).append(", ").append(m.pageReads())
                .append(" pages read since the mount, ").append(m.dirtyPages()).append(" changed since the checkpoint\n");
        b.append("data dir:    ").append(dataDir).append('\n');
        if (logFile != null) {
            b.append("log:         ").append(logFile).append('\n');
        }
        if (!metricsUrl.isEmpty()) {
            b.append("metrics:     ").append(metricsUrl).append('\n');
        }
        b.append("volumes:\n");
        for (PoolInfo.VolumeInfo v : pool.volumes()) {
            b.append("  ").append(v.index()).append("  ").append(v.path()).append("  ")
                    .append(ByteSize.format(v.sizeBytes())).append(", free ").append(ByteSize.format(v.freeBytes()))
                    .append('\n');
            v.rings().ifPresent(q -> b.append("     io_uring: ").append(q.rings() == 1 ? "1 ring of " + q.sqEntries() + " entries"
                    : q.rings() + " rings (the pinned one of " + q.sqEntries() + " entries, " + (q.rings() - 1)
                            + " of threads doing their own I/O)")
                    .append(", ").append(q.inFlight()).append(" in flight, peak ").append(q.peakInFlight())
                    .append(" since the mount\n"));
        }
        if (!ops.isEmpty()) {
            b.append("fuse operations since the mount:\n");
            b.append(String.format(Locale.ROOT, "  %-12s %10s %8s %10s %10s %10s%n", "operation", "requests", "errors",
                    "p50", "p99", "max"));
            for (OpStats.OpSnapshot o : ops) {
                b.append(String.format(Locale.ROOT, "  %-12s %10d %8d %10s %10s %10s%n", o.op(), o.count(), o.errors(),
                        duration(o.p50Nanos()), duration(o.p99Nanos()), duration(o.maxNanos())));
            }
        }
        return b.toString();
    }

    /** 850ns, 12.3µs, 4.56ms, 1.20s */
    static String duration(long nanos) {
        if (nanos < 1_000) {
            return nanos + "ns";
        }
        if (nanos < 1_000_000) {
            return String.format(Locale.ROOT, "%.1fµs", nanos / 1e3);
        }
        if (nanos < 1_000_000_000) {
            return String.format(Locale.ROOT, "%.2fms", nanos / 1e6);
        }
        return String.format(Locale.ROOT, "%.2fs", nanos / 1e9);
    }

    private static String rate(double r) {
        return String.format(java.util.Locale.ROOT, "%.4f", r);
    }

    private static String percent(double r) {
        return String.format(java.util.Locale.ROOT, "%.1f%%", 100 * r);
    }

    static String str(String s) {
        return d4.cli.config.Type.quote(s);
    }
}
