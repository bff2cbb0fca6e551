package d4.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The io engine of a real daemon: io_uring rings and a pinned ring thread, or the forced FileChannel drive. */
@Timeout(300)
class IoEngineIT {
    @TempDir
    Path base;

    @Test
    void ioUringDaemonHoldsRingsAndPinsItsRingThread() throws Exception {
        try (Mount m = new Mount(base, "--io-engine", "io_uring").mount()) {
            assertTrue(m.statusJson().contains("\"io_engine\":\"io_uring\""));
            long pid = m.daemonPid();
            assertTrue(ringFds(pid) > 0, "the daemon holds io_uring file descriptors");
            assertTrue(pinnedRingThreads(pid) > 0, "a d4-ring thread is pinned to a single CPU");
            Files.writeString(m.mountPoint.resolve("f"), "through io_uring");
            m.umount();
            m.mount();
            assertEquals("through io_uring", Files.readString(m.mountPoint.resolve("f")));
            m.umount();
        }
    }

    @Test
    void filechannelCanBeForcedByFlagOrEnvironment() throws Exception {
        try (Mount m = new Mount(base, "--io-engine", "filechannel").mount()) {
            assertTrue(m.statusJson().contains("\"io_engine\":\"filechannel\""));
            assertEquals(0, ringFds(m.daemonPid()), "no io_uring in a filechannel daemon");
            Files.writeString(m.mountPoint.resolve("f"), "through FileChannel");
            m.umount();
        }
        try (Mount m = new Mount(base.resolve("bad"), "--io-engine", "aio")) {
            D4Cli.Result r = m.cli.run("mount", "--data-dir", m.dataDir.toString(), "--io-engine", "aio", m.mountPoint.toString());
            assertEquals(1, r.exitCode());
            assertTrue(r.stderr().contains("invalid value \"aio\" for io.engine (from flag --io-engine)"), r.stderr());
            assertFalse(m.isMounted());
        }
    }

    static long ringFds(long pid) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().contains("io_uring");
                } catch (IOException e) {
                    return false;
                }
            }).count();
        }
    }

    static long pinnedRingThreads(long pid) throws IOException {
        long n = 0;
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                if (!Files.readString(task.resolve("comm")).startsWith("d4-ring")) {
                    continue;
                }
                String allowed = Files.readString(task.resolve("status")).lines()
                        .filter(l -> l.startsWith("Cpus_allowed_list:")).findFirst().orElse("").split(":")[1].trim();
                if (allowed.matches("\\d+")) {
                    n++;
                }
            }
        }
        return n;
    }
}
