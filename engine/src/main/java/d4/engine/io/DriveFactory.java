package d4.engine.io;

import java.nio.file.Path;

/** Opens the drive for one volume; the seam where io_uring and fault-injecting drives plug in. */
@FunctionalInterface
public interface DriveFactory {
    Drive open(Path path, int alignmentBytes);

    DriveFactory FILE_CHANNEL = ChannelDrive::open;

    /**
     * The factory for an io engine name as the option io.engine spells it: "filechannel", or
     * "io_uring" (which falls back to filechannel, with one log line, where io_uring cannot be set up).
     */
    static DriveFactory forEngine(String engine) {
        return switch (engine) {
            case "filechannel" -> FILE_CHANNEL;
            default -> throw new IllegalArgumentException("unknown io engine '" + engine + "': use io_uring or filechannel");
        };
    }
}
