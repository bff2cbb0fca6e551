package d4.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A FUSE caller's supplementary groups, which the FUSE context does not carry: read from
 * /proc/PID/status ("Groups:"), as libfuse's fuse_getgroups does. Asked only on rare paths (a write
 * to a setgid file by someone outside its group), so it is not cached.
 */
final class ProcessGroups {
    private ProcessGroups() {}

    /** Whether process {@code pid} has {@code gid} among its supplementary groups; false if it is gone. */
    static boolean contains(int pid, int gid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"))) {
                if (line.startsWith("Groups:")) {
                    for (String g : line.substring(7).trim().split("\\s+")) {
                        if (!g.isEmpty() && Integer.parseUnsignedInt(g) == gid) {
                            return true;
                        }
                    }
                    return false;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // The writer exited (or /proc is not mounted): treat it as not a member, the safe side
            // for a setgid bit, which the kernel also clears when in doubt.
        }
        return false;
    }
}
