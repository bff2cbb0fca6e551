package d4.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PrivilegeDropTest {
    @Test
    void usersAndGroupsByNameOrNumber() {
        PrivilegeDrop.Identity root = PrivilegeDrop.resolve("root", "", "u", "g");
        assertEquals(new PrivilegeDrop.Identity("root", 0, 0), root);
        PrivilegeDrop.Identity byUid = PrivilegeDrop.resolve("0", "", "u", "g");
        assertEquals("root", byUid.userName(), "a numeric uid with a passwd entry gets its name (for initgroups)");
        assertEquals(0, PrivilegeDrop.resolve("root", "0", "u", "g").gid());
        PrivilegeDrop.Identity bare = PrivilegeDrop.resolve("4242", "4343", "u", "g");
        assertEquals(new PrivilegeDrop.Identity(null, 4242, 4343), bare, "ids without entries are fine with a group");
        CommandFailure noGroup = assertThrows(CommandFailure.class, () -> PrivilegeDrop.resolve("4242", "", "mount.user (x)", "g"));
        assertTrue(noGroup.getMessage().contains("give the group too"), noGroup.getMessage());
        CommandFailure unknown = assertThrows(CommandFailure.class,
                () -> PrivilegeDrop.resolve("no-such-user-d4", "", "mount.user (from flag --user)", "g"));
        assertTrue(unknown.getMessage().startsWith("unknown user \"no-such-user-d4\" for mount.user (from flag --user)"),
                unknown.getMessage());
        CommandFailure unknownGroup = assertThrows(CommandFailure.class,
                () -> PrivilegeDrop.resolve("root", "no-such-group-d4", "u", "mount.group (from env D4_MOUNT_GROUP)"));
        assertTrue(unknownGroup.getMessage().contains("for mount.group (from env D4_MOUNT_GROUP)"), unknownGroup.getMessage());
        assertThrows(CommandFailure.class, () -> PrivilegeDrop.resolve("4294967295", "1", "u", "g"), "(uid_t) -1 is no uid");
    }

    @Test
    void ioWorkersAreRecognisedByTheirFlags() {
        // /proc/TID/stat: pid (comm) state ppid pgrp session tty tpgid flags ...
        assertTrue(PrivilegeDrop.isIoWorker("16857 (iou-wrk-16856) S 1 16833 16833 0 -1 2164752 0 0"));
        assertFalse(PrivilegeDrop.isIoWorker("16858 (d4-fuse-0) S 1 16833 16833 0 -1 1077936192 0 0"));
        assertFalse(PrivilegeDrop.isIoWorker("16859 (a (b) c) S 1 1 1 0 -1 4194560 0 0"), "comm may hold parentheses");
    }

    /**
     * Drops a separate JVM (this one must stay root) with several threads running to nobody and checks
     * that /proc/self/task/* all show nobody: glibc's setxid broadcast reaches every JVM thread.
     */
    @Test
    void theDropReachesEveryThreadOfAJvm() throws Exception {
        assumeTrue(Posix.getuid() == 0, "needs root");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-cp");
        cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        cmd.add(Probe.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("threads checked: "), out);
        assertTrue(out.contains("wrong: []"), out);
    }

    /** The child JVM of {@link #theDropReachesEveryThreadOfAJvm}. */
    public static final class Probe {
        public static void main(String[] args) throws Exception {
            CountDownLatch done = new CountDownLatch(1);
            for (int i = 0; i < 6; i++) {
                Thread.ofPlatform().name("probe-" + i).daemon(true).start(() -> {
                    try {
                        done.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            }
            PrivilegeDrop.Identity nobody = PrivilegeDrop.resolve("nobody", "", "u", "g");
            PrivilegeDrop.apply(nobody);
            PrivilegeDrop.Threads threads = PrivilegeDrop.check(nobody);
            long tasks;
            try (var s = java.nio.file.Files.list(Path.of("/proc/self/task"))) {
                tasks = s.count();
            }
            System.out.println("threads checked: " + tasks);
            System.out.println("wrong: " + threads.wrong());
            System.out.println("uid now: " + Posix.getuid());
            // No way back: setuid(0) must fail now.
            try {
                PrivilegeDrop.apply(new PrivilegeDrop.Identity(null, 0, 0));
                System.out.println("regained root!");
                System.exit(2);
            } catch (IllegalStateException expected) {
                System.out.println("cannot regain root: " + expected.getMessage());
            }
            done.countDown();
            System.exit(threads.wrong().isEmpty() && Posix.getuid() == nobody.uid() ? 0 : 1);
        }
    }
}
