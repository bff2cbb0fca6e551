package d4.engine.io;

import d4.engine.D4Exception;
import java.lang.foreign.MemorySegment;

/**
 * One thread keeping up to {@link #depth()} reads and writes in flight on a drive, refilling as each
 * completes: fio's default model of queue depth ({@code --iodepth=N}), where the queue never drains
 * between batches as it does with {@link Drive#submit(IoBatch)}. Opened with
 * {@link Drive#openWindow(int)}; owned by the thread that opened it, which alone may use it.
 *
 * <pre>{@code
 * try (IoWindow w = drive.openWindow(16)) {
 *     while (more || w.inFlight() > 0) {
 *         while (more && w.hasRoom()) w.read(nextOffset(), nextBuffer(), tag);
 *         long done = w.take();          // the tag of a completed request
 *         if (w.failure() != null) ...   // its outcome
 *     }
 * }
 * }</pre>
 *
 * <p>A request's buffer belongs to the drive from {@link #read}/{@link #write} until {@link #take}
 * returned its tag. Requests are checked as {@link Drive#read}/{@link Drive#write} check theirs; a
 * bad one is a bug (IllegalStateException) and is not started. Requests have no order among
 * themselves. Each failure is the request's own, reported with its tag: the others still run.
 * Nothing is allocated per request (a failure allocates its exception).
 *
 * <p>The io_uring drive runs a window on a ring of the calling thread's own, which that thread
 * submits to and waits on in the kernel itself; drives with synchronous calls only (and the
 * io_uring drive on a thread that may not have a ring) run each request when it is started, so
 * their window has one request in the device at a time.
 *
 * <p>Close a window before its drive, or at least take what it has in flight: the drive's close
 * waits (up to a minute) for every window with requests in the kernel to be drained by its owner.
 * Requests started before the drive's close still complete and are taken as usual; one started
 * after it fails with DriveFailure (the io_uring drive throws it at once, a drive with synchronous
 * calls reports it through {@link #take}).
 */
public sealed interface IoWindow extends AutoCloseable permits UringWindow, SyncWindow {

    /** The most requests in flight at once (started and not yet taken). */
    int depth();

    /** Requests started and not yet taken. */
    int inFlight();

    /** Whether another request can be started now. */
    default boolean hasRoom() {
        return inFlight() < depth();
    }

    /**
     * Starts a read of {@code dst.byteSize()} bytes at {@code offsetBytes} into {@code dst}; the
     * request is handed to the device at the latest at the next {@link #take}.
     *
     * @param tag what {@link #take} returns for it (e.g. an index into the caller's own arrays)
     * @throws IllegalStateException when the window is full or the request is misaligned or outside
     *     the volume (bugs of the caller), or the thread is not the window's owner
     * @throws D4Exception.DriveFailure when the io_uring drive is closed
     */
    void read(long offsetBytes, MemorySegment dst, long tag);

    /** Starts a write of all of {@code src} at {@code offsetBytes}; as {@link #read}. Durable only after {@link Drive#flush()}. */
    void write(long offsetBytes, MemorySegment src, long tag);

    /**
     * Waits until a request has completed, takes it, and returns its tag; {@link #failure()} then
     * tells how it went. Completions come in no particular order.
     *
     * @throws IllegalStateException when nothing is in flight
     */
    long take();

    /**
     * The failure of the request {@link #take()} returned last ({@link D4Exception.DriveFailure},
     * or {@link D4Exception.NoSpace}), or null when it succeeded (then a read's buffer holds the
     * data). Valid until the next take.
     */
    D4Exception failure();

    /** Waits for every request still in flight (their outcomes are dropped) and gives the window's ring back. */
    @Override
    void close();
}
