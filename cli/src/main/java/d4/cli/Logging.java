package d4.cli;

import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * One line per event with time and level, on stderr (which the daemon redirects to its log file).
 * The option log.level (D4_LOG_LEVEL, --log-level) sets the detail once the configuration is read.
 */
final class Logging {
    private Logging() {}

    /**
     * JUL's own shutdown hook resets the log manager, which would silence everything the daemon
     * logs while it unmounts and checkpoints on SIGTERM. This manager ignores that reset.
     */
    public static final class ShutdownSafeLogManager extends LogManager {
        @Override
        public void reset() {
            if (!Thread.currentThread().getName().startsWith("d4-") && isShuttingDown()) {
                return;
            }
            super.reset();
        }

        private static boolean isShuttingDown() {
            try {
                Thread probe = new Thread(() -> {});
                Runtime.getRuntime().addShutdownHook(probe);
                Runtime.getRuntime().removeShutdownHook(probe);
                return false;
            } catch (IllegalStateException e) {
                return true;
            }
        }
    }

    static void configure() {
        System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tF %1$tT.%1$tL %4$s %3$s: %5$s%6$s%n");
        System.setProperty("java.util.logging.manager", ShutdownSafeLogManager.class.getName());
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        Handler h = new ConsoleHandler();
        h.setFormatter(new SimpleFormatter());
        h.setLevel(Level.ALL);
        root.setLevel(Level.INFO);
        root.addHandler(h);
    }

    /** Sets the least important level logged, by its name in log.level (severe ... finest). */
    static void setLevel(String name) {
        Logger.getLogger("").setLevel(Level.parse(name.toUpperCase(java.util.Locale.ROOT)));
    }
}
