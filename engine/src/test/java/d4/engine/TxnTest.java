package d4.engine;

import static d4.engine.Pools.create;
import static d4.engine.Pools.open;
import static d4.engine.Pools.random;
import static d4.engine.Pools.readAll;
import static d4.engine.Pools.utf8;
import static d4.engine.Pools.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Transaction semantics: atomicity, isolation from readers, one writer at a time, validation. */
class TxnTest {
    @TempDir
    Path dir;

    @Test
    void manyOpsOfOneTransactionBecomeVisibleTogether() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId a = create(pool);
            ObjectId b = create(pool);
            byte[] da = random(new Random(1), 70_000);
            ObjectId c;
            try (Txn t = pool.begin()) {
                t.write(a, 0, MemorySegment.ofArray(da));
                t.truncate(b, 12_345);
                t.putEntry(a, utf8("x"), utf8("1"));
                c = t.create(utf8("c"));
                t.putEntry(c, utf8("parent"), utf8("a")); // an object created in this transaction takes entries
                t.setAttrs(c, utf8("c2"));
                assertTrue(pool.find(c).isEmpty(), "not visible before commit");
                assertEquals(0, pool.get(a).sizeBytes());
                t.commit();
            }
            assertArrayEquals(da, readAll(pool, a));
            assertEquals(12_345, pool.get(b).sizeBytes());
            assertArrayEquals(utf8("c2"), pool.get(c).attrs());
            assertArrayEquals(utf8("a"), pool.entry(c, utf8("parent")).orElseThrow());
        }
    }

    @Test
    void aSecondDataChangeOfOneObjectInATransactionIsRefused() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId a = create(pool);
            try (Txn t = pool.begin()) {
                t.write(a, 0, MemorySegment.ofArray(new byte[10]));
                assertThrows(IllegalStateException.class, () -> t.truncate(a, 3));
            }
            assertEquals(0, pool.get(a).sizeBytes(), "the aborted transaction changed nothing");
        }
    }

    @Test
    void writersAreSerializedAndTheNextOneSeesTheCommittedState() throws Exception {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId a = create(pool);
            write(pool, a, 0, utf8("before"));
            CountDownLatch began = new CountDownLatch(1);
            AtomicReference<Throwable> err = new AtomicReference<>();
            Txn t = pool.begin();
            t.write(a, 0, MemorySegment.ofArray(utf8("after!")));
            Thread other = Thread.ofPlatform().start(() -> {
                try {
                    began.countDown();
                    // The first writer holds the write lock: this begin() waits until its commit,
                    // then sees the committed state.
                    try (Txn t2 = pool.begin()) {
                        assertArrayEquals(utf8("after!"), readAll(pool, a));
                        t2.putEntry(a, utf8("second"), utf8("writer"));
                        t2.commit();
                    }
                } catch (Throwable e) {
                    err.set(e);
                }
            });
            assertTrue(began.await(5, TimeUnit.SECONDS));
            Thread.sleep(100);
            assertTrue(pool.entry(a, utf8("second")).isEmpty(), "the second writer waits for the first");
            t.commit();
            other.join(5000);
            assertFalse(other.isAlive());
            if (err.get() != null) {
                throw new AssertionError(err.get());
            }
            assertArrayEquals(utf8("writer"), pool.entry(a, utf8("second")).orElseThrow());
        }
    }

    @Test
    void oversizedTransactionIsRefusedAndThePoolKeepsWorking() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId a = create(pool);
            long free = pool.info().freeBytes();
            RuntimeException e;
            try (Txn t = pool.begin()) {
                t.write(a, 0, MemorySegment.ofArray(new byte[100_000]));
                for (int i = 0; i < 70; i++) {
                    t.putEntry(a, utf8("big" + i), new byte[Limits.MAX_VALUE_BYTES]); // 70 x 64 KiB > 4 MiB record
                }
                e = assertThrows(RuntimeException.class, t::commit);
            }
            assertTrue(e instanceof D4Exception.InvalidArgument && e.getMessage().contains("too large"), e.getMessage());
            assertFalse(pool.failure().isPresent(), "refusing the transaction does not stop the pool");
            assertEquals(0, pool.get(a).sizeBytes(), "nothing of it was applied");
            assertFalse(pool.hasEntries(a, utf8("big")));
            assertEquals(free, pool.info().freeBytes(), "its blocks came back");
            write(pool, a, 0, utf8("ok"));
            pool.sync();
        }
        try (Pool pool = open(v)) {
            assertArrayEquals(utf8("ok"), readAll(pool, new ObjectId(1)));
        }
    }

    @Test
    void oversizedTransactionIsAD4Exception() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId a = create(pool);
            try (Txn t = pool.begin()) {
                for (int i = 0; i < 70; i++) {
                    t.putEntry(a, utf8("big" + i), new byte[Limits.MAX_VALUE_BYTES]);
                }
                RuntimeException e = assertThrows(RuntimeException.class, t::commit);
                assertInstanceOf(D4Exception.class, e);
            }
        }
    }

    /**
     * Txn validates each call against the committed state only. After t.delete(a), further calls on
     * a in the same transaction pass validation, then Index.apply throws IllegalStateException at
     * commit, which Pool.commit treats as fatal: the pool stops taking writes until it is reopened.
     */
    @Test
    void usingAnObjectDeletedEarlierInTheSameTransactionIsRefusedAtTheCall() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId a = create(pool);
            RuntimeException error = null;
            try (Txn t = pool.begin()) {
                t.delete(a);
                try {
                    t.putEntry(a, utf8("k"), utf8("v")); // should be ObjectNotFound here
                    t.commit();
                } catch (RuntimeException e) {
                    error = e;
                }
            }
            assertFalse(pool.failure().isPresent(), "the pool stopped taking writes after: " + error);
            assertInstanceOf(D4Exception.ObjectNotFound.class, error);
            create(pool);
        }
    }

    @Test
    void removingAnEntryTwiceInOneTransactionDoesNotStopThePool() {
        Path v = Pools.formatOne(dir, "p");
        try (Pool pool = open(v)) {
            ObjectId a = create(pool);
            Pools.putEntry(pool, a, utf8("k"), utf8("v"));
            RuntimeException error = null;
            try (Txn t = pool.begin()) {
                assertTrue(pool.entry(a, utf8("k")).isPresent());
                t.removeEntry(a, utf8("k"));
                assertTrue(pool.entry(a, utf8("k")).isPresent(), "still there in the committed state");
                try {
                    t.removeEntry(a, utf8("k"));
                    t.commit();
                } catch (RuntimeException e) {
                    error = e;
                }
            }
            assertFalse(pool.failure().isPresent(), "the pool stopped taking writes after: " + error);
            if (error != null) {
                assertInstanceOf(D4Exception.class, error);
            }
        }
    }
}
