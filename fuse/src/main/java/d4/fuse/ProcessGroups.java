package d4.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the FUSE context does not carry about a caller: its supplementary groups and capabilities,
 * read from /proc/PID/status as libfuse's fuse_getgroups does. Asked only on rare paths (a write to
 * a setgid file by someone outside its group, a listxattr by a non-root uid), so it is not cached.
 */
final class ProcessGroups {
    private ProcessGroups() {}

    private static final int CAP_SYS_ADMIN = 21;

    /**
     * Whether process {@code pid} holds CAP_SYS_ADMIN in its effective set ("CapEff:" in its status),
     * which decides whether it sees trusted.* attributes; false if it is gone.
     */
    static boolean hasSysAdmin(int pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"))) {
                if (line.startsWith("CapEff:")) {
                    return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & (1L << CAP_SYS_ADMIN)) != 0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // Gone, or no /proc: not privileged (the safe side for listing trusted.* names).
        }
        return false;
    }

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
