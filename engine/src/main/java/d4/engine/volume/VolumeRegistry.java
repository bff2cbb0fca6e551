package d4.engine.volume;

import d4.engine.D4Exception;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The registry of file-backed volumes: which files make up which pool. Block devices are found by
 * scanning for superblocks; files cannot be, so d4 records them here, in {@code registry.db} in the
 * data dir (SQLite, mode 0600). Metadata never lives here: losing this file loses no data, only the
 * list of volume paths (which {@code d4 format}'s output and the superblocks also name).
 */
public final class VolumeRegistry implements AutoCloseable {
    public static final String FILE_NAME = "registry.db";
    private static final int SCHEMA_VERSION = 1;

    /**
     * A pool as recorded: its name, UUID, and its volumes' paths in index order with their indexes.
     * The indexes are 0, 1, 2, ... as d4 format records them; a record removed with
     * {@link #unregister} leaves a gap.
     */
    public record PoolRecord(String name, UUID uuid, List<Path> volumes, List<Integer> indexes) {
        public PoolRecord {
            volumes = List.copyOf(volumes);
            indexes = List.copyOf(indexes);
            if (volumes.size() != indexes.size()) {
                throw new IllegalArgumentException(volumes.size() + " volume paths but " + indexes.size() + " indexes");
            }
        }

        /** A pool whose volumes are 0, 1, 2, ... in the order given. */
        public PoolRecord(String name, UUID uuid, List<Path> volumes) {
            this(name, uuid, volumes, java.util.stream.IntStream.range(0, volumes.size()).boxed().toList());
        }

        /** The recorded path of volume {@code index}. */
        public Optional<Path> volume(int index) {
            int i = indexes.indexOf(index);
            return i < 0 ? Optional.empty() : Optional.of(volumes.get(i));
        }

        /** The index of the volume recorded at {@code path} (absolute, normalized), or -1. */
        public int indexOf(Path path) {
            int i = volumes.indexOf(path.toAbsolutePath().normalize());
            return i < 0 ? -1 : indexes.get(i);
        }

        /** Whether the recorded indexes are 0 to n-1 without a gap (no record was removed). */
        public boolean contiguous() {
            for (int i = 0; i < indexes.size(); i++) {
                if (indexes.get(i) != i) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * What {@link #unregister} removed.
     *
     * @param index the index the volume had
     * @param poolRemoved whether that was the pool's last volume record, so the pool's record went too
     */
    public record Unregistered(String pool, int index, Path path, boolean poolRemoved) {}

    private final Path file;
    private final Connection db;

    private VolumeRegistry(Path file, Connection db) {
        this.file = file;
        this.db = db;
    }

    /** Opens (creating when needed) the registry in {@code dataDir}. */
    public static VolumeRegistry open(Path dataDir) {
        Path file = dataDir.resolve(FILE_NAME);
        try {
            if (!Files.isDirectory(dataDir)) {
                // The data dir holds volumes and logs: only its owner may look inside.
                Files.createDirectories(dataDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            if (!Files.exists(file)) {
                try {
                    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                } catch (FileAlreadyExistsException raced) {
                    // another d4 process created it first: fine
                }
            }
        } catch (IOException e) {
            throw new D4Exception.PoolUnavailable("cannot create the volume registry " + file + ": " + e.getMessage()
                    + " (choose a writable data dir with --data-dir)", e);
        }
        try {
            Connection db = DriverManager.getConnection("jdbc:sqlite:" + file);
            try (Statement st = db.createStatement()) {
                st.execute("PRAGMA busy_timeout = 5000");
                st.execute("PRAGMA foreign_keys = ON");
                int version;
                try (ResultSet rs = st.executeQuery("PRAGMA user_version")) {
                    version = rs.next() ? rs.getInt(1) : 0;
                }
                if (version == 0) {
                    st.execute("CREATE TABLE IF NOT EXISTS pools (name TEXT PRIMARY KEY, uuid TEXT NOT NULL UNIQUE,"
                            + " created_at INTEGER NOT NULL)");
                    st.execute("CREATE TABLE IF NOT EXISTS volumes (pool_uuid TEXT NOT NULL REFERENCES pools(uuid)"
                            + " ON DELETE CASCADE, idx INTEGER NOT NULL, path TEXT NOT NULL UNIQUE,"
                            + " PRIMARY KEY (pool_uuid, idx))");
                    st.execute("PRAGMA user_version = " + SCHEMA_VERSION);
                } else if (version != SCHEMA_VERSION) {
                    db.close();
                    throw new D4Exception.PoolUnavailable("volume registry " + file + " has schema version " + version
                            + "; this d4 knows version " + SCHEMA_VERSION + ": use the matching d4 release");
                }
            }
            return new VolumeRegistry(file, db);
        } catch (SQLException e) {
            throw new D4Exception.PoolUnavailable("cannot open the volume registry " + file + ": " + e.getMessage()
                    + " (if it is damaged, move it aside: pools stay intact and can be registered again)", e);
        }
    }

    public Path file() {
        return file;
    }

    /** Records a new pool with its volumes; a name already taken is an error. */
    public void register(String name, UUID uuid, List<Path> volumes) {
        try {
            db.setAutoCommit(false);
            try {
                try (PreparedStatement ps = db.prepareStatement("INSERT INTO pools (name, uuid, created_at) VALUES (?, ?, ?)")) {
                    ps.setString(1, name);
                    ps.setString(2, uuid.toString());
                    ps.setLong(3, System.currentTimeMillis());
                    ps.executeUpdate();
                }
                try (PreparedStatement ps = db.prepareStatement("INSERT INTO volumes (pool_uuid, idx, path) VALUES (?, ?, ?)")) {
                    for (int i = 0; i < volumes.size(); i++) {
                        ps.setString(1, uuid.toString());
                        ps.setInt(2, i);
                        ps.setString(3, volumes.get(i).toAbsolutePath().normalize().toString());
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
                db.commit();
            } catch (SQLException e) {
                db.rollback();
                throw e;
            } finally {
                db.setAutoCommit(true);
            }
        } catch (SQLException e) {
            if (String.valueOf(e.getMessage()).contains("UNIQUE")) {
                throw new D4Exception.InvalidArgument("a pool named '" + name + "' or one of its volume paths is already"
                        + " registered in " + file + ": choose another name or path");
            }
            throw new D4Exception.PoolUnavailable("cannot record pool " + name + " in " + file + ": " + e.getMessage(), e);
        }
    }

    /** Records one more volume of a registered pool (d4 volume add); a path already recorded is an error. */
    public void registerVolume(String poolName, int index, Path path) {
        Path normalized = path.toAbsolutePath().normalize();
        PoolRecord rec = find(poolName).orElseThrow(() -> new D4Exception.InvalidArgument("no pool named '" + poolName
                + "' in " + file));
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO volumes (pool_uuid, idx, path) VALUES (?, ?, ?)")) {
            ps.setString(1, rec.uuid().toString());
            ps.setInt(2, index);
            ps.setString(3, normalized.toString());
            ps.executeUpdate();
        } catch (SQLException e) {
            if (String.valueOf(e.getMessage()).contains("UNIQUE")) {
                throw new D4Exception.InvalidArgument(normalized + " (or volume " + index + " of pool " + poolName
                        + ") is already recorded in " + file + ": d4 volume list shows the records");
            }
            throw new D4Exception.PoolUnavailable("cannot record volume " + normalized + " of pool " + poolName + " in "
                    + file + ": " + e.getMessage(), e);
        }
    }

    public Optional<PoolRecord> find(String name) {
        return list().stream().filter(p -> p.name().equals(name)).findFirst();
    }

    public List<PoolRecord> list() {
        try (PreparedStatement ps = db.prepareStatement(
                "SELECT p.name, p.uuid, v.path, v.idx FROM pools p LEFT JOIN volumes v ON v.pool_uuid = p.uuid"
                        + " ORDER BY p.name, v.idx");
                ResultSet rs = ps.executeQuery()) {
            List<PoolRecord> out = new ArrayList<>();
            String name = null;
            UUID uuid = null;
            List<Path> paths = null;
            List<Integer> indexes = null;
            while (rs.next()) {
                if (!rs.getString(1).equals(name)) {
                    if (name != null) {
                        out.add(new PoolRecord(name, uuid, paths, indexes));
                    }
                    name = rs.getString(1);
                    uuid = UUID.fromString(rs.getString(2));
                    paths = new ArrayList<>();
                    indexes = new ArrayList<>();
                }
                String path = rs.getString(3);
                if (path != null) {
                    paths.add(Path.of(path));
                    indexes.add(rs.getInt(4));
                }
            }
            if (name != null) {
                out.add(new PoolRecord(name, uuid, paths, indexes));
            }
            return out;
        } catch (SQLException e) {
            throw new D4Exception.PoolUnavailable("cannot read the volume registry " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Removes the record of the volume at {@code path} from pool {@code poolName}; when it was the
     * pool's last one, the pool's record goes too (its name and paths can then be formatted again).
     * Only the registry changes: whether the volume is really gone is for the caller to check (d4
     * volume forget refuses a path that still holds the pool's superblock).
     *
     * @throws D4Exception.InvalidArgument when the pool is not registered, or has no volume at path
     */
    public Unregistered unregister(String poolName, Path path) {
        Path normalized = path.toAbsolutePath().normalize();
        try {
            db.setAutoCommit(false);
            try {
                PoolRecord rec = find(poolName).orElseThrow(() -> new D4Exception.InvalidArgument("no pool named '"
                        + poolName + "' in " + file + (list().isEmpty() ? " (it lists no pools)" : " (it lists: "
                        + String.join(", ", list().stream().map(PoolRecord::name).toList()) + ")")));
                int index = rec.indexOf(normalized);
                if (index < 0) {
                    throw new D4Exception.InvalidArgument(normalized + " is not a volume of pool " + poolName + " in " + file
                            + (rec.volumes().isEmpty() ? "" : " (its volumes: " + String.join(", ",
                                    rec.volumes().stream().map(Path::toString).toList()) + ")"));
                }
                try (PreparedStatement ps = db.prepareStatement("DELETE FROM volumes WHERE pool_uuid = ? AND idx = ? AND path = ?")) {
                    ps.setString(1, rec.uuid().toString());
                    ps.setInt(2, index);
                    ps.setString(3, normalized.toString());
                    if (ps.executeUpdate() != 1) {
                        throw new SQLException("the record of " + normalized + " changed meanwhile");
                    }
                }
                boolean last = rec.volumes().size() == 1;
                if (last) {
                    try (PreparedStatement ps = db.prepareStatement("DELETE FROM pools WHERE uuid = ?")) {
                        ps.setString(1, rec.uuid().toString());
                        ps.executeUpdate();
                    }
                }
                db.commit();
                return new Unregistered(poolName, index, normalized, last);
            } catch (SQLException | RuntimeException e) {
                db.rollback();
                throw e;
            } finally {
                db.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new D4Exception.PoolUnavailable("cannot remove " + normalized + " from pool " + poolName + " in " + file
                    + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            db.close();
        } catch (SQLException e) {
            throw new D4Exception.PoolUnavailable("cannot close the volume registry " + file + ": " + e.getMessage(), e);
        }
    }
}
