package d4.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import d4.engine.D4Exception;
import d4.engine.ObjectId;
import d4.fs.FsError;
import d4.fs.FsException;
import org.junit.jupiter.api.Test;

/** Pins the errno chosen for every error (Linux x86_64 numbers). */
class ErrnoTest {
    @Test
    void namespaceErrors() {
        int[][] table = {
            {FsError.NOT_FOUND.ordinal(), 2},
            {FsError.EXISTS.ordinal(), 17},
            {FsError.NOT_DIRECTORY.ordinal(), 20},
            {FsError.IS_DIRECTORY.ordinal(), 21},
            {FsError.NOT_EMPTY.ordinal(), 39},
            {FsError.INVALID.ordinal(), 22},
            {FsError.NAME_TOO_LONG.ordinal(), 36},
            {FsError.TOO_MANY_LINKS.ordinal(), 31},
            {FsError.NOT_PERMITTED.ordinal(), 1},
            {FsError.BAD_HANDLE.ordinal(), 9},
            {FsError.FILE_TOO_BIG.ordinal(), 27},
            {FsError.NO_ATTRIBUTE.ordinal(), 61},
            {FsError.BUFFER_TOO_SMALL.ordinal(), 34},
            {FsError.NOT_SUPPORTED.ordinal(), 95},
            {FsError.ACCESS_DENIED.ordinal(), 13},
            {FsError.INODE_FULL.ordinal(), 28},
            {FsError.LIST_TOO_BIG.ordinal(), 7},
        };
        assertEquals(FsError.values().length, table.length, "every FsError is pinned");
        for (int[] row : table) {
            FsError e = FsError.values()[row[0]];
            assertEquals(row[1], Errno.of(new FsException(e, "x")), e.name());
        }
    }

    @Test
    void engineErrors() {
        assertEquals(28, Errno.of(new D4Exception.NoSpace("full")));
        assertEquals(5, Errno.of(new D4Exception.Corruption("bad crc")));
        assertEquals(5, Errno.of(new D4Exception.DriveFailure("eio", null)));
        assertEquals(2, Errno.of(new D4Exception.ObjectNotFound(new ObjectId(3))));
        assertEquals(30, Errno.of(new D4Exception.PoolClosed("stopped")));
        assertEquals(5, Errno.of(new D4Exception.PoolUnavailable("gone")));
        assertEquals(22, Errno.of(new D4Exception.InvalidArgument("bad")));
        assertEquals(5, Errno.of(new IllegalStateException("a bug")), "anything else is EIO");
    }
}
