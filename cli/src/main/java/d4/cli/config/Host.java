package d4.cli.config;

import java.nio.file.Path;
import java.util.Map;

/**
 * What the defaults depend on: whether d4 runs as root, its uid and home, its environment (the
 * D4_SECTION_KEY variables and XDG_*), and where the system configuration file would be.
 *
 * @param systemConfig the file read when neither --config nor D4_CONFIG names one, if it exists
 */
public record Host(boolean root, int uid, String home, Map<String, String> env, Path systemConfig) {
    public static final Path SYSTEM_CONFIG = Path.of("/etc/d4/d4.toml");

    public Host {
        env = Map.copyOf(env);
    }

    /** The value of an environment variable, or null when it is unset or empty. */
    String env(String name) {
        String v = env.get(name);
        return v == null || v.isEmpty() ? null : v;
    }
}
