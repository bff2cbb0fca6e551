package d4.cli.config;

/**
 * A configuration that cannot be used: an invalid value, an unknown option or section, an unreadable
 * or malformed file. The message names the option, where it came from and what is allowed.
 */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ConfigException(String message) {
        super(message, null, false, false);
    }
}
