package d4.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A tmpfs of a given size mounted for one test (the tests run as root, here and in CI): a host file
 * system that fills up on demand. Closing unmounts it (lazily, so a file a failed test left open
 * does not keep it).
 */
public final class Tmpfs implements AutoCloseable {
    private final Path path;

    private Tmpfs(Path path) {
        this.path = path;
    }

    /** Mounts a tmpfs of {@code size} (mount(8)'s form: "1m", "48m") on a new directory in {@code dir}. */
    public static Tmpfs mount(Path dir, String size) throws IOException, InterruptedException {
        Path mnt = Files.createTempDirectory(dir, "tmpfs-");
        run("mount a " + size + " tmpfs (the tests run as root)", "mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs",
                mnt.toString());
        return new Tmpfs(mnt);
    }

    public Path path() {
        return path;
    }

    /** Gives the mounted tmpfs a new size (a full host that grows). */
    public void resize(String size) throws IOException, InterruptedException {
        run("resize the tmpfs to " + size, "mount", "-o", "remount,size=" + size, path.toString());
    }

    @Override
    public void close() throws IOException {
        try {
            run("unmount the tmpfs", "umount", "-l", path.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while unmounting the tmpfs at " + path, e);
        }
    }

    private static void run(String what, String... cmd) throws IOException, InterruptedException {
        int rc = new ProcessBuilder(cmd).inheritIO().start().waitFor();
        if (rc != 0) {
            throw new IllegalStateException("could not " + what + ": " + String.join(" ", cmd) + " exited with " + rc);
        }
    }
}
