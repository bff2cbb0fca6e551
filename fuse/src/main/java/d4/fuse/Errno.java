package d4.fuse;

import d4.engine.D4Exception;
import d4.fs.FsError;
import d4.fs.FsException;
import ru.serce.jnrfuse.ErrorCodes;

/**
 * The one place where errors become errno. Both switches are exhaustive with no default, so a new
 * engine exception or namespace error does not compile until its errno is chosen here.
 */
public final class Errno {
    private Errno() {}

    /** The positive errno for an error thrown below the adapter. */
    public static int of(Throwable t) {
        return switch (t) {
            case FsException f -> of(f.error());
            case D4Exception d -> of(d);
            default -> ErrorCodes.EIO();
        };
    }

    static int of(FsError e) {
        return switch (e) {
            case NOT_FOUND -> ErrorCodes.ENOENT();
            case EXISTS -> ErrorCodes.EEXIST();
            case NOT_DIRECTORY -> ErrorCodes.ENOTDIR();
            case IS_DIRECTORY -> ErrorCodes.EISDIR();
            case NOT_EMPTY -> ErrorCodes.ENOTEMPTY();
            case INVALID -> ErrorCodes.EINVAL();
            case NAME_TOO_LONG -> ErrorCodes.ENAMETOOLONG();
            case TOO_MANY_LINKS -> ErrorCodes.EMLINK();
            case NOT_PERMITTED -> ErrorCodes.EPERM();
            case BAD_HANDLE -> ErrorCodes.EBADF();
            case FILE_TOO_BIG -> ErrorCodes.EFBIG();
            case NO_ATTRIBUTE -> ErrorCodes.ENODATA();
            case BUFFER_TOO_SMALL -> ErrorCodes.ERANGE();
            case NOT_SUPPORTED -> ErrorCodes.EOPNOTSUPP();
            case ACCESS_DENIED -> ErrorCodes.EACCES();
            case INODE_FULL -> ErrorCodes.ENOSPC();
            case LIST_TOO_BIG -> ErrorCodes.E2BIG();
        };
    }

    static int of(D4Exception e) {
        return switch (e) {
            case D4Exception.NoSpace n -> ErrorCodes.ENOSPC();
            // Damaged data is an I/O error to the application: never the damaged bytes.
            case D4Exception.Corruption c -> ErrorCodes.EIO();
            case D4Exception.DriveFailure f -> ErrorCodes.EIO();
            // An inode that vanished under an open handle (the engine saw it deleted).
            case D4Exception.ObjectNotFound o -> ErrorCodes.ENOENT();
            // The pool stopped taking writes after an error: like ext4's errors=remount-ro.
            case D4Exception.PoolClosed c -> ErrorCodes.EROFS();
            case D4Exception.PoolUnavailable u -> ErrorCodes.EIO();
            case D4Exception.InvalidArgument i -> ErrorCodes.EINVAL();
        };
    }

    /** Whether an error is worth a log line: the ones that mean damage or a bug, not a caller's mistake. */
    static boolean isNoteworthy(Throwable t) {
        return switch (t) {
            case FsException f -> false;
            case D4Exception.NoSpace n -> false;
            case D4Exception.InvalidArgument i -> false;
            case D4Exception.ObjectNotFound o -> false;
            default -> true;
        };
    }
}
