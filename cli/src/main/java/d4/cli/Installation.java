package d4.cli;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * What {@code d4 install} puts where, under a prefix ("/" on a real host): the running d4's jar and
 * its libraries, the {@code d4} launcher, mount(8)'s helper and the systemd unit template. Every
 * file is written next to its place and renamed over it, so a daemon running from the old jar keeps
 * its (still open) files and a half-written file is never seen.
 */
final class Installation {
    /** The JVM flags every d4 run needs (jffi and FFM call native code), as the checkout's ./d4 passes them. */
    static final String JVM_FLAGS = "--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow";

    final Path prefix;
    final Path sbin;
    final Path libDir;
    final Path unitDir;
    final Path etcDir;

    Installation(Path prefix) {
        this.prefix = prefix.toAbsolutePath().normalize();
        this.sbin = under("sbin");
        this.libDir = under("usr/local/lib/d4");
        this.unitDir = under("etc/systemd/system");
        this.etcDir = under("etc/d4");
    }

    private Path under(String relative) {
        return prefix.resolve(relative);
    }

    Path launcher() {
        return sbin.resolve("d4");
    }

    Path helper() {
        return sbin.resolve("mount.fuse.d4");
    }

    Path helperAlias() {
        return sbin.resolve("mount.d4");
    }

    Path unit() {
        return unitDir.resolve("d4@.service");
    }

    Path jar() {
        return libDir.resolve("d4-cli.jar");
    }

    /** A jar to copy: from {@code source} to {@code target} under the lib dir. */
    record JarCopy(Path source, Path target) {}

    /**
     * The jars the running d4 needs: its own (the code source of {@link Main}) and every entry of
     * its manifest's Class-Path, found next to it (cli/target/lib/) or, by file name, on the class
     * path (a Maven repository, in tests).
     */
    List<JarCopy> jars() {
        Path self;
        try {
            self = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | RuntimeException e) {
            throw new CommandFailure("cannot tell where this d4 runs from (" + e.getMessage() + "); run d4 install with"
                    + " the checkout's launcher: ./d4 install");
        }
        if (!Files.isRegularFile(self)) {
            throw new CommandFailure("d4 install copies the built d4 jar, but this d4 runs from the classes in " + self
                    + ": build the jar (mvn -B -pl cli -am package) and run ./d4 install");
        }
        List<JarCopy> out = new ArrayList<>();
        out.add(new JarCopy(self, jar()));
        String classPath;
        try (JarFile jf = new JarFile(self.toFile())) {
            Manifest mf = jf.getManifest();
            classPath = mf == null ? null : mf.getMainAttributes().getValue("Class-Path");
        } catch (IOException e) {
            throw new CommandFailure("cannot read " + self + ": " + e.getMessage());
        }
        if (classPath == null || classPath.isBlank()) {
            throw new CommandFailure(self + " has no Class-Path in its manifest: it is not the d4 jar d4 install expects");
        }
        for (String entry : classPath.trim().split("\\s+")) {
            Path target = libDir.resolve(entry).normalize();
            if (!target.startsWith(libDir)) {
                throw new CommandFailure("unexpected Class-Path entry " + entry + " in " + self);
            }
            Path beside = self.getParent().resolve(entry);
            Path source = Files.isRegularFile(beside) ? beside : onClassPath(Path.of(entry).getFileName().toString())
                    .orElseThrow(() -> new CommandFailure("d4 needs " + entry + ", which is neither at " + beside
                            + " nor on the class path: rebuild d4 (mvn -B -pl cli -am package) and run ./d4 install again"));
            out.add(new JarCopy(source, target));
        }
        return out;
    }

    private static Optional<Path> onClassPath(String fileName) {
        for (String e : System.getProperty("java.class.path", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(e);
            if (p.getFileName() != null && p.getFileName().toString().equals(fileName) && Files.isRegularFile(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** The java binary the launcher runs: the one running this install. */
    static Path java() {
        return Path.of(System.getProperty("java.home"), "bin", "java");
    }

    String launcherText(String version) {
        return """
                #!/bin/sh
                # d4 launcher, installed by d4 install ({{VERSION}}). Run d4 install again to upgrade.
                # It runs the Java that d4 install ran with, else $JAVA_HOME/bin/java, else java on PATH
                # (d4 needs Java 25 or newer). D4_JAVA_OPTS adds JVM options, e.g. D4_JAVA_OPTS=-Xmx2g.
                JAVA={{JAVA_BIN}}
                if [ ! -x "$JAVA" ]; then
                    if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
                        JAVA=$JAVA_HOME/bin/java
                    else
                        JAVA=java
                    fi
                fi
                # shellcheck disable=SC2086 # D4_JAVA_OPTS is split into words on purpose
                exec "$JAVA" {{JVM_FLAGS}} ${D4_JAVA_OPTS:-} -jar {{JAR}} "$@"
                """
                .replace("{{VERSION}}", version)
                .replace("{{JAVA_BIN}}", shellQuote(java().toString()))
                .replace("{{JVM_FLAGS}}", JVM_FLAGS)
                .replace("{{JAR}}", shellQuote(jar().toString()));
    }

    String helperText(String version) {
        return """
                #!/bin/sh
                # mount(8)'s helper for d4, installed by d4 install ({{VERSION}}).
                # mount -t fuse.d4 POOL MOUNTPOINT -o OPTIONS, and /etc/fstab lines of type fuse.d4, run
                #   mount.fuse.d4 POOL MOUNTPOINT [-sfnv] [-o OPTIONS]
                # d4 mount-helper translates the options (d4 help mount-helper) and runs d4 mount.
                exec {{LAUNCHER}} mount-helper "$@"
                """
                .replace("{{VERSION}}", version)
                .replace("{{LAUNCHER}}", shellQuote(launcher().toString()));
    }

    String unitText(String version) {
        return """
                # d4@POOL.service: serves the d4 pool POOL, installed by d4 install ({{VERSION}}).
                #
                #   systemctl enable --now d4@tank        # mounts pool tank at /mnt/tank
                #
                # {{ENV_DIR}}/POOL.env (optional) sets the mount point and any d4 option, one per line:
                #   MOUNTPOINT=/srv/tank
                #   D4_DATA_DIR=/var/lib/d4
                #   D4_MOUNT_USER=d4
                #   D4_MOUNT_OPTIONS=allow_other
                # (D4_SECTION_KEY for [section] key; d4 config show lists them). /etc/d4/d4.toml applies too.
                # Stop with systemctl stop d4@POOL: d4 umount makes everything durable and waits for the daemon.
                [Unit]
                Description=d4 pool %i
                After=local-fs.target

                [Service]
                Type=forking
                Environment=MOUNTPOINT=/mnt/%i
                EnvironmentFile=-{{ENV_DIR}}/%i.env
                ExecStartPre=/bin/mkdir -p ${MOUNTPOINT}
                ExecStart={{LAUNCHER}} mount --pool %i ${MOUNTPOINT}
                ExecStop={{LAUNCHER}} umount ${MOUNTPOINT}
                TimeoutStartSec=180
                TimeoutStopSec=180

                [Install]
                WantedBy=multi-user.target
                """
                .replace("{{VERSION}}", version)
                .replace("{{ENV_DIR}}", etcDir.toString())
                .replace("{{LAUNCHER}}", launcher().toString());
    }

    /** Copies {@code source} to {@code target} through a temporary file renamed over it. */
    static void copy(Path source, Path target) throws IOException {
        Path tmp = tmpFor(target);
        Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
        moveInto(tmp, target);
    }

    /** Writes {@code text} to {@code target} (mode {@code mode}, e.g. rwxr-xr-x) through a renamed temporary file. */
    static void write(Path target, String text, String mode) throws IOException {
        Path tmp = tmpFor(target);
        Files.writeString(tmp, text);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString(mode));
        moveInto(tmp, target);
    }

    /** Makes {@code link} a symbolic link to {@code targetName} (relative, in the same directory). */
    static void symlink(Path link, String targetName) throws IOException {
        Path tmp = tmpFor(link);
        Files.deleteIfExists(tmp);
        Files.createSymbolicLink(tmp, Path.of(targetName));
        moveInto(tmp, link);
    }

    private static Path tmpFor(Path target) throws IOException {
        Files.createDirectories(target.getParent());
        return target.resolveSibling("." + target.getFileName() + ".d4-install");
    }

    private static void moveInto(Path tmp, Path target) throws IOException {
        if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new CommandFailure(target + " is a directory: move it away and run d4 install again");
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static String shellQuote(String s) {
        return s.matches("[A-Za-z0-9_./:@%+=-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
    }

    /** "d4 VERSION", to label the installed files. */
    static String version() {
        return "d4 " + versionNumber();
    }

    /** This d4's version ("0.1.0-SNAPSHOT"), or "unknown". */
    static String versionNumber() {
        java.util.Properties p = new java.util.Properties();
        try (InputStream in = Main.class.getResourceAsStream("/d4-version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // the version only labels files and metrics
        }
        return p.getProperty("version", "unknown");
    }
}
