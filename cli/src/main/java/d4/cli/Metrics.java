package d4.cli;

import d4.engine.PoolInfo;
import d4.engine.io.DriveStats;
import d4.fuse.OpStats;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * The numbers of {@code d4 status} in Prometheus's text exposition format (version 0.0.4): one
 * HELP and one TYPE line per metric, then its samples. Every sample carries the pool's name.
 */
final class Metrics {
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private Metrics() {}

    private static final class Writer {
        private final StringBuilder b = new StringBuilder();
        private final String pool;

        Writer(String pool) {
            this.pool = pool;
        }

        Writer metric(String name, String type, String help) {
            b.append("# HELP ").append(name).append(' ').append(help.replace("\\", "\\\\").replace("\n", "\\n")).append('\n');
            b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
            return this;
        }

        /** A sample: labels as name, value pairs (the pool label comes first). */
        Writer sample(String name, String value, String... labels) {
            b.append(name).append("{pool=\"").append(escape(pool)).append('"');
            for (int i = 0; i < labels.length; i += 2) {
                b.append(',').append(labels[i]).append("=\"").append(escape(labels[i + 1])).append('"');
            }
            b.append("} ").append(value).append('\n');
            return this;
        }

        Writer sample(String name, long value, String... labels) {
            return sample(name, Long.toString(value), labels);
        }
    }

    /** A label value: backslash, double quote and newline escaped. */
    static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    /** Nanoseconds as seconds, exactly, without an exponent ("0.000012345"). */
    static String seconds(long nanos) {
        return BigDecimal.valueOf(nanos, 9).stripTrailingZeros().toPlainString();
    }

    /** The io_uring queue depths per volume; nothing when no volume reports rings (FileChannel drive). */
    private static void ringMetrics(Writer w, PoolInfo p) {
        List<PoolInfo.VolumeInfo> vols = p.volumes().stream().filter(v -> v.rings().isPresent()).toList();
        if (vols.isEmpty()) {
            return;
        }
        record Gauge(String name, String help, ToIntFunction<DriveStats> value) {}
        for (Gauge g : List.of(
                new Gauge("d4_volume_io_rings", "io_uring rings serving each volume.", DriveStats::rings),
                new Gauge("d4_volume_io_sq_entries", "Submission queue entries of each ring (its configured depth).",
                        DriveStats::sqEntries),
                new Gauge("d4_volume_io_in_flight", "Requests the volume's rings hold in the kernel now (queue depth).",
                        DriveStats::inFlight),
                new Gauge("d4_volume_io_in_flight_peak", "The most requests the volume's rings held at once since the mount.",
                        DriveStats::peakInFlight))) {
            w.metric(g.name(), "gauge", g.help());
            for (PoolInfo.VolumeInfo v : vols) {
                w.sample(g.name(), g.value().applyAsInt(v.rings().orElseThrow()), "volume", Integer.toString(v.index()),
                        "path", v.path().toString());
            }
        }
    }

    static String exposition(MountStatus s, String version) {
        PoolInfo p = s.pool();
        Writer w = new Writer(p.name());
        w.metric("d4_info", "gauge", "The d4 daemon serving this mount (always 1): its pool's UUID, mount point, io engine and d4 version.")
                .sample("d4_info", 1, "pool_uuid", p.uuid().toString(), "mountpoint", s.mountPoint().toString(),
                        "io_engine", p.ioEngine(), "version", version);
        w.metric("d4_pool_healthy", "gauge", "1 while the pool takes writes; 0 once an error made it read-only (see d4 status).")
                .sample("d4_pool_healthy", s.health().equals("ok") ? 1 : 0);
        w.metric("d4_pool_capacity_bytes", "gauge", "What the pool's files can hold.")
                .sample("d4_pool_capacity_bytes", p.capacityBytes());
        w.metric("d4_pool_used_bytes", "gauge", "Capacity in use.")
                .sample("d4_pool_used_bytes", p.capacityBytes() - p.freeBytes());
        w.metric("d4_pool_free_bytes", "gauge", "Capacity free.")
                .sample("d4_pool_free_bytes", p.freeBytes());
        w.metric("d4_pool_objects", "gauge", "Objects (files, directories, links) in the pool.")
                .sample("d4_pool_objects", p.objectCount());
        w.metric("d4_pool_checksum_failures_total", "counter",
                        "Blocks whose checksum failed on read since the mount (those reads got EIO; d4 scrub names the files).")
                .sample("d4_pool_checksum_failures_total", p.checksumFailures());
        w.metric("d4_pool_copies", "gauge", "Copies the pool keeps of every data block (1, or 2 on different volumes).")
                .sample("d4_pool_copies", p.copies());
        w.metric("d4_pool_repaired_blocks_total", "counter",
                        "Damaged block copies rewritten from a good copy since the mount (pools with 2 copies).")
                .sample("d4_pool_repaired_blocks_total", p.repairedBlocks());
        w.metric("d4_metadata_tree_height", "gauge", "Levels of the pool's metadata B+tree.")
                .sample("d4_metadata_tree_height", p.metadata().treeHeight());
        w.metric("d4_metadata_dirty_pages", "gauge", "Metadata pages changed since the last checkpoint (held in memory).")
                .sample("d4_metadata_dirty_pages", p.metadata().dirtyPages());
        w.metric("d4_metadata_cache_bytes", "gauge", "Bytes of metadata pages in the page cache.")
                .sample("d4_metadata_cache_bytes", p.metadata().cachedBytes());
        w.metric("d4_metadata_page_reads_total", "counter", "Metadata pages read from the volumes (page cache misses).")
                .sample("d4_metadata_page_reads_total", p.metadata().pageReads());
        w.metric("d4_volume_size_bytes", "gauge", "Size of each volume of the pool.");
        for (PoolInfo.VolumeInfo v : p.volumes()) {
            w.sample("d4_volume_size_bytes", v.sizeBytes(), "volume", Integer.toString(v.index()), "path", v.path().toString());
        }
        w.metric("d4_volume_free_bytes", "gauge", "Free space of each volume of the pool.");
        for (PoolInfo.VolumeInfo v : p.volumes()) {
            w.sample("d4_volume_free_bytes", v.freeBytes(), "volume", Integer.toString(v.index()), "path", v.path().toString());
        }
        ringMetrics(w, p);
        w.metric("d4_cache_hits_total", "counter", "Lookups answered by the namespace caches (inode: attributes, dentry: names).")
                .sample("d4_cache_hits_total", s.caches().inodeHits(), "cache", "inode")
                .sample("d4_cache_hits_total", s.caches().nameHits(), "cache", "dentry");
        w.metric("d4_cache_misses_total", "counter", "Lookups the namespace caches could not answer.")
                .sample("d4_cache_misses_total", s.caches().inodeMisses(), "cache", "inode")
                .sample("d4_cache_misses_total", s.caches().nameMisses(), "cache", "dentry");
        w.metric("d4_cache_entries", "gauge", "Entries held by the namespace caches.")
                .sample("d4_cache_entries", s.caches().inodeEntries(), "cache", "inode")
                .sample("d4_cache_entries", s.caches().nameEntries(), "cache", "dentry");
        List<OpStats.OpSnapshot> ops = new ArrayList<>(s.ops());
        w.metric("d4_fuse_requests_total", "counter", "FUSE requests served since the mount, by operation.");
        for (OpStats.OpSnapshot o : ops) {
            w.sample("d4_fuse_requests_total", o.count(), "op", o.op());
        }
        w.metric("d4_fuse_errors_total", "counter",
                "FUSE requests answered with an error (an errno such as ENOENT, often expected), by operation.");
        for (OpStats.OpSnapshot o : ops) {
            w.sample("d4_fuse_errors_total", o.errors(), "op", o.op());
        }
        w.metric("d4_fuse_request_duration_seconds", "summary",
                "Time d4 took to serve a FUSE request, by operation, since the mount (quantiles at most 12.5% high).");
        for (OpStats.OpSnapshot o : ops) {
            w.sample("d4_fuse_request_duration_seconds", seconds(o.p50Nanos()), "op", o.op(), "quantile", "0.5");
            w.sample("d4_fuse_request_duration_seconds", seconds(o.p99Nanos()), "op", o.op(), "quantile", "0.99");
            w.sample("d4_fuse_request_duration_seconds_sum", seconds(o.sumNanos()), "op", o.op());
            w.sample("d4_fuse_request_duration_seconds_count", o.count(), "op", o.op());
        }
        w.metric("d4_fuse_request_duration_max_seconds", "gauge", "The longest a FUSE request took since the mount, by operation.");
        for (OpStats.OpSnapshot o : ops) {
            w.sample("d4_fuse_request_duration_max_seconds", seconds(o.maxNanos()), "op", o.op());
        }
        return w.b.toString();
    }
}
