package d4.engine.io;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A bounded lock-free multi-producer multi-consumer queue of ints (Dmitry Vyukov's array queue):
 * each cell carries a sequence number that says whether it is ready to be written or read, so
 * producers and consumers claim cells with one CAS and publish with one release store. No
 * allocation per operation. The I/O engine passes request slot indices through it.
 */
final class SlotQueue {
    private final int mask;
    private final int[] values;
    private final AtomicLongArray sequence;
    private final AtomicLong enqueuePos = new AtomicLong();
    private final AtomicLong dequeuePos = new AtomicLong();

    /** @param capacity a power of two */
    SlotQueue(int capacity) {
        if (capacity < 2 || Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two >= 2: " + capacity);
        }
        mask = capacity - 1;
        values = new int[capacity];
        sequence = new AtomicLongArray(capacity);
        for (int i = 0; i < capacity; i++) {
            sequence.set(i, i);
        }
    }

    int capacity() {
        return mask + 1;
    }

    /** Adds {@code v}; false when the queue is full. */
    boolean offer(int v) {
        long pos = enqueuePos.get();
        while (true) {
            int cell = (int) (pos & mask);
            long dif = sequence.get(cell) - pos;
            if (dif == 0) {
                if (enqueuePos.compareAndSet(pos, pos + 1)) {
                    values[cell] = v;
                    sequence.lazySet(cell, pos + 1); // release: the value is visible before the cell reads as full
                    return true;
                }
                pos = enqueuePos.get();
            } else if (dif < 0) {
                return false;
            } else {
                pos = enqueuePos.get();
            }
        }
    }

    /** Removes the oldest value; -1 when the queue is empty (values are never negative). */
    int poll() {
        long pos = dequeuePos.get();
        while (true) {
            int cell = (int) (pos & mask);
            long dif = sequence.get(cell) - (pos + 1);
            if (dif == 0) {
                if (dequeuePos.compareAndSet(pos, pos + 1)) {
                    int v = values[cell];
                    sequence.lazySet(cell, pos + mask + 1);
                    return v;
                }
                pos = dequeuePos.get();
            } else if (dif < 0) {
                return -1;
            } else {
                pos = dequeuePos.get();
            }
        }
    }

    boolean isEmpty() {
        return enqueuePos.get() == dequeuePos.get();
    }
}
