package d4.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class OpStatsTest {
    @Test
    void bucketsCoverEveryValueContiguouslyWithBoundedWidth() {
        assertEquals(488, OpStats.BUCKETS);
        for (int i = 0; i < OpStats.BUCKETS; i++) {
            long lo = OpStats.lowerBound(i);
            long hi = OpStats.upperBound(i);
            assertEquals(i, OpStats.bucket(lo), "lower bound of " + i);
            assertEquals(i, OpStats.bucket(hi), "upper bound of " + i);
            if (i + 1 < OpStats.BUCKETS) {
                assertEquals(hi + 1, OpStats.lowerBound(i + 1), "bucket " + (i + 1) + " starts where " + i + " ends");
            }
            assertTrue(hi - lo <= lo / 8, "bucket " + i + " [" + lo + ", " + hi + "] is at most 1/8 wide");
        }
        assertEquals(0, OpStats.lowerBound(0));
        assertEquals(Long.MAX_VALUE, OpStats.upperBound(OpStats.BUCKETS - 1));
        Random r = new Random(1);
        for (int n = 0; n < 100_000; n++) {
            long v = (r.nextLong() >>> 1) >>> r.nextInt(63);
            int b = OpStats.bucket(v);
            assertTrue(OpStats.lowerBound(b) <= v && v <= OpStats.upperBound(b), v + " in bucket " + b);
        }
    }

    @Test
    void percentilesAreWithinAnEighthAboveTheTruth() {
        OpStats s = new OpStats();
        Random r = new Random(2);
        long[] values = new long[10_001];
        for (int i = 0; i < values.length; i++) {
            values[i] = 1_000 + (long) (Math.exp(r.nextDouble() * 12) * 1_000); // 2 µs .. 160 ms, log-uniform
            s.record(OpStats.Op.READ, values[i], i % 100 == 0);
        }
        s.record(OpStats.Op.GETATTR, 5_000, false);
        Arrays.sort(values);
        OpStats.OpSnapshot read = s.snapshot().stream().filter(o -> o.op().equals("read")).findFirst().orElseThrow();
        assertEquals(values.length, read.count());
        assertEquals(101, read.errors());
        assertEquals(values[values.length - 1], read.maxNanos());
        assertEquals(Arrays.stream(values).sum(), read.sumNanos());
        long p50 = values[(int) Math.ceil(0.50 * values.length) - 1];
        long p99 = values[(int) Math.ceil(0.99 * values.length) - 1];
        assertTrue(read.p50Nanos() >= p50 && read.p50Nanos() <= p50 + p50 / 8, read.p50Nanos() + " vs " + p50);
        assertTrue(read.p99Nanos() >= p99 && read.p99Nanos() <= p99 + p99 / 8, read.p99Nanos() + " vs " + p99);
        assertEquals(List.of("getattr", "read"), s.snapshot().stream().map(OpStats.OpSnapshot::op).toList(),
                "only operations that served something, in a fixed order");
        OpStats.OpSnapshot one = s.snapshot().getFirst();
        assertEquals(5_000, one.maxNanos());
        assertEquals(5_000, one.p99Nanos(), "never above the maximum");
        assertTrue(one.p50Nanos() == 5_000);
    }

    @Test
    void concurrentRecordingLosesNothing() throws Exception {
        OpStats s = new OpStats();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> fs = new java.util.ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int id = t;
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 50_000; i++) {
                        s.record(OpStats.Op.WRITE, 1_000 + id * 1_000 + i % 7, false);
                    }
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        OpStats.OpSnapshot w = s.snapshot().getFirst();
        assertEquals(400_000, w.count());
        assertEquals(8_006, w.maxNanos());
    }
}
