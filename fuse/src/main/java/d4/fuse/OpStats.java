package d4.fuse;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counts and latencies of the FUSE operations a mount served, since it was mounted. Recording
 * allocates nothing and takes no lock: per operation, a few counters and a log-linear histogram of
 * durations, all slots of one {@link AtomicLongArray}.
 *
 * <p>The histogram: durations below {@code 2^(SUB_BITS+1)} ns have a bucket each; above, each
 * power of two is split into {@code 2^SUB_BITS} (8) equal buckets, so a bucket's width is at most
 * 1/8 of its lower bound. A percentile is reported as the upper bound of the bucket it falls in
 * (never above the exact maximum), so it is at most 12.5% above the true value.
 */
public final class OpStats {
    /** The operations FuseAdapter serves. */
    public enum Op {
        GETATTR, FGETATTR, ACCESS, READDIR, MKDIR, MKNOD, CREATE, OPEN, RELEASE, FLUSH, FSYNC, FSYNCDIR, READ, WRITE,
        TRUNCATE, FTRUNCATE, UNLINK, RMDIR, RENAME, LINK, SYMLINK, READLINK, CHMOD, CHOWN, UTIMENS, FALLOCATE, SETXATTR,
        GETXATTR, LISTXATTR, REMOVEXATTR, STATFS;

        private final String label = name().toLowerCase(Locale.ROOT);

        /** The operation's name as libfuse calls it ("getattr"). */
        public String label() {
            return label;
        }
    }

    static final int SUB_BITS = 3;
    private static final int SUB_COUNT = 1 << SUB_BITS;
    /** Values below this have a bucket each. */
    private static final long LINEAR_LIMIT = 2L * SUB_COUNT;
    /** Buckets for every non-negative long: the last is index(Long.MAX_VALUE). */
    static final int BUCKETS = bucket(Long.MAX_VALUE) + 1;

    private static final int COUNT = 0;
    private static final int ERRORS = 1;
    private static final int SUM = 2;
    private static final int MAX = 3;
    private static final int FIRST_BUCKET = 4;
    private static final int STRIDE = FIRST_BUCKET + BUCKETS;
    private static final int OPS = Op.values().length;

    private final AtomicLongArray cells = new AtomicLongArray(OPS * STRIDE);

    /** Records one served request: how long it took, and whether it answered with an error. */
    public void record(Op op, long nanos, boolean error) {
        long v = Math.max(0, nanos);
        int base = op.ordinal() * STRIDE;
        cells.getAndIncrement(base + COUNT);
        if (error) {
            cells.getAndIncrement(base + ERRORS);
        }
        cells.getAndAdd(base + SUM, v);
        long max = cells.get(base + MAX);
        while (v > max && !cells.compareAndSet(base + MAX, max, v)) {
            max = cells.get(base + MAX);
        }
        cells.getAndIncrement(base + FIRST_BUCKET + bucket(v));
    }

    /** The bucket of a duration in nanoseconds (non-negative). */
    static int bucket(long v) {
        if (v < LINEAR_LIMIT) {
            return (int) v;
        }
        int e = 63 - Long.numberOfLeadingZeros(v); // v in [2^e, 2^(e+1)), e > SUB_BITS
        return ((e - SUB_BITS + 1) << SUB_BITS) | (int) ((v >>> (e - SUB_BITS)) & (SUB_COUNT - 1));
    }

    /** The smallest value in bucket {@code i}. */
    static long lowerBound(int i) {
        if (i < LINEAR_LIMIT) {
            return i;
        }
        int e = (i >>> SUB_BITS) + SUB_BITS - 1;
        return (long) (SUB_COUNT + (i & (SUB_COUNT - 1))) << (e - SUB_BITS);
    }

    /** The largest value in bucket {@code i}. */
    static long upperBound(int i) {
        if (i < LINEAR_LIMIT) {
            return i;
        }
        int e = (i >>> SUB_BITS) + SUB_BITS - 1;
        return lowerBound(i) + (1L << (e - SUB_BITS)) - 1;
    }

    /**
     * One operation's numbers: requests, those answered with an error, total and maximum duration,
     * and the 50th and 99th percentile of the durations, all in nanoseconds.
     */
    public record OpSnapshot(String op, long count, long errors, long sumNanos, long maxNanos, long p50Nanos,
            long p99Nanos) {
        public long meanNanos() {
            return count == 0 ? 0 : sumNanos / count;
        }
    }

    /** The numbers of every operation that served at least one request, in {@link Op} order. */
    public List<OpSnapshot> snapshot() {
        List<OpSnapshot> out = new ArrayList<>();
        long[] buckets = new long[BUCKETS];
        for (Op op : Op.values()) {
            int base = op.ordinal() * STRIDE;
            long count = cells.get(base + COUNT);
            if (count == 0) {
                continue;
            }
            long total = 0;
            for (int i = 0; i < BUCKETS; i++) {
                buckets[i] = cells.get(base + FIRST_BUCKET + i);
                total += buckets[i];
            }
            long max = cells.get(base + MAX);
            out.add(new OpSnapshot(op.label(), count, cells.get(base + ERRORS), cells.get(base + SUM), max,
                    percentile(buckets, total, 0.50, max), percentile(buckets, total, 0.99, max)));
        }
        return out;
    }

    /** The upper bound of the bucket holding the q-quantile of {@code total} values, at most {@code max}. */
    static long percentile(long[] buckets, long total, double q, long max) {
        if (total == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(q * total));
        long seen = 0;
        for (int i = 0; i < buckets.length; i++) {
            seen += buckets[i];
            if (seen >= rank) {
                return Math.min(upperBound(i), max);
            }
        }
        return max;
    }
}
