package d4.cli;

import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * One line per event with time and level, on stderr (which the daemon redirects to its log file).
 * D4_LOG_LEVEL (e.g. FINE) raises detail.
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
        Level level = Level.INFO;
        String wanted = System.getenv("D4_LOG_LEVEL");
        if (wanted != null && !wanted.isBlank()) {
            try {
                level = Level.parse(wanted.trim().toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                System.err.println("d4: ignoring D4_LOG_LEVEL=" + wanted + " (use SEVERE, WARNING, INFO, FINE)");
            }
        }
        h.setLevel(level);
        root.setLevel(level);
        root.addHandler(h);
    }
}
