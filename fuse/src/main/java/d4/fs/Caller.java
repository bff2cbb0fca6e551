package d4.fs;

/** Who makes a request (from the FUSE context): decides ownership of new files and chown rights. */
public record Caller(int uid, int gid) {
    public static final Caller ROOT = new Caller(0, 0);

    public boolean isRoot() {
        return uid == 0;
    }
}
