package d4.cli;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.Function;

/**
 * The daemon's control socket: a Unix socket in the runtime dir, named after the mount point, that
 * answers one-line requests ("status json", "status text", "sync") with text. It is how
 * {@code d4 status} and {@code d4 umount} reach the daemon serving a mount point.
 */
final class ControlSocket implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("d4.cli");
    private final Path path;
    private final ServerSocketChannel server;
    private final Thread acceptor;

    private ControlSocket(Path path, ServerSocketChannel server, Function<String, String> handler) {
        this.path = path;
        this.server = server;
        this.acceptor = Thread.ofPlatform().name("d4-control").daemon(true).start(() -> serve(handler));
    }

    /** The socket path for a mount point: a hash keeps it under the 108-byte limit of sun_path. */
    static Path pathFor(Path runtimeDir, Path mountPoint) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(mountPoint.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8));
            return runtimeDir.resolve("m-" + HexFormat.of().formatHex(digest, 0, 8) + ".sock");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    static ControlSocket listen(Path socketPath, Function<String, String> handler) throws IOException {
        Files.createDirectories(socketPath.getParent(),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        // A socket file left by a daemon that was killed: nobody answers on it, so it is safe to replace.
        if (Files.exists(socketPath) && request(socketPath, "ping") == null) {
            Files.delete(socketPath);
        }
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socketPath));
        Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
        return new ControlSocket(socketPath, server, handler);
    }

    private void serve(Function<String, String> handler) {
        while (server.isOpen()) {
            try (SocketChannel client = server.accept()) {
                String request = readAll(client).trim();
                String reply;
                try {
                    reply = handler.apply(request);
                } catch (RuntimeException | LinkageError e) {
                    // Never let one request end the control thread: status and umount depend on it.
                    LOG.log(System.Logger.Level.ERROR, "control request '" + request + "' failed", e);
                    reply = "error " + e.getMessage();
                }
                client.write(ByteBuffer.wrap(reply.getBytes(StandardCharsets.UTF_8)));
            } catch (IOException e) {
                if (server.isOpen()) {
                    LOG.log(System.Logger.Level.WARNING, "control socket: " + e.getMessage());
                }
            }
        }
    }

    private static String readAll(SocketChannel ch) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        StringBuilder out = new StringBuilder();
        while (ch.read(buf) > 0) {
            buf.flip();
            out.append(StandardCharsets.UTF_8.decode(buf));
            buf.clear();
            if (out.indexOf("\n") >= 0) {
                break;
            }
        }
        return out.toString();
    }

    /** Sends one request and returns the reply, or null when no daemon answers at that path. */
    static String request(Path socketPath, String request) {
        if (!Files.exists(socketPath)) {
            return null;
        }
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socketPath))) {
            ch.write(ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8)));
            ch.shutdownOutput();
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            StringBuilder out = new StringBuilder();
            while (ch.read(buf) >= 0) {
                buf.flip();
                out.append(StandardCharsets.UTF_8.decode(buf));
                buf.clear();
            }
            return out.toString();
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        try {
            Files.deleteIfExists(path);
        } catch (AccessDeniedException e) {
            // A daemon that dropped privileges cannot remove what root created in the runtime dir;
            // d4 umount (as root) removes it once the daemon has exited, and so does the next listen.
            LOG.log(System.Logger.Level.DEBUG, "cannot remove " + path + " after the privilege drop; d4 umount will");
        }
        try {
            acceptor.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
