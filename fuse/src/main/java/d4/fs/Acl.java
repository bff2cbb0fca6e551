package d4.fs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A POSIX ACL in the Linux xattr form (system.posix_acl_access / _default): a little-endian u32
 * version 2, then entries of {u16 tag, u16 perm, u32 id}. d4 stores the blob as the kernel hands it
 * over and keeps the file mode in step with it, as ext4 does (the mode's group bits are the ACL's
 * mask when it has one). With libfuse 2 the kernel does not evaluate ACLs in its permission checks
 * (that needs FUSE_POSIX_ACL, protocol 7.26): see docs/semantics.md.
 */
record Acl(List<AclEntry> entries) {
    static final int VERSION = 2;
    static final int USER_OBJ = 0x01, USER = 0x02, GROUP_OBJ = 0x04, GROUP = 0x08, MASK = 0x10, OTHER = 0x20;
    static final int UNDEFINED_ID = -1;
    static final String ACCESS = "system.posix_acl_access";
    static final String DEFAULT = "system.posix_acl_default";

    record AclEntry(int tag, int perm, int id) {}

    /** Parses and validates a blob as the kernel's posix_acl_valid does; INVALID when it is not an ACL. */
    static Acl decode(byte[] blob) {
        if (blob.length < 4 || (blob.length - 4) % 8 != 0) {
            throw new FsException(FsError.INVALID, "an ACL of " + blob.length + " bytes");
        }
        ByteBuffer b = ByteBuffer.wrap(blob).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt() != VERSION) {
            throw new FsException(FsError.INVALID, "an ACL of an unknown version");
        }
        List<AclEntry> entries = new ArrayList<>();
        while (b.hasRemaining()) {
            entries.add(new AclEntry(b.getShort() & 0xffff, b.getShort() & 0xffff, b.getInt()));
        }
        Acl acl = new Acl(List.copyOf(entries));
        acl.validate();
        return acl;
    }

    private void validate() {
        int userObj = 0, groupObj = 0, other = 0, mask = 0, named = 0;
        int lastTag = 0;
        long lastId = Long.MIN_VALUE;
        for (AclEntry e : entries) {
            if ((e.perm() & ~7) != 0) {
                throw new FsException(FsError.INVALID, "ACL permission bits " + e.perm());
            }
            if (e.tag() < lastTag) {
                throw new FsException(FsError.INVALID, "ACL entries out of order");
            }
            switch (e.tag()) {
                case USER_OBJ -> userObj++;
                case GROUP_OBJ -> groupObj++;
                case OTHER -> other++;
                case MASK -> mask++;
                case USER, GROUP -> {
                    long id = Integer.toUnsignedLong(e.id());
                    if (e.tag() == lastTag && id <= lastId) {
                        throw new FsException(FsError.INVALID, "ACL ids out of order or repeated");
                    }
                    lastId = id;
                    named++;
                }
                default -> throw new FsException(FsError.INVALID, "ACL tag " + e.tag());
            }
            lastTag = e.tag();
        }
        if (userObj != 1 || groupObj != 1 || other != 1 || mask > 1 || (named > 0 && mask == 0)) {
            throw new FsException(FsError.INVALID, "an ACL without exactly one owner, group and other entry"
                    + " (and a mask when it names users or groups)");
        }
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(4 + 8 * entries.size()).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(VERSION);
        for (AclEntry e : entries) {
            b.putShort((short) e.tag()).putShort((short) e.perm()).putInt(e.id());
        }
        return b.array();
    }

    /** Whether the mode alone says everything this ACL says (then ext4 stores no ACL). */
    boolean equivalentToMode() {
        return entries.size() == 3;
    }

    private int perm(int tag) {
        for (AclEntry e : entries) {
            if (e.tag() == tag) {
                return e.perm();
            }
        }
        return -1;
    }

    /** The permission bits the mode shows for this (access) ACL: owner, mask-or-group, other. */
    int modeBits() {
        int group = perm(MASK) >= 0 ? perm(MASK) : perm(GROUP_OBJ);
        return perm(USER_OBJ) << 6 | group << 3 | perm(OTHER);
    }

    /** This ACL after chmod to {@code mode}: owner, mask (or group) and other follow the mode (posix_acl_chmod). */
    Acl withMode(int mode) {
        boolean hasMask = perm(MASK) >= 0;
        List<AclEntry> out = new ArrayList<>(entries.size());
        for (AclEntry e : entries) {
            int perm = switch (e.tag()) {
                case USER_OBJ -> (mode >> 6) & 7;
                case MASK -> (mode >> 3) & 7;
                case GROUP_OBJ -> hasMask ? e.perm() : (mode >> 3) & 7;
                case OTHER -> mode & 7;
                default -> e.perm();
            };
            out.add(new AclEntry(e.tag(), perm, e.id()));
        }
        return new Acl(List.copyOf(out));
    }

    /**
     * A parent's default ACL applied to a new inode created with {@code mode} (posix_acl_create_masq):
     * returns the new inode's access ACL; its mode bits are {@link #modeBits()} of the result.
     */
    Acl masked(int mode) {
        boolean hasMask = perm(MASK) >= 0;
        List<AclEntry> out = new ArrayList<>(entries.size());
        for (AclEntry e : entries) {
            int perm = switch (e.tag()) {
                case USER_OBJ -> e.perm() & (mode >> 6) & 7;
                case MASK -> e.perm() & (mode >> 3) & 7;
                case GROUP_OBJ -> hasMask ? e.perm() : e.perm() & (mode >> 3) & 7;
                case OTHER -> e.perm() & mode & 7;
                default -> e.perm();
            };
            out.add(new AclEntry(e.tag(), perm, e.id()));
        }
        return new Acl(List.copyOf(out));
    }
}
