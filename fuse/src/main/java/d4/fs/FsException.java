package d4.fs;

/** A namespace error carrying its POSIX condition. */
public final class FsException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final FsError error;

    public FsException(FsError error, String message) {
        super(message, null, false, false); // expected on hot paths (ENOENT): no stack trace
        this.error = error;
    }

    public FsError error() {
        return error;
    }
}
