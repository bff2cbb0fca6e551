package d4.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Progress of a long operation (fsck, scrub, format, each step of bench): on a terminal one line
 * redrawn in place, at most ten times a second, with a bar when the total is known; otherwise (a
 * log, a pipe) either a plain line every ten seconds, so that scripts and journals get progress
 * without escape codes, or nothing at all for commands that print their own plain lines
 * ({@link #barOnly}).
 */
final class ProgressBar {
    private static final int WIDTH = 30;
    private static final long TERMINAL_INTERVAL_NANOS = 100_000_000L;
    private static final long PLAIN_INTERVAL_NANOS = 10_000_000_000L;
    private final PrintStream out;
    private final String label;
    private final boolean terminal;
    private final boolean plainLines;
    private final LongFunction<String> unit;
    private final LongSupplier clock;
    private final long startNanos;
    private long lastNanos;
    private boolean drawn;
    private boolean shown;

    /**
     * @param terminal whether {@code out} is a terminal (the line is redrawn in place)
     * @param plainLines whether, when not a terminal, a plain line is printed every ten seconds
     * @param unit formats an amount (for example ByteSize::format, or a count); "" for the total
     *     shows the percentage alone
     * @param clock System::nanoTime, or a test's clock
     */
    ProgressBar(PrintStream out, String label, boolean terminal, boolean plainLines, LongFunction<String> unit,
            LongSupplier clock) {
        this.out = out;
        this.label = label;
        this.terminal = terminal;
        this.plainLines = plainLines;
        this.unit = unit;
        this.clock = clock;
        this.startNanos = clock.getAsLong();
    }

    ProgressBar(PrintStream out, String label, boolean terminal, LongFunction<String> unit) {
        this(out, label, terminal, true, unit, System::nanoTime);
    }

    /**
     * Whether stderr, where progress goes, is a terminal that can redraw a line: isatty(2) (not
     * System.console(), which asks about stdin and stdout) and TERM is not "dumb".
     */
    static boolean stderrIsTerminal() {
        return Posix.isatty(2) && !"dumb".equals(System.getenv("TERM"));
    }

    /** A bar on stderr when it is a terminal; plain lines every ten seconds otherwise. */
    static ProgressBar onStderr(String label, LongFunction<String> unit) {
        return new ProgressBar(System.err, label, stderrIsTerminal(), true, unit, System::nanoTime);
    }

    /** A bar on stderr when it is a terminal; nothing otherwise (the command prints its own lines). */
    static ProgressBar barOnly(String label, LongFunction<String> unit) {
        return new ProgressBar(System.err, label, stderrIsTerminal(), false, unit, System::nanoTime);
    }

    /** Whether anything was printed yet. */
    synchronized boolean shown() {
        return shown;
    }

    /** Reports {@code done} of {@code total} (total 0 or less: unknown). */
    synchronized void update(long done, long total) {
        if (!terminal && !plainLines) {
            return;
        }
        long now = clock.getAsLong();
        long interval = terminal ? TERMINAL_INTERVAL_NANOS : PLAIN_INTERVAL_NANOS;
        if (shown && now - lastNanos < interval) {
            return;
        }
        lastNanos = now;
        shown = true;
        String line = line(done, total, now);
        if (terminal) {
            out.print("\r" + line + "\u001b[K");
            drawn = true;
        } else {
            out.println(line);
        }
        out.flush();
    }

    /** Ends the line (terminal) so that what follows starts on a fresh one; a last plain line otherwise. */
    synchronized void finish(long done, long total) {
        if (!terminal && !plainLines) {
            return;
        }
        String line = line(done, total, clock.getAsLong());
        out.print(terminal ? "\r" + line + "\u001b[K\n" : line + "\n");
        out.flush();
        shown = true;
        drawn = false;
    }

    /** Erases the bar from the terminal, leaving the cursor at the start of an empty line; nothing otherwise. */
    synchronized void clear() {
        if (terminal && drawn) {
            out.print("\r\u001b[K");
            out.flush();
            drawn = false;
        }
    }

    private String line(long done, long total, long now) {
        double seconds = Math.max(1e-9, (now - startNanos) / 1e9);
        StringBuilder b = new StringBuilder(label).append(": ");
        if (total > 0) {
            double f = Math.min(1.0, (double) done / total);
            int fill = (int) Math.round(f * WIDTH);
            b.append('[').append("#".repeat(fill)).append(" ".repeat(WIDTH - fill)).append("] ")
                    .append(String.format(Locale.ROOT, "%3.0f%%", f * 100));
            String of = unit.apply(total);
            if (!of.isEmpty()) { // an empty unit: the percentage alone (a time-based bar)
                b.append(' ').append(unit.apply(done)).append(" of ").append(of);
            }
        } else {
            b.append(unit.apply(done));
        }
        b.append(String.format(Locale.ROOT, ", %.0f s", seconds));
        return b.toString();
    }

    /**
     * Runs {@code task} on this thread while another thread feeds {@code bar} from {@code done}
     * (total unknown) every 100 ms, from {@code delayMillis} on, so that a task that ends sooner
     * shows nothing; a bar that was shown is finished when the task ends.
     */
    static <T> T whileRunning(ProgressBar bar, LongSupplier done, long delayMillis, Supplier<T> task) {
        Thread ticker = Thread.ofPlatform().daemon(true).name("d4-progress").start(() -> {
            try {
                Thread.sleep(delayMillis);
                while (true) {
                    bar.update(done.getAsLong(), 0);
                    Thread.sleep(100);
                }
            } catch (InterruptedException e) {
                // the task ended
            }
        });
        try {
            return task.get();
        } finally {
            ticker.interrupt();
            try {
                ticker.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (bar.shown()) {
                bar.finish(done.getAsLong(), 0);
            }
        }
    }
}
