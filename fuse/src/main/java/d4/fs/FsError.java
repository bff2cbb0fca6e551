package d4.fs;

/**
 * The namespace's own errors: the POSIX condition each names. The adapter maps them (and the
 * engine's exceptions) to errno in one switch, {@code d4.fuse.Errno}.
 */
public enum FsError {
    /** ENOENT: a path component or the target does not exist. */
    NOT_FOUND,
    /** EEXIST: the name is taken. */
    EXISTS,
    /** ENOTDIR: a path component, or the target of a directory operation, is not a directory. */
    NOT_DIRECTORY,
    /** EISDIR: a file operation on a directory. */
    IS_DIRECTORY,
    /** ENOTEMPTY: removing or replacing a directory that still has entries. */
    NOT_EMPTY,
    /** EINVAL: an argument no file system accepts (rename into own subtree, bad size). */
    INVALID,
    /** ENAMETOOLONG: a name over 255 bytes. */
    NAME_TOO_LONG,
    /** EMLINK: the link count limit. */
    TOO_MANY_LINKS,
    /** EPERM: not allowed for this caller (for example chown by a non-owner). */
    NOT_PERMITTED,
    /** EBADF: a file handle that is not open. */
    BAD_HANDLE,
    /** EFBIG: a size or offset beyond the largest file. */
    FILE_TOO_BIG,
    /** ENODATA: no extended attribute of that name. */
    NO_ATTRIBUTE,
    /** ERANGE: the caller's buffer is too small for the answer. */
    BUFFER_TOO_SMALL,
    /** EOPNOTSUPP: an operation or extended attribute namespace d4 does not support. */
    NOT_SUPPORTED,
    /** EACCES: the permission bits deny the caller. */
    ACCESS_DENIED,
    /** ENOSPC: a per-inode limit (extended attributes) is reached, not the pool. */
    INODE_FULL,
    /** E2BIG: an extended attribute listing longer than the kernel accepts. */
    LIST_TOO_BIG,
}
