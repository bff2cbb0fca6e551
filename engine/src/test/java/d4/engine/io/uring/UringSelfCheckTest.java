package d4.engine.io.uring;

import static d4.engine.io.uring.liburing_h.IORING_SETUP_COOP_TASKRUN;
import static d4.engine.io.uring.liburing_h.IORING_SETUP_DEFER_TASKRUN;
import static d4.engine.io.uring.liburing_h.IORING_SETUP_SINGLE_ISSUER;
import static d4.engine.io.uring.liburing_h.IORING_SETUP_SQPOLL;
import static d4.engine.io.uring.liburing_h.IORING_SETUP_SUBMIT_ALL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class UringSelfCheckTest {
    @Test
    void libraryLoads() {
        assertTrue(liburing_h.isAvailable(), () -> "load failure: " + liburing_h.loadFailure());
        assertNull(liburing_h.loadFailure());
    }

    @Test
    void selfCheckPassesWithoutFlags() {
        Ring.SelfCheck check = Ring.selfCheck();
        assertTrue(check.ok(), check.reason());
        assertNotEquals(0, check.features() & liburing_h.IORING_FEAT_SINGLE_MMAP());
        assertNotEquals(0, check.features() & liburing_h.IORING_FEAT_NODROP());
        assertNotEquals(0, check.features() & liburing_h.IORING_FEAT_EXT_ARG());
    }

    @Test
    void selfCheckPassesWithTheFlagsTheEngineUses() {
        int[] flagSets = {
            IORING_SETUP_SINGLE_ISSUER() | IORING_SETUP_DEFER_TASKRUN(),
            IORING_SETUP_SINGLE_ISSUER() | IORING_SETUP_DEFER_TASKRUN() | IORING_SETUP_SUBMIT_ALL(),
            IORING_SETUP_COOP_TASKRUN() | IORING_SETUP_SUBMIT_ALL(),
            IORING_SETUP_SQPOLL(),
        };
        for (int flags : flagSets) {
            Ring.SelfCheck check = Ring.selfCheck(flags);
            assertTrue(check.ok(), "flags 0x" + Integer.toHexString(flags) + ": " + check.reason());
        }
    }

    @Test
    void setupFailureCarriesTheErrno() {
        // DEFER_TASKRUN without SINGLE_ISSUER is refused by the kernel.
        UringException e = assertThrows(UringException.class, () -> Ring.open(8, IORING_SETUP_DEFER_TASKRUN()));
        assertEquals(Libc.EINVAL, e.errno());
        assertEquals("EINVAL", e.errnoName());
        assertTrue(e.getMessage().contains("EINVAL"), e.getMessage());

        Ring.SelfCheck check = Ring.selfCheck(IORING_SETUP_DEFER_TASKRUN());
        assertTrue(!check.ok() && check.reason().contains("EINVAL"), check.reason());
    }

    @Test
    void ringReportsItsSizes() throws Exception {
        try (Ring ring = Ring.open(100, 0)) {
            assertEquals(128, ring.sqEntries());
            assertEquals(256, ring.cqEntries());
            assertTrue(ring.ringFd() >= 0);
            assertEquals(ring.ringFd(), io_uring.ring_fd(ring.struct()));
        }
    }

    @Test
    void ringIsConfinedToItsThread() throws Exception {
        try (Ring ring = Ring.open(8, IORING_SETUP_SINGLE_ISSUER())) {
            CompletableFuture<MemorySegment> other = CompletableFuture.supplyAsync(ring::getSqe);
            ExecutionException e = assertThrows(ExecutionException.class, other::get);
            assertInstanceOf(WrongThreadException.class, e.getCause());
            CompletableFuture<Void> closer = CompletableFuture.runAsync(ring::close);
            e = assertThrows(ExecutionException.class, closer::get);
            assertInstanceOf(WrongThreadException.class, e.getCause());
            MemorySegment sqe = ring.getSqe();
            assertNotNull(sqe, "the ring still works on its own thread");
            liburing_inline.io_uring_prep_nop(sqe);
            liburing_inline.io_uring_sqe_set_data64(sqe, 7);
            assertEquals(1, ring.submit());
            assertEquals(7, io_uring_cqe.user_data(ring.waitCqe()));
        }
    }

    @Test
    void useAfterCloseFails() throws Exception {
        Ring ring = Ring.open(8, 0);
        ring.close();
        ring.close(); // idempotent
        assertThrows(IllegalStateException.class, ring::getSqe);
        assertThrows(IllegalStateException.class, ring::cqReady);
    }
}
