package d4.fuse;

import java.lang.System.Logger.Level;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Serves a libfuse 2 mount from long-lived Java threads instead of libfuse's own worker threads.
 *
 * <p>libfuse 2.9's multi-threaded loop starts a native thread whenever none is idle and retires
 * threads when many are; jffi attaches each new native thread to the JVM and detaches it again, which
 * measured 30-70 µs per request here (../shared/NOTES.md). This class does what {@code fuse_main_real}
 * does — {@code fuse_setup} (parse options, mount, create the session), a receive/process loop,
 * {@code fuse_teardown} — but runs the loop ({@code fuse_session_receive_buf} then
 * {@code fuse_session_process_buf}, as each of fuse_loop_mt's workers does) on a fixed set of JVM
 * platform threads, through FFM. The callbacks are still jnr-fuse's, registered in the same
 * {@code struct fuse_operations}; they now run on threads the JVM already knows.
 *
 * <p>Between the two it runs the caller's {@code onMounted} hook, once: when {@code fuse_setup}
 * returns, mount(2) has returned (as root; or fusermount has mounted and handed over the /dev/fuse
 * descriptor), so the kernel has the mount and has queued its FUSE_INIT, and no request has been
 * read yet. That is the moment d4 drops its privileges: everything that needs root is done, and
 * nothing is served before the hook returns (the kernel holds every request until the INIT
 * answer, which a worker sends only after the hook). libfuse's own {@code init} callback comes
 * later, on the worker that reads FUSE_INIT.
 */
final class FuseLoop {
    private static final System.Logger LOG = System.getLogger("d4.fuse");
    private static final Linker LINKER = Linker.nativeLinker();
    private static final AddressLayout PTR = ValueLayout.ADDRESS;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;

    /** struct fuse_buf (libfuse 2.9, x86_64): size 0, flags 8, mem 16, fd 24, pos 32; 40 bytes. */
    private static final long FUSE_BUF_BYTES = 40;

    private static final class Lib {
        static final SymbolLookup FUSE = SymbolLookup.libraryLookup("libfuse.so.2", Arena.global());
        static final MethodHandle SETUP = handle("fuse_setup",
                FunctionDescriptor.of(PTR, INT, PTR, PTR, LONG, PTR, PTR, PTR));
        static final MethodHandle TEARDOWN = handle("fuse_teardown", FunctionDescriptor.ofVoid(PTR, PTR));
        static final MethodHandle GET_SESSION = handle("fuse_get_session", FunctionDescriptor.of(PTR, PTR));
        static final MethodHandle NEXT_CHAN = handle("fuse_session_next_chan", FunctionDescriptor.of(PTR, PTR, PTR));
        static final MethodHandle CHAN_BUFSIZE = handle("fuse_chan_bufsize", FunctionDescriptor.of(LONG, PTR));
        static final MethodHandle RECEIVE_BUF = handle("fuse_session_receive_buf", FunctionDescriptor.of(INT, PTR, PTR, PTR));
        static final MethodHandle PROCESS_BUF = handle("fuse_session_process_buf", FunctionDescriptor.ofVoid(PTR, PTR, PTR));
        static final MethodHandle EXITED = handle("fuse_session_exited", FunctionDescriptor.of(INT, PTR));
        static final MethodHandle EXIT = handle("fuse_session_exit", FunctionDescriptor.ofVoid(PTR));

        private static MethodHandle handle(String name, FunctionDescriptor fd) {
            return LINKER.downcallHandle(FUSE.find(name).orElseThrow(
                    () -> new UnsatisfiedLinkError("libfuse.so.2 has no " + name + ": libfuse 2.9 is required")), fd);
        }
    }

    private FuseLoop() {}

    /**
     * Mounts with libfuse's own option parsing ({@code -f} and {@code -o} as fuse_main takes them),
     * serves with {@code threads} JVM threads until the file system is unmounted, and tears down.
     *
     * @param operations the address of the {@code struct fuse_operations} jnr-fuse filled
     * @param onMounted runs once the kernel has the mount, before any request is served (see above);
     *     if it throws, the mount is torn down (unmounted) and the exception propagates
     * @throws MountFailedException when libfuse cannot mount (its own message went to stderr)
     */
    static void serve(Path mountPoint, List<String> options, MemorySegment operations, long operationsSize, int threads,
            Runnable onMounted) {
        try (Arena arena = Arena.ofShared()) {
            List<String> args = new ArrayList<>(List.of("d4", "-f", mountPoint.toAbsolutePath().toString()));
            if (!options.isEmpty()) {
                args.add("-o");
                args.add(String.join(",", options));
            }
            MemorySegment argv = arena.allocate(PTR, args.size() + 1);
            for (int i = 0; i < args.size(); i++) {
                argv.setAtIndex(PTR, i, arena.allocateFrom(args.get(i)));
            }
            argv.setAtIndex(PTR, args.size(), MemorySegment.NULL);
            MemorySegment mountpointOut = arena.allocate(PTR);
            MemorySegment multithreadedOut = arena.allocate(INT);
            MemorySegment fuse = (MemorySegment) Lib.SETUP.invokeExact(args.size(), argv, operations, operationsSize,
                    mountpointOut, multithreadedOut, MemorySegment.NULL);
            if (fuse.equals(MemorySegment.NULL)) {
                throw new MountFailedException("libfuse could not mount " + mountPoint
                        + " (its reason is on the line above, e.g. a non-empty mount point: use -o nonempty or an empty directory)");
            }
            MemorySegment mountpoint = mountpointOut.get(PTR, 0);
            try {
                onMounted.run();
                MemorySegment session = (MemorySegment) Lib.GET_SESSION.invokeExact(fuse);
                MemorySegment channel = (MemorySegment) Lib.NEXT_CHAN.invokeExact(session, MemorySegment.NULL);
                long bufsize = (long) Lib.CHAN_BUFSIZE.invokeExact(channel);
                List<Thread> workers = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    MemorySegment buf = arena.allocate(bufsize, 4096);
                    MemorySegment fbuf = arena.allocate(FUSE_BUF_BYTES, 8);
                    MemorySegment chanOut = arena.allocate(PTR);
                    workers.add(Thread.ofPlatform().name("d4-fuse-" + i).start(
                            () -> work(session, channel, buf, bufsize, fbuf, chanOut, mountPoint)));
                }
                for (Thread t : workers) {
                    t.join();
                }
            } finally {
                Lib.TEARDOWN.invokeExact(fuse, mountpoint);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("the FUSE loop failed: " + t, t);
        }
    }

    /** One worker: receive a request, process it (the callback runs here), until the session ends. */
    private static void work(MemorySegment session, MemorySegment channel, MemorySegment buf, long bufsize,
            MemorySegment fbuf, MemorySegment chanOut, Path mountPoint) {
        try {
            while ((int) Lib.EXITED.invokeExact(session) == 0) {
                fbuf.fill((byte) 0);
                fbuf.set(LONG, 0, bufsize);
                fbuf.set(PTR, 16, buf);
                chanOut.set(PTR, 0, channel);
                int res = (int) Lib.RECEIVE_BUF.invokeExact(session, fbuf, chanOut);
                if (res == -4) { // EINTR
                    continue;
                }
                if (res <= 0) {
                    // 0: the kernel ended the session (unmounted); <0: an error reading /dev/fuse.
                    Lib.EXIT.invokeExact(session);
                    if (res < 0) {
                        LOG.log(Level.ERROR, "reading /dev/fuse failed (errno {0}); stopping the mount", String.valueOf(-res));
                        detach(mountPoint);
                    }
                    return;
                }
                Lib.PROCESS_BUF.invokeExact(session, fbuf, chanOut.get(PTR, 0));
            }
        } catch (Throwable t) {
            LOG.log(Level.ERROR, "FUSE worker " + Thread.currentThread().getName() + " failed", t);
            try {
                Lib.EXIT.invokeExact(session);
            } catch (Throwable again) {
                LOG.log(Level.ERROR, "could not stop the FUSE session", again);
            }
            detach(mountPoint);
        }
    }

    /**
     * After a worker's fatal error: detach the mount, so that the other workers, blocked reading
     * /dev/fuse, get ENODEV and stop (libfuse's own loop cancels its threads instead), and
     * applications get errors rather than hanging on a mount nobody serves.
     */
    private static void detach(Path mountPoint) {
        try {
            new ProcessBuilder("fusermount", "-u", "-z", mountPoint.toString()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        } catch (java.io.IOException | InterruptedException e) {
            LOG.log(Level.ERROR, "could not detach " + mountPoint + ": " + e.getMessage());
        }
    }
}
