package d4.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import d4.cli.config.Options;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** d4 config show and the option flags, through the real command line (in this JVM). */
class ConfigCommandTest {
    @TempDir
    Path dir;

    record Run(int exitCode, String stdout, String stderr) {}

    static Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int code = Main.execute(args);
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void showNamesTheOriginOfEachValue() throws Exception {
        Path file = Files.writeString(dir.resolve("d4.toml"), "[mount]\nfuse_threads = 4\nstart_timeout = 9\n");
        Run r = run("config", "show", "--config", file.toString(), "--start-timeout", "30", "-o", "allow_other,ro",
                "-f", "--set", "log.file=/tmp/x.log");
        assertEquals(0, r.exitCode(), r.stderr());
        List<String> lines = r.stdout().lines().toList();
        assertTrue(lines.contains("mount.fuse_threads = 4  # file " + file), r.stdout());
        assertTrue(lines.contains("mount.start_timeout = 30  # flag --start-timeout"), r.stdout());
        assertTrue(lines.contains("mount.options = [\"allow_other\", \"ro\"]  # flag -o"), r.stdout());
        assertTrue(lines.contains("mount.foreground = true  # flag --foreground"), r.stdout());
        assertTrue(lines.contains("log.file = \"/tmp/x.log\"  # flag --set"), r.stdout());
        assertTrue(lines.contains("mount.user = \"\"  # default"), r.stdout());
        for (var o : Options.ALL) {
            assertTrue(r.stdout().contains("\n" + o.name() + " = "), o.name() + " shown");
        }
    }

    @Test
    void badValuesFailBeforeAnythingRuns() throws Exception {
        Run flag = run("config", "show", "--config", "/dev/null", "--io-engine", "fast");
        assertEquals(1, flag.exitCode());
        assertEquals("d4: error: invalid value \"fast\" for io.engine (from flag --io-engine): expected one of io_uring,"
                + " filechannel", flag.stderr().trim());
        Path file = Files.writeString(dir.resolve("bad.toml"), "[mount]\nfuse_threads = 0\n");
        Run mount = run("mount", "--config", file.toString(), dir.toString());
        assertEquals(1, mount.exitCode());
        assertTrue(mount.stderr().contains("invalid value 0 for mount.fuse_threads (from file " + file + " line 2)"),
                mount.stderr());
        Run format = run("format", "--config", dir.resolve("none.toml").toString(), "--data-dir", dir.toString());
        assertEquals(1, format.exitCode());
        assertTrue(format.stderr().contains("cannot read configuration file"), format.stderr());
        Run umount = run("umount", "--config", file.toString(), dir.toString());
        assertEquals(1, umount.exitCode());
        assertTrue(umount.stderr().contains("for mount.fuse_threads"), "every command checks the whole file: " + umount.stderr());
    }

    @Test
    void mountChecksItsUserBeforeMounting() throws Exception {
        Run r = run("mount", "--config", "/dev/null", "--user", "no-such-user-d4", dir.toString());
        assertEquals(1, r.exitCode());
        assertTrue(r.stderr().contains("unknown user \"no-such-user-d4\" for mount.user (from flag --user)"), r.stderr());
        Run g = run("mount", "--config", "/dev/null", "--group", "nogroup", dir.toString());
        assertEquals(1, g.exitCode());
        assertTrue(g.stderr().contains("mount.group (from flag --group) is set but mount.user is not"), g.stderr());
    }

    @Test
    void defaultsAndReferenceArePrinted() {
        Run d = run("config", "show", "--defaults");
        assertEquals(0, d.exitCode(), d.stderr());
        assertTrue(d.stdout().contains("[io]\n") && d.stdout().contains("engine = \"io_uring\"\n"), d.stdout());
        Run ref = run("config", "reference");
        assertEquals(0, ref.exitCode(), ref.stderr());
        assertTrue(ref.stdout().contains("#### `io.engine`"), ref.stdout());
    }

    @Test
    void helpListsTheOptionFlags() {
        Run h = run("help", "mount");
        assertEquals(0, h.exitCode());
        for (String flag : List.of("--io-engine", "--data-dir", "--user", "--group", "--fuse-threads", "--config", "-o")) {
            assertTrue(h.stdout().contains(flag), flag + " in " + h.stdout());
        }
        assertTrue(!h.stdout().contains("--set"), "--set is internal");
        Run status = run("help", "status");
        assertTrue(status.stdout().contains("--runtime-dir") && !status.stdout().contains("--io-engine"), status.stdout());
    }
}
