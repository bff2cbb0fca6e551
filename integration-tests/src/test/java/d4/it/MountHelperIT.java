package d4.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * d4 install --prefix, then mounts through what it installed: the helper run as mount(8) runs it,
 * and (as root, when /sbin/mount.fuse.d4 is free) a real {@code mount -t fuse.d4} and a real fstab
 * line ({@code mount --fstab FILE MOUNTPOINT}) with the helper placed in /sbin for the test.
 */
@Timeout(600)
class MountHelperIT {
    @TempDir
    Path base;

    record Run(int exitCode, String output) {}

    private static Run run(Path cwd, String... cmd) throws IOException, InterruptedException {
        // Output to a file, not a pipe: a daemon started by the helper must not hold our pipe open.
        Path out = Files.createTempFile("d4-helper-it", ".txt");
        try {
            Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(out.toFile()).start();
            if (!p.waitFor(180, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(String.join(" ", cmd) + " did not finish within 180 s: " + Files.readString(out));
            }
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private Path install() throws IOException, InterruptedException {
        Path prefix = base.resolve("prefix");
        D4Cli cli = new D4Cli(Files.createDirectories(base.resolve("install-run")));
        D4Cli.Result r = cli.run("install", "--prefix", prefix.toString());
        assertEquals(0, r.exitCode(), r.all());
        for (String f : List.of("sbin/d4", "sbin/mount.fuse.d4", "etc/systemd/system/d4@.service",
                "usr/local/lib/d4/d4-cli.jar", "usr/local/lib/d4/lib/picocli-4.7.7.jar")) {
            assertTrue(Files.isRegularFile(prefix.resolve(f)), f + " installed: " + r.all());
            assertTrue(r.stdout().contains(prefix.resolve(f.startsWith("usr/local/lib/d4/lib") ? "usr/local/lib/d4/lib" : f)
                    .toString()), "says what it installed: " + r.stdout());
        }
        assertTrue(Files.isExecutable(prefix.resolve("sbin/mount.fuse.d4")));
        assertEquals(Path.of("mount.fuse.d4"), Files.readSymbolicLink(prefix.resolve("sbin/mount.d4")));
        // Installing again replaces everything in place.
        D4Cli.Result again = cli.run("install", "--prefix", prefix.toString());
        assertEquals(0, again.exitCode(), again.all());
        return prefix;
    }

    private static String[] helperArgs(String helper, Mount m, String pool, String extraOptions) {
        return new String[] {helper, pool, m.mountPoint.toString(), "-o",
            "rw,data_dir=" + m.dataDir + ",runtime_dir=" + m.cli.runtimeDir() + ",nofail,_netdev,x-systemd.after=foo.service"
                    + extraOptions};
    }

    @Test
    void theInstalledHelperMountsAsMountWouldRunIt() throws Exception {
        Path prefix = install();
        Path helper = prefix.resolve("sbin/mount.fuse.d4");
        try (Mount m = new Mount(base.resolve("m1"))) {
            // The installed launcher runs d4 from the installed jar.
            Run version = run(base, prefix.resolve("sbin/d4").toString(), "--version");
            assertEquals(0, version.exitCode(), version.output());
            assertTrue(version.output().startsWith("d4 "), version.output());

            Run fake = run(base, helper.toString(), "default", m.mountPoint.toString(), "-f", "-o", "data_dir=/x,allow_other");
            assertEquals(0, fake.exitCode(), fake.output());
            assertTrue(fake.output().contains("would run: d4 mount --pool default --data-dir /x -o allow_other"), fake.output());
            assertFalse(m.isMounted());

            Run bad = run(base, helper.toString(), "/dev/sdz", m.mountPoint.toString());
            assertEquals(1, bad.exitCode(), bad.output());
            assertTrue(bad.output().contains("must be a pool name"), bad.output());

            Run mounted = run(base, helperArgs(helper.toString(), m, "default", ",fuse_threads=3"));
            assertEquals(0, mounted.exitCode(), mounted.output() + m.log());
            assertTrue(m.isMounted());
            String status = m.statusJson(); // also lets Mount.close kill the daemon if the test fails
            assertTrue(status.contains("\"pool\":\"default\""), status);
            Files.writeString(m.mountPoint.resolve("hello"), "through the helper");
            assertEquals("through the helper", Files.readString(m.mountPoint.resolve("hello")));

            Run twice = run(base, helperArgs(helper.toString(), m, "default", ""));
            assertEquals(32, twice.exitCode(), "mount(8)'s status for a failed mount: " + twice.output());
            assertTrue(twice.output().contains("already a d4 mount"), twice.output());

            m.umount();
            assertFalse(m.isMounted());
        }
    }

    @Test
    void realMountAndFstabThroughTheHelperInSbin() throws Exception {
        assumeTrue(run(base, "id", "-u").output().trim().equals("0"), "placing a helper in /sbin needs root");
        Path sbinHelper = Path.of("/sbin/mount.fuse.d4");
        assumeTrue(!Files.exists(sbinHelper, LinkOption.NOFOLLOW_LINKS),
                "/sbin/mount.fuse.d4 already exists (d4 is installed here): not replacing it for a test");
        Path prefix = install();
        String ours = Files.readString(prefix.resolve("sbin/mount.fuse.d4"));
        List<Mount> mounts = new ArrayList<>();
        try {
            Files.copy(prefix.resolve("sbin/mount.fuse.d4"), sbinHelper);
            Files.setPosixFilePermissions(sbinHelper, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));

            // mount -t fuse.d4 POOL MOUNTPOINT -o ...
            Mount m = new Mount(base.resolve("m2"));
            mounts.add(m);
            List<String> cmd = new ArrayList<>(List.of("mount", "-t"));
            cmd.addAll(List.of(helperArgs("fuse.d4", m, "default", ",allow_other")));
            Run r = run(base, cmd.toArray(String[]::new));
            assertEquals(0, r.exitCode(), r.output() + m.log());
            assertTrue(m.isMounted());
            m.statusJson();
            Files.writeString(m.mountPoint.resolve("f"), "via mount -t fuse.d4");
            assertEquals("via mount -t fuse.d4", Files.readString(m.mountPoint.resolve("f")));
            Run findmnt = run(base, "findmnt", "-n", "-o", "SOURCE,FSTYPE", m.mountPoint.toString());
            assertEquals("d4:default fuse.d4", findmnt.output().trim().replaceAll("\\s+", " "), findmnt.output());
            m.umount();

            // An fstab line (mount --fstab FILE MOUNTPOINT reads it as mount -a would read /etc/fstab).
            Mount f = new Mount(base.resolve("m3"));
            mounts.add(f);
            Path fstab = base.resolve("fstab");
            Files.writeString(fstab, "# d4 test\nd4:default  " + f.mountPoint + "  fuse.d4  defaults,noauto,nofail,_netdev,"
                    + "x-systemd.requires-mounts-for=/var,data_dir=" + f.dataDir + ",runtime_dir=" + f.cli.runtimeDir()
                    + "  0  0\n");
            Run viaFstab = run(base, "mount", "--fstab", fstab.toString(), f.mountPoint.toString());
            assertEquals(0, viaFstab.exitCode(), viaFstab.output() + f.log());
            assertTrue(f.isMounted());
            f.statusJson();
            Files.writeString(f.mountPoint.resolve("g"), "via fstab");
            assertEquals("via fstab", Files.readString(f.mountPoint.resolve("g")));
            f.umount();
        } finally {
            try {
                for (Mount m : mounts) {
                    m.close();
                }
            } finally {
                if (Files.exists(sbinHelper) && Files.readString(sbinHelper).equals(ours)) {
                    Files.delete(sbinHelper);
                }
            }
        }
    }
}
