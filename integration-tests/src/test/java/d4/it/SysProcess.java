package d4.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Another process that makes {@link Sys} calls on request, for what the test's own process cannot
 * show: permission checks as another user (it is started through setpriv with that uid and gid and
 * no supplementary groups; a thread of our JVM cannot switch users on its own) and locks held by
 * another pid (fcntl locks belong to processes).
 *
 * <p>The protocol is one request per line on its stdin, tab-separated ({@code open\t/path\t2\t0}), and
 * one number per line on its stdout: what the call returned, or -errno, exactly as {@link Sys} gives it.
 */
final class SysProcess implements AutoCloseable {
    static final int NOBODY = 65534;

    private final Process process;
    private final Writer requests;
    private final BufferedReader replies;
    private final Path stderr;

    private SysProcess(List<String> prefix) throws IOException {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        // A short-lived helper: start fast, write no hsperfdata file into /tmp as that user.
        cmd.addAll(List.of("-Xshare:auto", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xmx64m"));
        cmd.add("-cp");
        // Only our own classes (Sys and this one): the rest of the test class path may be unreadable to that user.
        cmd.add(Path.of(location()).toString());
        cmd.add(SysProcess.class.getName());
        stderr = Files.createTempFile("d4-sysprocess", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(stderr.toFile());
        pb.environment().put("HOME", "/");
        process = pb.start();
        requests = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        replies = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    private static java.net.URI location() {
        try {
            return SysProcess.class.getProtectionDomain().getCodeSource().getLocation().toURI();
        } catch (java.net.URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /** A helper process running as root, like the test itself (but with its own pid). */
    static SysProcess asRoot() throws IOException {
        return new SysProcess(List.of());
    }

    /** A helper process running as {@code uid}/{@code gid}, without supplementary groups or capabilities. */
    static SysProcess as(int uid, int gid) throws IOException {
        return new SysProcess(List.of("setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--"));
    }

    /** setpriv execs java, so this is the pid that owns the helper's locks. */
    long pid() {
        return process.pid();
    }

    /** Makes one call in the helper; returns its result or -errno. */
    long call(String op, Object... args) {
        StringBuilder line = new StringBuilder(op);
        for (Object a : args) {
            line.append('\t').append(a);
        }
        try {
            requests.write(line.append('\n').toString());
            requests.flush();
            String reply = replies.readLine();
            if (reply == null) {
                throw new AssertionError("the helper process died on '" + line.toString().trim() + "': " + Files.readString(stderr));
            }
            return Long.parseLong(reply);
        } catch (IOException e) {
            throw new AssertionError("talking to the helper process failed", e);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            requests.close(); // end of input: the helper exits, closing its descriptors and releasing its locks
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            Files.deleteIfExists(stderr);
        }
    }

    // ----------------------------------------------------------------------------------------------
    // The helper's side

    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        for (String line; (line = in.readLine()) != null; ) {
            out.println(serve(line.split("\t", -1)));
            out.flush();
        }
    }

    private static long serve(String[] r) {
        return switch (r[0]) {
            case "open" -> Sys.open(r[1], Integer.parseInt(r[2]), Integer.parseInt(r[3]));
            case "close" -> Sys.close(Integer.parseInt(r[1]));
            case "pwrite" -> Sys.pwrite(Integer.parseInt(r[1]), Sys.path(r[2]), Long.parseLong(r[3]));
            case "pread" -> Sys.pread(Integer.parseInt(r[1]), Integer.parseInt(r[2]), Long.parseLong(r[3])).result();
            case "truncate" -> Sys.truncate(r[1], Long.parseLong(r[2]));
            case "mkdir" -> Sys.mkdir(r[1], Integer.parseInt(r[2]));
            case "rmdir" -> Sys.rmdir(r[1]);
            case "unlink" -> Sys.unlink(r[1]);
            case "rename" -> Sys.rename(r[1], r[2]);
            case "link" -> Sys.link(r[1], r[2]);
            case "stat" -> Sys.stat(r[1]).result();
            case "chmod" -> Sys.chmod(r[1], Integer.parseInt(r[2]));
            case "chown" -> Sys.chown(r[1], Integer.parseInt(r[2]), Integer.parseInt(r[3]));
            case "utimens" -> Sys.utimens(r[1], Long.parseLong(r[2]), Long.parseLong(r[3]), Long.parseLong(r[4]),
                    Long.parseLong(r[5]), 0);
            case "access" -> Sys.access(r[1], Integer.parseInt(r[2]));
            case "setxattr" -> Sys.setxattr(r[1], r[2], Sys.path(r[3]), Integer.parseInt(r[4]));
            case "getxattr" -> Sys.getxattr(r[1], r[2], 0).result();
            case "listdir" -> listdir(r[1]);
            case "setlk" -> Sys.fcntlLock(Integer.parseInt(r[1]), Sys.F_SETLK, Integer.parseInt(r[2]), Long.parseLong(r[3]),
                    Long.parseLong(r[4])).result();
            case "flock" -> Sys.flock(Integer.parseInt(r[1]), Integer.parseInt(r[2]));
            default -> throw new IllegalArgumentException("unknown request " + r[0]);
        };
    }

    /** Lists a directory: the number of entries (with "." and ".."), or -errno. */
    private static long listdir(String path) {
        int fd = Sys.open(path, Sys.O_RDONLY | Sys.O_DIRECTORY);
        if (fd < 0) {
            return fd;
        }
        long count = 0;
        try {
            for (Sys.Dirents d; (d = Sys.getdents(fd, 32768)).result() != 0; ) {
                if (d.result() < 0) {
                    return d.result();
                }
                count += d.entries().size();
            }
            return count;
        } finally {
            Sys.close(fd);
        }
    }
}
