package d4.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * d4 bench on a terminal (script(1) gives it one): a plain line as each job starts and when it is
 * done, a bar for the step running in between, erased before the next plain line; the table on
 * stdout. The smallest settings: this checks the reporting, not the figures.
 */
@Timeout(600)
class BenchIT {
    private static final List<String> FIO_JOBS = List.of("seq-write-1m", "seq-read-1m", "rand-read-4k-qd1",
            "rand-read-4k-qd16", "rand-write-4k-qd1", "rand-write-4k-qd16", "rand-write-4k-buffered",
            "rand-rw-4k-4jobs");

    @TempDir
    Path base;

    private static boolean installed(String program) {
        try {
            Process p = new ProcessBuilder(program, "--version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** The lines a terminal shows after {@code tty}: carriage return, erase to end of line, newline. */
    static List<String> screenLines(String tty) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        int col = 0;
        for (int i = 0; i < tty.length(); i++) {
            char c = tty.charAt(i);
            if (c == '\r') {
                col = 0;
            } else if (c == '\n') {
                lines.add(line.toString());
                line.setLength(0);
                col = 0;
            } else if (c == '\u001b' && tty.startsWith("\u001b[K", i)) {
                line.setLength(col);
                i += 2;
            } else {
                if (col < line.length()) {
                    line.setCharAt(col, c);
                } else {
                    line.append(c);
                }
                col++;
            }
        }
        if (!line.isEmpty()) {
            lines.add(line.toString());
        }
        return lines;
    }

    @Test
    void aLinePerJobAsItStartsAndEndsAndABarBetweenOnATerminal() throws Exception {
        // The bench measures the mount, not the drive: one of the two failsafe runs is enough.
        assumeTrue(!"filechannel".equals(System.getenv("D4_IO_ENGINE")), "runs with the io_uring drive only");
        assumeTrue(installed("fio") && installed("script"), "needs fio and script(1)");
        try (Mount m = new Mount(base).mount()) {
            Path nativeDir = Files.createDirectories(base.resolve("native"));
            Path table = base.resolve("table.txt");
            List<String> cmd = new ArrayList<>(D4Cli.javaCommand());
            cmd.addAll(List.of("bench", "--native", nativeDir.toString(), "--size", "1M", "--runtime", "1", "--repeat", "1",
                    "--files", "1100", m.mountPoint.toString()));
            StringBuilder shell = new StringBuilder();
            for (String c : cmd) {
                shell.append(quote(c)).append(' ');
            }
            shell.append(">").append(quote(table.toString())); // stderr stays on script's terminal
            Process p = new ProcessBuilder("script", "-qec", shell.toString(), "/dev/null")
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectErrorStream(true).start();
            String tty = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(500, TimeUnit.SECONDS), "the bench finished");
            assertEquals(0, p.exitValue(), tty);
            String shown = tty.replace("\r", "<CR>").replace("\u001b[K", "<EL>");

            for (int i = 0; i < FIO_JOBS.size(); i++) {
                String job = "[" + (i + 1) + "/12] " + FIO_JOBS.get(i);
                assertTrue(tty.contains("d4 bench: " + job + ": "), "a line as " + job + " starts: " + shown);
                assertTrue(Pattern.compile(Pattern.quote("d4 bench: " + job + " done: native ") + "[0-9.]+ (MiB/s|IOPS), d4 [0-9.]+"
                        + " (MiB/s|IOPS), d4/native [0-9.]+").matcher(tty).find(), "a line when " + job + " is done: " + shown);
            }
            assertTrue(tty.contains("d4 bench: [9-12/12] metadata done: create native "), shown);
            // Bars: the file being written, the fio run (time-based), the metadata operations.
            assertTrue(tty.contains("\rd4 bench: [1/12] seq-write-1m d4: writing: ["), shown);
            assertTrue(Pattern.compile("\rd4 bench: \\[1/12\\] seq-write-1m run 1/1: d4: \\[[# ]{30}\\] +[0-9]+%, [0-9]+ s\u001b\\[K")
                    .matcher(tty).find(), shown);
            assertTrue(tty.contains("\rd4 bench: metadata run 1/1: d4 (create, stat, readdir, unlink) operations: ["), shown);
            // What the terminal shows in the end: only the plain lines; every bar was erased before
            // the next line, so no part of one is left on the screen.
            List<String> screen = screenLines(tty);
            assertTrue(screen.size() > 30, String.join("\n", screen));
            for (String line : screen) {
                assertTrue(line.startsWith("d4 bench: ") && !Pattern.compile("\\] +[0-9]+%").matcher(line).find(),
                        "a plain line, no bar left over: '" + line + "' in\n" + String.join("\n", screen));
            }

            String out = Files.readString(table);
            for (String job : FIO_JOBS) {
                assertTrue(out.contains("\n" + job + " "), "the table on stdout has " + job + ": " + out);
            }
            assertTrue(!out.contains("\u001b") && !out.contains("\r"), "no bar on stdout: " + out);
        }
    }
    /** --jobs runs the jobs it names and no other; a name it does not know is refused with the list. */
    @Test
    void jobsRunsOnlyTheNamedJobs() throws Exception {
        assumeTrue(!"filechannel".equals(System.getenv("D4_IO_ENGINE")), "runs with the io_uring drive only");
        assumeTrue(installed("fio"), "needs fio");
        try (Mount m = new Mount(base).mount()) {
            Path nativeDir = Files.createDirectories(base.resolve("native"));
            D4Cli.Result r = m.cli.run(300, "bench", "--native", nativeDir.toString(), "--size", "1M", "--runtime", "1",
                    "--repeat", "1", "--files", "100", "--jobs", "rand-read-4k-qd1,metadata", m.mountPoint.toString());
            assertEquals(0, r.exitCode(), r.all());
            assertTrue(r.stdout().contains("\nrand-read-4k-qd1 ") && r.stdout().contains("\nmeta-unlink "), r.stdout());
            for (String job : FIO_JOBS) {
                if (!job.equals("rand-read-4k-qd1")) {
                    assertFalse(r.stdout().contains("\n" + job + " "), job + " was not asked for: " + r.stdout());
                }
            }
            assertTrue(r.stderr().contains("[1/5] rand-read-4k-qd1"), r.stderr());

            D4Cli.Result bad = m.cli.run("bench", "--jobs", "seq-write-1m,nope", m.mountPoint.toString());
            assertEquals(1, bad.exitCode(), bad.all());
            assertTrue(bad.stderr().contains("unknown job 'nope'") && bad.stderr().contains("rand-rw-4k-4jobs, metadata"),
                    bad.stderr());
            m.umount();
        }
    }
}
