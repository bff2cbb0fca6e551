package d4.cli.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Every option of d4, each defined once. The TOML file, the environment variables, the flags,
 * {@code d4 config show}, the commented defaults file and the reference in docs/operations.md are
 * all made from this table.
 */
public final class Options {
    private Options() {}

    public static final Option DATA_DIR = new Option("data", "dir", new Type.FilePath(false),
            new Option.Computed("/var/lib/d4 as root, else $XDG_DATA_HOME/d4 (~/.local/share/d4)", Options::defaultDataDir),
            "",
            "Where d4 keeps its registry of pools (registry.db), the default pool's volume file (volumes/) and the"
                    + " logs of daemonized mounts (log/).",
            List.of("--data-dir"), Set.of("mount", "format", "fsck", "volume list", "volume add", "volume remove",
                    "volume forget"));

    public static final Option RUNTIME_DIR = new Option("runtime", "dir", new Type.FilePath(false),
            new Option.Computed("/run/d4 as root, else $XDG_RUNTIME_DIR/d4, else /tmp/d4-UID", Options::defaultRuntimeDir),
            "",
            "Where daemons put their control sockets, one per mount point. d4 status and d4 umount look for the"
                    + " daemon there, so they must see the same value as the d4 mount that started it.",
            List.of("--runtime-dir"), Set.of("mount", "umount", "status", "scrub"));

    public static final Option IO_ENGINE = new Option("io", "engine", new Type.Choice(List.of("io_uring", "filechannel")),
            new Option.Fixed("io_uring"), "",
            "How the daemon reads and writes its volumes. io_uring: one ring per volume, O_DIRECT; where io_uring"
                    + " cannot be set up (no liburing, disabled by the kernel or seccomp) d4 says so once in its log"
                    + " and uses filechannel. filechannel: Java's FileChannel, the portable drive.",
            List.of("--io-engine"), Set.of("mount", "fsck", "volume add", "volume remove"));

    public static final Option COMMIT_INTERVAL = new Option("pool", "commit_interval", new Type.Int(1, 3600),
            new Option.Fixed(5L), "seconds",
            "How often the background flusher makes committed changes durable without an fsync (as ext4's commit="
                    + " option). A crash loses at most this much of what was not fsynced.",
            List.of("--commit-interval"), Set.of("mount"));

    public static final Option METADATA_CACHE = new Option("pool", "metadata_cache", new Type.Size(1L << 20),
            new Option.Fixed(64L << 20), "bytes",
            "The bound of the metadata page cache: pages of the pool's B+tree (inodes, directory entries, extents)"
                    + " kept in memory after a read. A stat or lookup that misses it reads a few 4 KiB pages from the"
                    + " volumes. Pages changed since the last checkpoint are held besides (up to 16 MiB).",
            List.of("--metadata-cache"), Set.of("mount", "fsck"));

    public static final Option DEFAULT_VOLUME_SIZE = new Option("pool", "default_volume_size", new Type.Size(64L << 20),
            new Option.Fixed(64L << 30), "bytes",
            "The size of the volume file created for a pool formatted without --volume (the default pool on its"
                    + " first mount, or d4 format without --volume). The file is sparse; the size is capped at 90% of"
                    + " the free space of the file system holding the data dir.",
            List.of(), Set.of());

    public static final Option FOREGROUND = new Option("mount", "foreground", new Type.Bool(),
            new Option.Fixed(false), "",
            "Keep d4 mount in the foreground, logging to stderr, until the mount goes away (for systemd"
                    + " Type=simple units and debugging). Otherwise d4 mount starts a daemon, waits until the mount"
                    + " answers and returns.",
            List.of("--foreground", "-f"), Set.of("mount"));

    public static final Option FUSE_OPTIONS = new Option("mount", "options", new Type.TextList(),
            new Option.Fixed(List.of()), "",
            "FUSE mount options added to the ones d4 always uses (docs/architecture.md), e.g. allow_other (which"
                    + " needs user_allow_other in /etc/fuse.conf when not mounting as root).",
            List.of("-o"), Set.of("mount"));

    public static final Option FUSE_THREADS = new Option("mount", "fuse_threads", new Type.Int(1, 64),
            new Option.Fixed(8L), "threads",
            "How many threads serve FUSE requests.",
            List.of("--fuse-threads"), Set.of("mount"));

    public static final Option START_TIMEOUT = new Option("mount", "start_timeout", new Type.Int(1, 86_400),
            new Option.Fixed(120L), "seconds",
            "How long d4 mount waits for a new daemon's mount to answer before it stops the daemon and fails.",
            List.of("--start-timeout"), Set.of("mount"));

    public static final Option USER = new Option("mount", "user", new Type.Text(),
            new Option.Fixed(""), "",
            "The user (name or numeric uid) the daemon runs as once the mount is made: it opens /dev/fuse, its"
                    + " volumes, its log and its control socket as root, then sets its supplementary groups, gid and"
                    + " uid for every thread. Empty: keep running as the user who mounted. Needs d4 mount to run as"
                    + " root.",
            List.of("--user"), Set.of("mount"));

    public static final Option GROUP = new Option("mount", "group", new Type.Text(),
            new Option.Fixed(""), "",
            "The group (name or numeric gid) for mount.user. Empty: the user's primary group. Only with mount.user.",
            List.of("--group"), Set.of("mount"));

    public static final Option LOG_LEVEL = new Option("log", "level",
            new Type.Choice(List.of("severe", "warning", "info", "fine", "finer", "finest")),
            new Option.Fixed("info"), "",
            "The least important events logged: severe (errors only), warning, info, fine (details), finer, finest.",
            List.of("--log-level"), Set.of("mount", "format", "umount", "status", "fsck", "scrub", "volume list",
                    "volume add", "volume remove", "volume forget"));

    public static final Option LOG_FILE = new Option("log", "file", new Type.FilePath(true),
            new Option.Fixed(Optional.empty()), "",
            "Where a daemonized mount writes its log (appending). Empty: DATA_DIR/log/POOL.log. In the foreground"
                    + " d4 logs to stderr.",
            List.of("--log-file"), Set.of("mount"));

    public static final Option METRICS_LISTEN = new Option("metrics", "listen", new Type.Listen(),
            new Option.Fixed(""), "",
            "Serve the daemon's metrics for Prometheus at http://HOST:PORT/metrics. They are the numbers d4 status"
                    + " shows: requests, errors and latency (p50, p99, max) per FUSE operation since the mount, pool"
                    + " capacity and usage, checksum failures, cache hits, io_uring queue depths per volume. Empty: no"
                    + " endpoint (the default). It has no authentication: bind it to 127.0.0.1, or to an address only"
                    + " your monitoring reaches. The daemon"
                    + " opens it before a privilege drop, so a port below 1024 works. d4 sends nothing anywhere by itself.",
            List.of("--metrics-listen"), Set.of("mount"));

    /** Every option, in the order of d4 config show and the reference. */
    public static final List<Option> ALL = List.of(DATA_DIR, RUNTIME_DIR, IO_ENGINE, COMMIT_INTERVAL, METADATA_CACHE,
            DEFAULT_VOLUME_SIZE,
            FOREGROUND, FUSE_OPTIONS, FUSE_THREADS, START_TIMEOUT, USER, GROUP, LOG_LEVEL, LOG_FILE, METRICS_LISTEN);

    /** The sections, in order. */
    public static List<String> sections() {
        return ALL.stream().map(Option::section).distinct().toList();
    }

    public static Optional<Option> find(String section, String key) {
        return ALL.stream().filter(o -> o.section().equals(section) && o.key().equals(key)).findFirst();
    }

    public static Optional<Option> byName(String name) {
        return ALL.stream().filter(o -> o.name().equals(name)).findFirst();
    }

    private static Object defaultDataDir(Host host) {
        if (host.root()) {
            return Optional.of(Path.of("/var/lib/d4"));
        }
        String xdg = host.env("XDG_DATA_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Optional.of(Path.of(xdg, "d4").toAbsolutePath().normalize());
        }
        return Optional.of(Path.of(host.home(), ".local", "share", "d4"));
    }

    private static Object defaultRuntimeDir(Host host) {
        if (host.root()) {
            return Optional.of(Path.of("/run/d4"));
        }
        String xdg = host.env("XDG_RUNTIME_DIR");
        if (xdg != null && !xdg.isBlank()) {
            return Optional.of(Path.of(xdg, "d4").toAbsolutePath().normalize());
        }
        return Optional.of(Path.of("/tmp", "d4-" + host.uid()));
    }
}
