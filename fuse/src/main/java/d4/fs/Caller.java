package d4.fs;

/**
 * Who makes a request (from the FUSE context): decides ownership of new files and chown rights.
 *
 * @param umask the caller's umask, applied by d4 to new inodes unless the parent directory has a
 *     default ACL (the kernel leaves it to the file system: FUSE_CAP_DONT_MASK)
 */
public record Caller(int uid, int gid, int umask) {
    public static final Caller ROOT = new Caller(0, 0, 0);

    public Caller(int uid, int gid) {
        this(uid, gid, 0);
    }

    public boolean isRoot() {
        return uid == 0;
    }
}
