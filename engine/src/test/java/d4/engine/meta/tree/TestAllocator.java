package d4.engine.meta.tree;

import d4.engine.D4Exception;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Page addresses for tests, with the pool's rules: addresses a checkpoint releases become reusable
 * only once that checkpoint is published; after a crash, whatever the unpublished checkpoint took is
 * free again. {@link #inUse} is then exactly what the published tree references, which the tests
 * compare with {@link Tree#forEachPageAddress}.
 */
final class TestAllocator implements PageAllocator {
    private final boolean reuse;
    private long high;
    private final ArrayDeque<Long> free = new ArrayDeque<>();
    final Set<Long> inUse = new HashSet<>();
    private final List<Long> sincePublish = new ArrayList<>();
    long allocations;
    long releases;
    /** When &gt;= 0: allocations left before NoSpace. */
    long failAfter = -1;

    /** {@code reuse}: false keeps every page ever written (no address is handed out twice). */
    TestAllocator(boolean reuse) {
        this.reuse = reuse;
    }

    @Override
    public long allocate() {
        if (failAfter == 0) {
            throw new D4Exception.NoSpace("injected: no page left");
        }
        if (failAfter > 0) {
            failAfter--;
        }
        long a = reuse && !free.isEmpty() ? free.poll() : ++high;
        if (!inUse.add(a)) {
            throw new AssertionError("address " + a + " handed out twice");
        }
        sincePublish.add(a);
        allocations++;
        return a;
    }

    @Override
    public void release(long address) {
        if (!inUse.remove(address) || !sincePublish.remove(address)) {
            throw new AssertionError("release of " + address + ", which this checkpoint did not allocate");
        }
        free.add(address);
        releases++;
    }

    /** The checkpoint's root is durable: what it released is reusable. */
    void publish(Checkpoint c) {
        for (long a : c.released()) {
            if (!inUse.remove(a)) {
                throw new AssertionError("checkpoint released " + a + ", which is not in use");
            }
            free.add(a);
            releases++;
        }
        sincePublish.clear();
    }

    /** The unpublished checkpoint is lost: what it took is free, what it released stays in use. */
    void crash() {
        for (long a : sincePublish) {
            inUse.remove(a);
            free.add(a);
            releases++;
        }
        sincePublish.clear();
    }

    long highWater() {
        return high;
    }
}
