package d4.engine.io.uring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.Test;

/** What callers see when liburing.so.2 (or one of its symbols) is missing: exceptions, not Errors. */
class UringLoadFailureTest {
    @Test
    void aMissingLibraryIsAnIllegalArgumentExceptionTheHolderCatches() {
        assertThrows(IllegalArgumentException.class,
                () -> SymbolLookup.libraryLookup("liburing.so.999", Arena.global()));
    }

    @Test
    void callsWithoutTheLibraryThrowIllegalStateExceptionWithTheCause() {
        Throwable cause = new IllegalArgumentException("Cannot open library: liburing.so.2");
        MethodHandle h = liburing_h.downcall(null, cause, "io_uring_submit",
                FunctionDescriptor.of(liburing_h.C_INT, liburing_h.C_POINTER));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> { int r = (int) h.invokeExact(MemorySegment.NULL); assertEquals(0, r); });
        assertSame(cause, e.getCause());
        assertTrue(e.getMessage().contains("io_uring_submit"), e.getMessage());

        MethodHandle v = liburing_h.downcall(null, cause, "io_uring_queue_exit",
                FunctionDescriptor.ofVoid(liburing_h.C_POINTER));
        assertThrows(IllegalStateException.class, () -> {
            v.invokeExact(MemorySegment.NULL);
        });
    }

    @Test
    void aMissingSymbolIsReportedByName() {
        MethodHandle h = liburing_h.downcall(Linker.nativeLinker().defaultLookup(), null, "io_uring_no_such_function",
                FunctionDescriptor.of(liburing_h.C_INT, liburing_h.C_INT, liburing_h.C_LONG));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> { int r = (int) h.invokeExact(1, 2L); assertEquals(0, r); });
        assertTrue(e.getMessage().contains("io_uring_no_such_function"), e.getMessage());
    }
}
