package d4.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * d4 mount --user: the daemon mounts as root, then runs every thread as the user; I/O through the
 * mount, d4 status and d4 umount keep working.
 */
@Timeout(300)
class PrivilegeDropIT {
    /** PF_IO_WORKER in /proc/TID/stat's flags: an io_uring kernel worker (see docs/operations.md). */
    private static final long PF_IO_WORKER = 0x10;

    @TempDir
    Path base;

    private static String id(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("id"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, "id " + String.join(" ", args) + ": " + out);
        return out;
    }

    @Test
    void theDaemonServesAsNobodyAfterMountingAsRoot() throws Exception {
        assumeTrue(id("-u").equals("0"), "the privilege drop needs root");
        String uid = id("-u", "nobody");
        String gid = id("-g", "nobody");
        String groups = id("-G", "nobody");
        byte[] big = new byte[9 << 20];
        new Random(6).nextBytes(big);
        try (Mount m = new Mount(base, "--user", "nobody").mount()) {
            Path mp = m.mountPoint;
            long pid = m.daemonPid();

            // Every thread of the daemon is nobody, with no capability left.
            List<String> names = new ArrayList<>();
            int ioWorkers = 0;
            try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
                for (Path task : (Iterable<Path>) tasks::iterator) {
                    List<String> status;
                    String stat;
                    try {
                        status = Files.readAllLines(task.resolve("status"));
                        stat = Files.readString(task.resolve("stat"));
                    } catch (NoSuchFileException e) {
                        continue; // the thread ended meanwhile
                    }
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    if ((Long.parseLong(f[6]) & PF_IO_WORKER) != 0) {
                        ioWorkers++; // the kernel's, created before the drop; they run requests with the submitter's credentials
                        continue;
                    }
                    String name = field(status, "Name:");
                    names.add(name);
                    String what = "thread " + task.getFileName() + " (" + name + ")";
                    assertEquals(String.join("\t", uid, uid, uid, uid), field(status, "Uid:"), what + " Uid");
                    assertEquals(String.join("\t", gid, gid, gid, gid), field(status, "Gid:"), what + " Gid");
                    assertEquals(sorted(groups), sorted(field(status, "Groups:")), what + " supplementary groups");
                    assertTrue(field(status, "CapEff:").chars().allMatch(c -> c == '0'), what + " has no capability");
                }
            }
            assertTrue(names.size() > 10 && names.stream().anyMatch(n -> n.startsWith("d4-fuse-")), "checked " + names);
            String log = m.log();
            assertTrue(log.contains("now running as nobody (uid " + uid + ", gid " + gid + ")"), log);
            assertTrue(ioWorkers == 0 || log.contains("io_uring kernel worker"), "io workers are reported: " + log);

            // Root reads and writes through the mount as before.
            Files.writeString(mp.resolve("hello"), "written as root");
            assertEquals("written as root", Files.readString(mp.resolve("hello")));
            Files.createDirectories(mp.resolve("dir/sub"));
            Files.write(mp.resolve("dir/sub/big"), big);
            try (FileChannel ch = FileChannel.open(mp.resolve("dir/sub/big"), StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap("patched".getBytes(StandardCharsets.UTF_8)), 5 << 20);
                ch.force(true);
            }
            System.arraycopy("patched".getBytes(StandardCharsets.UTF_8), 0, big, 5 << 20, 7);
            assertArrayEquals(big, Files.readAllBytes(mp.resolve("dir/sub/big")));
            Files.move(mp.resolve("hello"), mp.resolve("dir/hello"));
            Files.setPosixFilePermissions(mp.resolve("dir/hello"), PosixFilePermissions.fromString("rw-------"));
            Files.setAttribute(mp.resolve("dir/hello"), "unix:uid", 4321);
            assertEquals(4321, Files.getAttribute(mp.resolve("dir/hello"), "unix:uid"));
            assertEquals("written as root", Files.readString(mp.resolve("dir/hello")), "root reads a 0600 file of uid 4321");

            assertTrue(m.statusJson().contains("\"pool\":\"default\""), "d4 status reaches the daemon");
            m.umount();
            assertFalse(m.isMounted());
            Optional<ProcessHandle> daemon = ProcessHandle.of(pid);
            assertTrue(daemon.isEmpty() || !daemon.get().isAlive(), "the daemon exited");
            try (Stream<Path> run = Files.list(m.cli.runtimeDir())) {
                assertEquals(List.of(), run.filter(p -> p.toString().endsWith(".sock")).toList(),
                        "d4 umount removed the socket the daemon could not");
            }
            assertTrue(m.log().contains("pool default closed cleanly"), m.log());
        }
        // Everything was made durable: a mount without --user reads it back.
        try (Mount m = new Mount(base).mount()) {
            assertEquals("written as root", Files.readString(m.mountPoint.resolve("dir/hello")));
            assertArrayEquals(big, Files.readAllBytes(m.mountPoint.resolve("dir/sub/big")));
            m.umount();
        }
    }

    @Test
    void anUnknownUserOrGroupFailsBeforeMounting() throws Exception {
        try (Mount m = new Mount(base)) {
            D4Cli.Result user = m.cli.run("mount", "--data-dir", m.dataDir.toString(), "--user", "no-such-user-d4",
                    m.mountPoint.toString());
            assertEquals(1, user.exitCode(), user.all());
            assertTrue(user.stderr().contains("unknown user \"no-such-user-d4\" for mount.user (from flag --user)"),
                    user.stderr());
            assertFalse(m.isMounted());
            assertFalse(Files.exists(m.dataDir.resolve("registry.db")), "nothing was created");

            D4Cli.Result group = m.cli.run("mount", "--data-dir", m.dataDir.toString(), "--user", "nobody", "--group",
                    "no-such-group-d4", m.mountPoint.toString());
            assertEquals(1, group.exitCode(), group.all());
            assertTrue(group.stderr().contains("unknown group \"no-such-group-d4\" for mount.group (from flag --group)"),
                    group.stderr());
            assertFalse(m.isMounted());
        }
    }

    private static List<String> sorted(String ids) {
        return Stream.of(ids.trim().split("\\s+")).sorted().toList();
    }

    private static String field(List<String> status, String prefix) {
        for (String line : status) {
            if (line.startsWith(prefix)) {
                return line.substring(prefix.length()).trim();
            }
        }
        return "";
    }
}
