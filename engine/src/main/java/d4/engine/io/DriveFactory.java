package d4.engine.io;

import d4.engine.io.uring.UringException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/** Opens the drive for one volume; the seam where io_uring and fault-injecting drives plug in. */
@FunctionalInterface
public interface DriveFactory {
    Drive open(Path path, int alignmentBytes);

    DriveFactory FILE_CHANNEL = ChannelDrive::open;

    /** io_uring where it can be set up; the FileChannel drive otherwise, said once in the log. */
    DriveFactory IO_URING = (path, alignment) -> {
        try {
            return UringDrive.open(path, alignment);
        } catch (UringException e) {
            if (Fallback.LOGGED.compareAndSet(false, true)) {
                System.getLogger("d4.engine.io").log(Level.WARNING,
                        "io_uring is not available here ({0}); using the FileChannel drive", e.getMessage());
            }
            return ChannelDrive.open(path, alignment);
        }
    };

    /**
     * The factory for an io engine name as the option io.engine spells it: "filechannel", or
     * "io_uring" (which falls back to filechannel, with one log line, where io_uring cannot be set up).
     */
    static DriveFactory forEngine(String engine) {
        return switch (engine) {
            case "filechannel" -> FILE_CHANNEL;
            case "io_uring" -> IO_URING;
            default -> throw new IllegalArgumentException("unknown io engine '" + engine + "': use io_uring or filechannel");
        };
    }

    /** Holds the once-per-process flag of the fallback log line. */
    final class Fallback {
        static final AtomicBoolean LOGGED = new AtomicBoolean();

        private Fallback() {}
    }
}
