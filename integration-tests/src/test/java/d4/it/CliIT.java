package d4.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The command-line forms admins and scripts depend on, and their errors. */
@Timeout(300)
class CliIT {
    @TempDir
    Path base;

    @Test
    void versionAndHelpListTheVerbs() throws Exception {
        D4Cli cli = new D4Cli(base);
        D4Cli.Result v = cli.run("--version");
        assertEquals(0, v.exitCode());
        assertTrue(v.stdout().startsWith("d4 "), v.stdout());
        D4Cli.Result h = cli.run("--help");
        assertEquals(0, h.exitCode());
        for (String verb : new String[] {"format", "mount", "umount", "status"}) {
            assertTrue(h.stdout().contains(verb), "--help lists " + verb + ": " + h.stdout());
        }
        D4Cli.Result none = cli.run();
        assertEquals(2, none.exitCode(), "no verb is a usage error");
    }

    @Test
    void statusJsonHasTheDocumentedKeys() throws Exception {
        try (Mount m = new Mount(base).mount()) {
            String json = m.statusJson();
            String engine = System.getenv().getOrDefault("D4_IO_ENGINE", "io_uring");
            for (String key : new String[] {"\"pid\":", "\"pool\":\"default\"", "\"volumes\":[", "\"io_engine\":\"" + engine + "\"",
                "\"capacity_bytes\":", "\"used_bytes\":"}) {
                assertTrue(json.contains(key), key + " in " + json);
            }
            assertTrue(json.trim().startsWith("{") && json.trim().endsWith("}"), "one JSON object: " + json);
            D4Cli.Result text = m.cli.run("status", m.mountPoint.toString());
            assertEquals(0, text.exitCode());
            assertTrue(text.stdout().contains("io engine:   " + engine), text.stdout());
            m.umount();
        }
    }

    @Test
    void formatANamedPoolOfTwoVolumesThenMountIt() throws Exception {
        try (Mount m = new Mount(base, "--pool", "tank")) {
            Path v0 = base.resolve("vols/v0.img");
            Path v1 = base.resolve("vols/v1.img");
            D4Cli.Result f = m.cli.run("format", "--data-dir", m.dataDir.toString(), "--pool", "tank", "--volume",
                    v0 + ":128M", "--volume", v1 + ":64M");
            assertEquals(0, f.exitCode(), f.all());
            assertEquals(128L << 20, Files.size(v0));
            D4Cli.Result again = m.cli.run("format", "--data-dir", m.dataDir.toString(), "--pool", "tank", "--volume",
                    base.resolve("vols/v2.img") + ":64M");
            assertEquals(1, again.exitCode(), "a pool name is taken once");
            assertTrue(again.stderr().contains("already exists"), again.stderr());

            m.mount();
            String json = m.statusJson();
            assertTrue(json.contains("\"pool\":\"tank\"") && json.contains("v0.img") && json.contains("v1.img"), json);
            Files.writeString(m.mountPoint.resolve("hello"), "tank");
            m.umount();
            m.mount();
            assertEquals("tank", Files.readString(m.mountPoint.resolve("hello")));
            m.umount();
        }
    }

    @Test
    void clearErrorsForCommonMistakes() throws Exception {
        try (Mount m = new Mount(base)) {
            D4Cli.Result missing = m.cli.run("mount", "--data-dir", m.dataDir.toString(), base.resolve("nope").toString());
            assertEquals(1, missing.exitCode());
            assertTrue(missing.stderr().contains("mkdir -p"), "says what to do: " + missing.stderr());

            D4Cli.Result status = m.cli.run("status", m.mountPoint.toString());
            assertNotEquals(0, status.exitCode());
            assertTrue(status.stderr().contains("no d4 daemon"), status.stderr());

            D4Cli.Result umount = m.cli.run("umount", m.mountPoint.toString());
            assertEquals(1, umount.exitCode());
            assertTrue(umount.stderr().contains("not a d4 mount"), umount.stderr());

            D4Cli.Result noPool = m.cli.run("mount", "--data-dir", m.dataDir.toString(), "--pool", "ghost",
                    m.mountPoint.toString());
            assertEquals(1, noPool.exitCode());
            assertTrue(noPool.stderr().contains("d4 format --pool ghost"), noPool.stderr());
            assertFalse(m.isMounted());

            D4Cli.Result badSize = m.cli.run("format", "--data-dir", m.dataDir.toString(), "--pool", "x", "--volume",
                    base.resolve("x.img") + ":lots");
            assertEquals(1, badSize.exitCode());
            assertTrue(badSize.stderr().contains("invalid size"), badSize.stderr());

            m.mount();
            D4Cli.Result twice = m.cli.run("mount", "--data-dir", m.dataDir.toString(), m.mountPoint.toString());
            assertEquals(1, twice.exitCode());
            assertTrue(twice.stderr().contains("already a d4 mount"), twice.stderr());
            m.umount();
        }
    }

    /**
     * d4 umount run with another runtime dir than the daemon's finds no daemon to ask, unmounts, and
     * says so: the live daemon then closes its pool cleanly, and nothing written is lost.
     */
    @Test
    void umountWithAnotherRuntimeDirNamesItAndLosesNothing() throws Exception {
        try (Mount m = new Mount(base).mount()) {
            long pid = m.daemonPid();
            Files.writeString(m.mountPoint.resolve("kept"), "not fsynced");
            Path otherRuntime = Files.createDirectory(base.resolve("other-runtime"));
            D4Cli.Result r = new D4Cli(otherRuntime).run("umount", m.mountPoint.toString());
            assertEquals(0, r.exitCode(), r.all());
            assertTrue(r.stderr().contains("no daemon answered at " + otherRuntime)
                    && r.stderr().contains("another runtime dir"), r.stderr());
            assertFalse(m.isMounted());
            ProcessHandle daemon = ProcessHandle.of(pid).orElse(null);
            if (daemon != null) {
                daemon.onExit().get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
            m.mount();
            assertEquals("not fsynced", Files.readString(m.mountPoint.resolve("kept")),
                    "the daemon closed its pool cleanly when its mount went");
            m.umount();
        }
    }

    @Test
    void umountOfABusyMountFailsAndKeepsItMounted() throws Exception {
        try (Mount m = new Mount(base).mount()) {
            Files.createDirectory(m.mountPoint.resolve("cwd"));
            Process holder = new ProcessBuilder("sleep", "60").directory(m.mountPoint.resolve("cwd").toFile()).start();
            try {
                D4Cli.Result busy = m.cli.run("umount", m.mountPoint.toString());
                assertEquals(1, busy.exitCode());
                assertTrue(busy.stderr().contains("fuser"), "says how to find the holder: " + busy.stderr());
                assertTrue(m.isMounted());
                assertEquals(0, m.cli.run("status", m.mountPoint.toString()).exitCode(), "still served");
            } finally {
                holder.destroyForcibly().waitFor();
            }
            m.umount();
        }
    }
}
