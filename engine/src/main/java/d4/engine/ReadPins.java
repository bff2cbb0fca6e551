package d4.engine;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Readers doing device I/O without the pool's lock, each with the free generation at which it read
 * its extent map: blocks released by a commit of a later generation may still be read by it, so
 * they return to free space (and can be written again) only once no such reader is left.
 *
 * <p>A fixed array of slots claimed by compare-and-set (no allocation, no lock); a reader that finds
 * none free does its I/O under the pool's read lock instead, as every read did before.
 */
final class ReadPins {
    private static final long EMPTY = Long.MAX_VALUE;
    /** One slot per cache line (8 longs): pins of different threads do not share a line. */
    private static final int STRIDE = 8;
    private final int slots;
    private final AtomicLongArray pins;

    ReadPins(int slots) {
        this.slots = slots;
        this.pins = new AtomicLongArray(slots * STRIDE);
        for (int i = 0; i < slots; i++) {
            pins.set(i * STRIDE, EMPTY);
        }
    }

    /** Claims a slot for a reader of {@code generation}; -1 when every slot is taken. */
    int enter(long generation) {
        int start = (int) (Thread.currentThread().threadId() % slots);
        for (int k = 0; k < slots; k++) {
            int i = ((start + k) % slots) * STRIDE;
            if (pins.get(i) == EMPTY && pins.compareAndSet(i, EMPTY, generation)) {
                return i;
            }
        }
        return -1;
    }

    void exit(int pin) {
        Invariant.check(pin >= 0 && pins.get(pin) != EMPTY, "read pin %d released twice", pin);
        pins.set(pin, EMPTY);
    }

    /** The oldest generation a reader holds ({@link Long#MAX_VALUE} when none). */
    long oldest() {
        long min = EMPTY;
        for (int i = 0; i < slots; i++) {
            min = Math.min(min, pins.get(i * STRIDE));
        }
        return min;
    }
}
