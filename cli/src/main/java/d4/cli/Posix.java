package d4.cli;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** The few libc calls the command line needs, through FFM. */
final class Posix {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final MethodHandle GETUID = downcall("getuid", FunctionDescriptor.of(ValueLayout.JAVA_INT));
    private static final MethodHandle SETSID = downcall("setsid", FunctionDescriptor.of(ValueLayout.JAVA_INT));
    private static final MethodHandle ISATTY = downcall("isatty", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private Posix() {}

    private static MethodHandle downcall(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(() -> new IllegalStateException("libc has no " + name)), fd);
    }

    static int getuid() {
        try {
            return (int) GETUID.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("getuid failed", t);
        }
    }

    /** Starts a new session, so the daemon outlives the terminal that started it. */
    static void setsid() {
        try {
            int ignored = (int) SETSID.invokeExact(); // -1 (EPERM) when already a group leader: harmless
        } catch (Throwable t) {
            throw new IllegalStateException("setsid failed", t);
        }
    }

    /** Whether file descriptor {@code fd} (2: stderr) is a terminal. */
    static boolean isatty(int fd) {
        try {
            return (int) ISATTY.invokeExact(fd) == 1;
        } catch (Throwable t) {
            return false;
        }
    }
}
