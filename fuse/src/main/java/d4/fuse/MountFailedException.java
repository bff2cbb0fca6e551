package d4.fuse;

/** libfuse refused to mount (its own reason, e.g. "mountpoint is not empty", is on stderr). */
public final class MountFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    MountFailedException(String message) {
        super(message, null, false, false);
    }
}
