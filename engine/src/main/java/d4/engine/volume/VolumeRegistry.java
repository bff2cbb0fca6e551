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

    /** A pool as recorded: its name, UUID and volume paths in index order. */
    public record PoolRecord(String name, UUID uuid, List<Path> volumes) {}

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

    public Optional<PoolRecord> find(String name) {
        return list().stream().filter(p -> p.name().equals(name)).findFirst();
    }

    public List<PoolRecord> list() {
        try (PreparedStatement ps = db.prepareStatement(
                "SELECT p.name, p.uuid, v.path FROM pools p LEFT JOIN volumes v ON v.pool_uuid = p.uuid"
                        + " ORDER BY p.name, v.idx");
                ResultSet rs = ps.executeQuery()) {
            List<PoolRecord> out = new ArrayList<>();
            String name = null;
            UUID uuid = null;
            List<Path> paths = null;
            while (rs.next()) {
                if (!rs.getString(1).equals(name)) {
                    if (name != null) {
                        out.add(new PoolRecord(name, uuid, List.copyOf(paths)));
                    }
                    name = rs.getString(1);
                    uuid = UUID.fromString(rs.getString(2));
                    paths = new ArrayList<>();
                }
                String path = rs.getString(3);
                if (path != null) {
                    paths.add(Path.of(path));
                }
            }
            if (name != null) {
                out.add(new PoolRecord(name, uuid, List.copyOf(paths)));
            }
            return out;
        } catch (SQLException e) {
            throw new D4Exception.PoolUnavailable("cannot read the volume registry " + file + ": " + e.getMessage(), e);
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
