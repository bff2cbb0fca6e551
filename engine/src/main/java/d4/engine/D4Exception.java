package d4.engine;

/**
 * Every operating error the engine reports. Sealed so that the one place that maps errors to an
 * outside code (errno at the mount, an exit status at the command line) is an exhaustive switch:
 * adding a new kind of error makes that switch fail to compile until someone decides its code.
 *
 * <p>Programmer errors (a broken invariant) are not D4Exceptions: they are {@link IllegalStateException}s
 * thrown by {@link Invariant}, and they mean a bug.
 */
public abstract sealed class D4Exception extends RuntimeException
        permits D4Exception.NoSpace,
                D4Exception.Corruption,
                D4Exception.DriveFailure,
                D4Exception.ObjectNotFound,
                D4Exception.PoolUnavailable,
                D4Exception.PoolClosed,
                D4Exception.InvalidArgument {

    private static final long serialVersionUID = 1L;

    D4Exception(String message, Throwable cause) {
        super(message, cause);
    }

    /** The pool has no free block left for this write (or would eat into the checkpoint reserve). */
    public static final class NoSpace extends D4Exception {
        private static final long serialVersionUID = 1L;

        public NoSpace(String message) {
            super(message, null);
        }
    }

    /** A checksum or structure check failed: the bytes on the drive are not what d4 wrote. */
    public static final class Corruption extends D4Exception {
        private static final long serialVersionUID = 1L;

        public Corruption(String message) {
            super(message, null);
        }
    }

    /** The drive reported an I/O error. */
    public static final class DriveFailure extends D4Exception {
        private static final long serialVersionUID = 1L;

        public DriveFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The object does not exist (deleted, or never created). */
    public static final class ObjectNotFound extends D4Exception {
        private static final long serialVersionUID = 1L;

        public ObjectNotFound(ObjectId id) {
            super("object " + id.value() + " does not exist", null);
        }
    }

    /** The pool cannot be opened or formatted: missing or foreign volume, in use, bad layout request. */
    public static final class PoolUnavailable extends D4Exception {
        private static final long serialVersionUID = 1L;

        public PoolUnavailable(String message) {
            super(message, null);
        }

        public PoolUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The pool was closed (or stopped after a fatal error) and takes no more requests. */
    public static final class PoolClosed extends D4Exception {
        private static final long serialVersionUID = 1L;

        public PoolClosed(String message) {
            super(message, null);
        }
    }

    /** A request outside what the engine accepts (a key or attribute too large, a negative offset). */
    public static final class InvalidArgument extends D4Exception {
        private static final long serialVersionUID = 1L;

        public InvalidArgument(String message) {
            super(message, null);
        }
    }
}
