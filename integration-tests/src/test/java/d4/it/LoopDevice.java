package d4.it;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A loop device over a file, attached with {@code losetup -f --show} and detached by {@link #close()}
 * (idempotent), so a test can put d4 volumes on real block devices and never leaves one attached.
 */
final class LoopDevice implements AutoCloseable {
    final Path file;
    final Path device;
    private boolean attached = true;

    private LoopDevice(Path file, Path device) {
        this.file = file;
        this.device = device;
    }

    /** Why loop devices cannot be used here, or null when they can (root, losetup, a free device). */
    static String unavailable() throws IOException, InterruptedException {
        if (!run("id", "-u").output().trim().equals("0")) {
            return "loop devices need root";
        }
        Result r = run("losetup", "-f");
        if (r.exitCode() != 0) {
            return "losetup -f failed (no losetup, or no loop devices in this container): " + r.output();
        }
        return null;
    }

    /** Creates a sparse file of {@code bytes} at {@code file} when it does not exist, and attaches it. */
    static LoopDevice attach(Path file, long bytes) throws IOException, InterruptedException {
        if (!Files.exists(file)) {
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
                f.setLength(bytes);
            }
        }
        return attach(file);
    }

    static LoopDevice attach(Path file) throws IOException, InterruptedException {
        Result r = run("losetup", "-f", "--show", file.toString());
        if (r.exitCode() != 0) {
            throw new IOException("losetup -f --show " + file + " failed: " + r.output());
        }
        return new LoopDevice(file, Path.of(r.output().trim()));
    }

    @Override
    public void close() throws IOException {
        detach();
    }

    /** losetup -d (once; later calls and close do nothing). */
    void detach() throws IOException {
        if (!attached) {
            return;
        }
        try {
            Result r = run("losetup", "-d", device.toString());
            if (r.exitCode() != 0) {
                throw new IOException("losetup -d " + device + " failed: " + r.output());
            }
            attached = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while detaching " + device, e);
        }
    }

    @Override
    public String toString() {
        return device + " (" + file + ")";
    }

    record Result(int exitCode, String output) {}

    /** Runs a command with its output in a file (never a pipe a daemon could hold open). */
    static Result run(String... cmd) throws IOException, InterruptedException {
        Path out = Files.createTempFile("d4-it-cmd", ".txt");
        try {
            Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(out.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish within 120 s");
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Result(127, cmd[0] + ": " + e.getMessage());
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
