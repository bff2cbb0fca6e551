package d4.engine.io.uring;

import java.io.IOException;

/**
 * An io_uring call failed: ring setup (ENOSYS without io_uring, EPERM when io_uring_disabled or a
 * seccomp filter forbids it, ENOMEM when locked memory runs out, EINVAL for flags the kernel lacks),
 * registration, submission or waiting. {@link #errno()} is 0 when the failure has no errno, e.g.
 * liburing.so.2 could not be loaded (then the cause says why).
 */
public final class UringException extends IOException {
    private static final long serialVersionUID = 1L;

    private final int errno;

    /** A failure described by {@code message}; {@code errno} 0 when there is none. */
    public UringException(String message, int errno) {
        this(message, errno, null);
    }

    UringException(String message, int errno, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    /** {@code call} returned {@code -errno}. */
    static UringException errno(String call, int errno) {
        return new UringException(call + " failed: " + Libc.errnoName(errno) + " (" + errno + ")", errno, null);
    }

    /** The positive errno, or 0. */
    public int errno() {
        return errno;
    }

    /** The errno's symbolic name (e.g. "ENOSYS"), or null when there is no errno. */
    public String errnoName() {
        return errno == 0 ? null : Libc.errnoName(errno);
    }
}
