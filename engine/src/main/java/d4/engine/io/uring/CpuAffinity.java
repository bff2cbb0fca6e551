package d4.engine.io.uring;

import static d4.engine.io.uring.liburing_h.C_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;

/**
 * Thread-to-CPU pinning through sched_setaffinity(2), so an io_uring's submitter thread stays on
 * the CPU its ring (and io-wq workers) were placed for. Uses a 128-byte cpu_set_t (CPUs 0..1023),
 * as glibc's CPU_SETSIZE does. Pinning is advice: on failure the caller warns and carries on.
 */
public final class CpuAffinity {
    private CpuAffinity() {}

    /** sizeof(cpu_set_t) in glibc. */
    public static final int CPU_SET_BYTES = 128;

    /** The outcome of {@link #pinCurrentThread}: ok, or the errno sched_setaffinity set. */
    public record Pin(boolean ok, int errno) {
        /** e.g. "EINVAL" (the CPU is offline or outside the cpuset), or null when ok. */
        public String errnoName() {
            return ok ? null : Libc.errnoName(errno);
        }
    }

    /** Pins the calling thread to {@code cpu}: sched_setaffinity(0, 128, {cpu}). */
    public static Pin pinCurrentThread(int cpu) {
        if (cpu < 0 || cpu >= CPU_SET_BYTES * 8) {
            throw new IllegalArgumentException("cpu " + cpu + " is outside 0.." + (CPU_SET_BYTES * 8 - 1));
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(CPU_SET_BYTES, 8);
            long word = mask.get(C_LONG, (cpu / 64) * 8L) | (1L << (cpu % 64));
            mask.set(C_LONG, (cpu / 64) * 8L, word);
            int r = Libc.sched_setaffinity(0, CPU_SET_BYTES, mask);
            return r == 0 ? new Pin(true, 0) : new Pin(false, -r);
        }
    }

    /** The CPUs the calling thread may run on (sched_getaffinity). */
    public static BitSet allowedCpus() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(CPU_SET_BYTES, 8);
            int r = Libc.sched_getaffinity(0, CPU_SET_BYTES, mask);
            if (r != 0) {
                throw new IllegalStateException("sched_getaffinity failed: " + Libc.errnoName(-r));
            }
            return BitSet.valueOf(mask.toArray(C_LONG));
        }
    }
}
