package d4.engine.io.uring;

import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.StructLayout;

/**
 * Static checks run by each struct class as it initialises: the layouts are written by hand, so
 * their sizes and offsets are compared with the numbers measured with offsetof() on x86_64.
 */
final class Layouts {
    private Layouts() {}

    static void size(StructLayout layout, long expected) {
        if (layout.byteSize() != expected) {
            throw new AssertionError("sizeof(struct " + layout.name().orElse("?") + ") is "
                    + layout.byteSize() + ", expected " + expected);
        }
    }

    static void offset(StructLayout layout, long expected, PathElement... path) {
        long actual = layout.byteOffset(path);
        if (actual != expected) {
            throw new AssertionError("offsetof(struct " + layout.name().orElse("?") + ", "
                    + java.util.Arrays.toString(path) + ") is " + actual + ", expected " + expected);
        }
    }
}
