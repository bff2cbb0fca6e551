package d4.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class SlotQueueTest {
    @Test
    void fifoBoundedAndReusable() {
        SlotQueue q = new SlotQueue(4);
        assertEquals(-1, q.poll());
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 4; i++) {
                assertTrue(q.offer(i + 10 * round));
            }
            assertFalse(q.offer(99), "full at capacity");
            for (int i = 0; i < 4; i++) {
                assertEquals(i + 10 * round, q.poll());
            }
            assertTrue(q.isEmpty());
        }
        assertThrows(IllegalArgumentException.class, () -> new SlotQueue(6));
    }

    @Test
    void everyValueArrivesExactlyOnceUnderContention() throws Exception {
        SlotQueue q = new SlotQueue(64);
        int producers = 4;
        int perProducer = 200_000;
        AtomicIntegerArray seen = new AtomicIntegerArray(producers * perProducer);
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            int base = p * perProducer;
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < perProducer; i++) {
                    while (!q.offer(base + i)) {
                        Thread.onSpinWait();
                    }
                }
            }));
        }
        int consumers = 3;
        java.util.concurrent.atomic.AtomicInteger taken = new java.util.concurrent.atomic.AtomicInteger();
        for (int c = 0; c < consumers; c++) {
            threads.add(Thread.ofPlatform().start(() -> {
                while (taken.get() < producers * perProducer) {
                    int v = q.poll();
                    if (v >= 0) {
                        seen.incrementAndGet(v);
                        taken.incrementAndGet();
                    } else {
                        Thread.onSpinWait();
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join(60_000);
            assertFalse(t.isAlive(), "a thread is stuck");
        }
        for (int i = 0; i < seen.length(); i++) {
            assertEquals(1, seen.get(i), "value " + i);
        }
    }
}
