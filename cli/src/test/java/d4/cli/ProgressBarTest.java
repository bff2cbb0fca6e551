package d4.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.cli.config.ByteSize;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Progress on a terminal (one line redrawn), in a log (plain lines), or nothing (bar-only commands). */
class ProgressBarTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    private String text() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private ProgressBar bar(boolean terminal, boolean plainLines) {
        return new ProgressBar(out, "copy", terminal, plainLines, ByteSize::format, now::get);
    }

    @Test
    void onATerminalOneLineIsRedrawnInPlaceAtMostTenTimesASecond() {
        ProgressBar b = bar(true, true);
        b.update(1 << 20, 4 << 20);
        now.addAndGet(50_000_000L);
        b.update(2 << 20, 4 << 20); // too soon: not drawn
        now.addAndGet(60_000_000L);
        b.update(3 << 20, 4 << 20);
        assertEquals("\rcopy: [########                      ]  25% 1.0 MiB of 4.0 MiB, 0 s\u001b[K"
                + "\rcopy: [#######################       ]  75% 3.0 MiB of 4.0 MiB, 0 s\u001b[K", text());
        b.clear();
        assertTrue(text().endsWith("\u001b[K\r\u001b[K"), "clear erases the line so that a plain line can follow");
        b.clear();
        assertTrue(text().endsWith("\u001b[K\r\u001b[K") && !text().endsWith("\r\u001b[K\r\u001b[K"), "once");
        now.addAndGet(2_000_000_000L);
        b.finish(4 << 20, 4 << 20);
        assertTrue(text().endsWith("\rcopy: [##############################] 100% 4.0 MiB of 4.0 MiB, 2 s\u001b[K\n"), text());
    }

    @Test
    void anEmptyUnitShowsThePercentageAlone() {
        ProgressBar b = new ProgressBar(out, "fio", true, true, n -> "", now::get);
        b.update(500, 2000);
        assertEquals("\rfio: [########                      ]  25%, 0 s\u001b[K", text());
    }

    @Test
    void elsewherePlainLinesEveryTenSecondsWithoutEscapes() {
        ProgressBar b = bar(false, true);
        b.update(1, 0);
        now.addAndGet(9_000_000_000L);
        b.update(2, 0);
        now.addAndGet(1_000_000_000L);
        b.update(3, 0);
        b.clear();
        b.finish(4, 0);
        assertEquals(List.of("copy: 1 B, 0 s", "copy: 3 B, 10 s", "copy: 4 B, 10 s"), text().lines().toList());
        assertFalse(text().contains("\r") || text().contains("\u001b"), text());
    }

    @Test
    void stderrOfTheseTestsIsNoTerminal() {
        assertFalse(ProgressBar.stderrIsTerminal(), "surefire gives the forked JVM a pipe, and isatty(2) says so");
    }

    @Test
    void barOnlyPrintsNothingWhenNotATerminal() {
        ProgressBar b = bar(false, false);
        b.update(1, 2);
        now.addAndGet(20_000_000_000L);
        b.update(2, 2);
        b.clear();
        b.finish(2, 2);
        assertEquals("", text());
        assertFalse(b.shown());
    }

    @Test
    void whileRunningShowsNothingForAShortTaskAndFinishesTheBarOfALongOne() {
        ProgressBar quick = new ProgressBar(out, "quick", false, true, n -> n + " B", System::nanoTime);
        assertEquals("done", ProgressBar.whileRunning(quick, () -> 7, 2_000, () -> "done"));
        assertEquals("", text(), "a task shorter than the delay shows nothing");

        AtomicLong written = new AtomicLong();
        ProgressBar slow = new ProgressBar(out, "slow", true, true, n -> n + " B", System::nanoTime);
        int result = ProgressBar.whileRunning(slow, written::get, 50, () -> {
            for (int i = 0; i < 10; i++) {
                written.addAndGet(100);
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            }
            return 42;
        });
        assertEquals(42, result);
        String t = text();
        assertTrue(t.startsWith("\rslow: ")
                && (t.endsWith("\rslow: 1000 B, 0 s\u001b[K\n") || t.endsWith("\rslow: 1000 B, 1 s\u001b[K\n")),
                "redrawn while it runs, finished with the final amount: " + t.replace("\r", "<CR>").replace("\u001b", "<ESC>"));
        assertTrue(t.split("\r", -1).length > 2, "drawn at least twice: " + t.replace("\r", "<CR>"));

        // The bar is finished even when the task fails.
        bytes.reset();
        ProgressBar failing = new ProgressBar(out, "failing", false, true, n -> n + " B", System::nanoTime);
        try {
            ProgressBar.whileRunning(failing, () -> 5, 0, () -> {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                throw new IllegalStateException("format failed");
            });
        } catch (IllegalStateException expected) {
            assertEquals("format failed", expected.getMessage());
        }
        assertEquals(List.of("failing: 5 B, 0 s", "failing: 5 B, 0 s"), text().lines().toList());
    }

    @Test
    void benchSummariesNameBothSidesAndTheRatio() {
        BenchCommand.Row row = new BenchCommand.Row("seq-write-1m", "w", "MiB/s");
        row.nativeRuns.addAll(List.of(400.0, 480.0, 500.0));
        row.d4Runs.addAll(List.of(300.0));
        assertEquals("native 480 MiB/s, d4 300 MiB/s, d4/native 0.63", BenchCommand.summary(row));
        BenchCommand.Row failed = new BenchCommand.Row("x", "w", "IOPS");
        failed.nativeRuns.add(12.5);
        assertEquals("native 12.5 IOPS, d4 failed", BenchCommand.summary(failed));
    }
}
