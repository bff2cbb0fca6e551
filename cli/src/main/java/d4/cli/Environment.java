package d4.cli;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where d4 keeps its files, from flags, the environment and whether we run as root:
 * the data dir (registry, default volume, logs) and the runtime dir (control sockets).
 */
record Environment(Map<String, String> env, boolean root) {

    static Environment current() {
        return new Environment(System.getenv(), Posix.getuid() == 0);
    }

    /** --data-dir, else D4_DATA_DIR, else /var/lib/d4 as root and $XDG_DATA_HOME/d4 (~/.local/share/d4) otherwise. */
    Path dataDir(Path flag) {
        if (flag != null) {
            return flag.toAbsolutePath().normalize();
        }
        String fromEnv = env.get("D4_DATA_DIR");
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv).toAbsolutePath().normalize();
        }
        if (root) {
            return Path.of("/var/lib/d4");
        }
        String xdg = env.get("XDG_DATA_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "d4");
        }
        return Path.of(System.getProperty("user.home"), ".local", "share", "d4");
    }

    /** D4_RUNTIME_DIR, else /run/d4 as root, else $XDG_RUNTIME_DIR/d4, else /tmp/d4-UID. */
    Path runtimeDir() {
        String fromEnv = env.get("D4_RUNTIME_DIR");
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv);
        }
        if (root) {
            return Path.of("/run/d4");
        }
        String xdg = env.get("XDG_RUNTIME_DIR");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "d4");
        }
        return Path.of("/tmp", "d4-" + Posix.getuid());
    }
}
