package d4.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongFunction;

/**
 * Progress of a long operation (fsck, scrub): on a terminal one line redrawn in place, at most ten
 * times a second, with a bar when the total is known; otherwise (a log, a pipe) a plain line every
 * ten seconds, so that scripts and journals get progress without escape codes.
 */
final class ProgressBar {
    private static final int WIDTH = 30;
    private final PrintStream out;
    private final String label;
    private final boolean terminal;
    private final LongFunction<String> unit;
    private final long startNanos = System.nanoTime();
    private long lastNanos;
    private boolean drawn;

    /** @param unit formats an amount (for example ByteSize::format, or a count) */
    ProgressBar(PrintStream out, String label, boolean terminal, LongFunction<String> unit) {
        this.out = out;
        this.label = label;
        this.terminal = terminal;
        this.unit = unit;
    }

    /** A bar on stderr when stderr is a terminal (System.console() is not null only then). */
    static ProgressBar onStderr(String label, LongFunction<String> unit) {
        return new ProgressBar(System.err, label, System.console() != null, unit);
    }

    /** Reports {@code done} of {@code total} (total 0 or less: unknown). */
    synchronized void update(long done, long total) {
        long now = System.nanoTime();
        long interval = terminal ? 100_000_000L : 10_000_000_000L;
        if (drawn && now - lastNanos < interval) {
            return;
        }
        lastNanos = now;
        drawn = true;
        String line = line(done, total, now);
        if (terminal) {
            out.print("\r" + line + "\u001b[K");
        } else {
            out.println(line);
        }
        out.flush();
    }

    /** Ends the line (terminal) so that what follows starts on a fresh one. */
    synchronized void finish(long done, long total) {
        String line = line(done, total, System.nanoTime());
        out.print(terminal ? "\r" + line + "\u001b[K\n" : line + "\n");
        out.flush();
    }

    private String line(long done, long total, long now) {
        double seconds = Math.max(1e-9, (now - startNanos) / 1e9);
        StringBuilder b = new StringBuilder(label).append(": ");
        if (total > 0) {
            double f = Math.min(1.0, (double) done / total);
            int fill = (int) Math.round(f * WIDTH);
            b.append('[').append("#".repeat(fill)).append(" ".repeat(WIDTH - fill)).append("] ")
                    .append(String.format(Locale.ROOT, "%3.0f%% ", f * 100))
                    .append(unit.apply(done)).append(" of ").append(unit.apply(total));
        } else {
            b.append(unit.apply(done));
        }
        b.append(String.format(Locale.ROOT, ", %.0f s", seconds));
        return b.toString();
    }
}
