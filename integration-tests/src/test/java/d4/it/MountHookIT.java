package d4.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.engine.Pool;
import d4.engine.PoolOptions;
import d4.engine.VolumeSpec;
import d4.engine.io.DriveFactory;
import d4.fs.FileSystem;
import d4.fuse.FuseAdapter;
import d4.fuse.OpStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * FuseAdapter's onMounted hook (what the privilege drop runs in): it runs once, with the mount in
 * the mount table, before any request is served, and a request made meanwhile waits for it. Runs
 * the adapter in this JVM, on a real FUSE mount.
 */
@Timeout(120)
class MountHookIT {
    @TempDir
    Path base;

    private Pool pool() {
        Path volume = base.resolve("hook.d4vol");
        Pool.format("hook", List.of(new VolumeSpec(volume, 128L << 20)));
        String engine = System.getenv().getOrDefault("D4_IO_ENGINE", "io_uring");
        return Pool.open(List.of(volume), new PoolOptions(DriveFactory.forEngine(engine), 5_000));
    }

    private static boolean mounted(Path mp) throws IOException {
        String needle = " " + mp + " ";
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .anyMatch(l -> l.contains(needle) && l.contains(" - fuse.d4 "));
    }

    private static long requestsServed(FuseAdapter adapter) {
        return adapter.stats().snapshot().stream().mapToLong(OpStats.OpSnapshot::count).sum();
    }

    private static void unmount(Path mp) throws Exception {
        new ProcessBuilder("fusermount", "-u", "-z", mp.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
    }

    @Test
    void onMountedRunsOnceWithTheMountMadeAndBeforeAnyRequest() throws Exception {
        Path mp = Files.createDirectory(base.resolve("mnt"));
        try (Pool pool = pool()) {
            FuseAdapter adapter = new FuseAdapter(new FileSystem(pool));
            AtomicInteger calls = new AtomicInteger();
            AtomicReference<Boolean> mountedInHook = new AtomicReference<>();
            AtomicLong servedInHook = new AtomicLong(-1);
            AtomicLong probeDoneNanos = new AtomicLong();
            AtomicLong hookEndNanos = new AtomicLong();
            AtomicReference<Boolean> probeDoneInHook = new AtomicReference<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] probe = new Thread[1];
            CountDownLatch hookDone = new CountDownLatch(1);
            Thread server = Thread.ofPlatform().name("mount-hook-server").start(() -> {
                try {
                    adapter.serve(mp, FuseAdapter.defaultOptions("hook"), 2, () -> {
                        calls.incrementAndGet();
                        try {
                            mountedInHook.set(mounted(mp));
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                        // A request made now (the stat of a name in the mount) must wait for the hook.
                        probe[0] = Thread.ofPlatform().name("mount-hook-probe").start(() -> {
                            Files.exists(mp.resolve("nothing-here"));
                            probeDoneNanos.set(System.nanoTime());
                        });
                        try {
                            Thread.sleep(500);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        probeDoneInHook.set(probeDoneNanos.get() != 0);
                        servedInHook.set(requestsServed(adapter));
                        hookEndNanos.set(System.nanoTime());
                        hookDone.countDown();
                    });
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            try {
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (probe[0] == null && server.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertNotNull(probe[0], "the hook ran (serve failed: " + failure.get() + ")");
                probe[0].join(30_000);
                assertFalse(probe[0].isAlive(), "the request made during the hook is answered after it");
                assertTrue(hookDone.await(30, TimeUnit.SECONDS), "the hook returned");
                assertEquals(1, calls.get(), "the hook runs once");
                assertEquals(Boolean.TRUE, mountedInHook.get(), "the kernel has the mount when the hook runs");
                assertEquals(Boolean.FALSE, probeDoneInHook.get(), "no request is answered while the hook runs");
                assertEquals(0, servedInHook.get(), "no request was served before the hook returned");
                assertTrue(probeDoneNanos.get() > hookEndNanos.get(), "the waiting request was answered after the hook");
                assertTrue(requestsServed(adapter) > 0, "and the mount serves from then on");
            } finally {
                unmount(mp);
                server.join(30_000);
            }
            assertFalse(server.isAlive(), "serve returns once unmounted");
            assertEquals(null, failure.get());
            assertFalse(mounted(mp));
        }
    }

    @Test
    void aHookThatFailsUnmountsAndTheFailureReachesTheCaller() throws Exception {
        Path mp = Files.createDirectory(base.resolve("mnt"));
        IllegalStateException boom = new IllegalStateException("the hook failed");
        try (Pool pool = pool()) {
            FuseAdapter adapter = new FuseAdapter(new FileSystem(pool));
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread server = Thread.ofPlatform().start(() -> {
                try {
                    adapter.serve(mp, FuseAdapter.defaultOptions("hook"), 2, () -> {
                        throw boom;
                    });
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            server.join(60_000);
            try {
                assertFalse(server.isAlive(), "serve returns when its hook throws");
                assertSame(boom, thrown.get());
                assertFalse(mounted(mp), "the mount was removed");
                assertEquals(0, requestsServed(adapter), "nothing was served");
            } finally {
                if (mounted(mp)) {
                    unmount(mp);
                }
            }
        }
    }
}
