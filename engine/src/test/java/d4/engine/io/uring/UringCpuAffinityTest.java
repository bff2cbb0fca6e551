package d4.engine.io.uring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class UringCpuAffinityTest {
    /** Runs {@code body} on a fresh platform thread, so pinning it leaves the test runner alone. */
    private static void onFreshThread(ThrowingRunnable body) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("pin-test").start(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.join();
        if (failure.get() instanceof Exception e) {
            throw e;
        }
        if (failure.get() instanceof Error e) {
            throw e;
        }
    }

    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    private static String cpusAllowedList() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
            if (line.startsWith("Cpus_allowed_list:")) {
                return line.substring("Cpus_allowed_list:".length()).trim();
            }
        }
        throw new AssertionError("no Cpus_allowed_list in /proc/thread-self/status");
    }

    @Test
    void pinsAFreshThreadToCpu0() throws Exception {
        BitSet before = CpuAffinity.allowedCpus();
        onFreshThread(() -> {
            CpuAffinity.Pin pin = CpuAffinity.pinCurrentThread(0);
            assertTrue(pin.ok(), () -> "sched_setaffinity: " + pin.errnoName());
            assertNull(pin.errnoName());
            BitSet only0 = new BitSet();
            only0.set(0);
            assertEquals(only0, CpuAffinity.allowedCpus());
            assertEquals("0", cpusAllowedList());
        });
        assertEquals(before, CpuAffinity.allowedCpus(), "the test thread itself is not pinned");
    }

    @Test
    void pinningToAMissingCpuFailsWithTheErrno() throws Exception {
        onFreshThread(() -> {
            CpuAffinity.Pin pin = CpuAffinity.pinCurrentThread(1023);
            assertFalse(pin.ok());
            assertEquals(Libc.EINVAL, pin.errno());
            assertEquals("EINVAL", pin.errnoName());
        });
        assertThrows(IllegalArgumentException.class, () -> CpuAffinity.pinCurrentThread(1024));
        assertThrows(IllegalArgumentException.class, () -> CpuAffinity.pinCurrentThread(-1));
    }
}
