/**
 * io_uring through liburing 2.3 (liburing.so.2) and the FFM API, without jextract or JNI.
 *
 * <ul>
 *   <li>{@link d4.engine.io.uring.liburing_h}: generated-style downcalls for the functions liburing
 *       exports, the io_uring constants, and the library lookup ({@code isAvailable()} /
 *       {@code loadFailure()}: a missing library is reported, never an Error).</li>
 *   <li>Struct layouts in jextract style ({@code io_uring}, {@code io_uring_sq}, {@code io_uring_cq},
 *       {@code io_uring_sqe}, {@code io_uring_cqe}, {@code io_uring_params}, the ring offset structs,
 *       {@code iovec}), each checking its size and offsets when it initialises.</li>
 *   <li>{@link d4.engine.io.uring.liburing_inline}: the static inline SQE helpers of liburing.h
 *       (io_uring_prep_*, io_uring_sqe_set_*) in Java.</li>
 *   <li>{@link d4.engine.io.uring.Ring}: one ring, confined to its thread, with the inline ring-index
 *       helpers (get_sqe, cq_ready, peek/wait_cqe, cqe_seen, cq_advance) and
 *       {@link d4.engine.io.uring.Ring#selfCheck(int)}, which the engine runs at start-up before
 *       trusting these hand-written layouts.</li>
 *   <li>{@link d4.engine.io.uring.Libc} (open/close/sched_*affinity with errno) and
 *       {@link d4.engine.io.uring.CpuAffinity} (pin the submitter thread).</li>
 * </ul>
 *
 * <p>The JVM needs {@code --enable-native-access=ALL-UNNAMED}. Layouts are those of x86_64 Linux
 * (measured with offsetof; UringLayoutTest re-measures them with the C compiler where one exists).
 */
package d4.engine.io.uring;
