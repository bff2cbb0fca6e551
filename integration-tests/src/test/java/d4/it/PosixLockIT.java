package d4.it;

import static d4.it.Sys.F_GETLK;
import static d4.it.Sys.F_RDLCK;
import static d4.it.Sys.F_SETLK;
import static d4.it.Sys.F_UNLCK;
import static d4.it.Sys.F_WRLCK;
import static d4.it.Sys.LOCK_EX;
import static d4.it.Sys.LOCK_NB;
import static d4.it.Sys.LOCK_SH;
import static d4.it.Sys.O_RDONLY;
import static d4.it.Sys.O_RDWR;
import static d4.it.Sys.O_WRONLY;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * fcntl record locks and flock between two real processes: the test and {@link #otherProcess()}
 * (fcntl locks belong to a process, so one process cannot conflict with itself). Each case works
 * on its own file and closes what the helper opened, so the shared helper carries no lock over.
 */
class PosixLockIT extends PosixConformance {

    @OnBoth
    void fcntlWriteLockConflictsAndGetlkNamesTheHolder(Root r) throws Exception {
        write(r.path("f"), "0123456789");
        SysProcess other = otherProcess();
        long ofd = ok(other.call("open", r.path("f"), O_RDWR, 0), "open in the other process");
        assertEquals(0, other.call("setlk", ofd, F_WRLCK, 0, 100), "the other process write-locks [0, 100)");
        int fd = open(r.path("f"), O_RDWR);
        assertErrno(Sys.EAGAIN, Sys.fcntlLock(fd, F_SETLK, F_WRLCK, 50, 10).result(), "F_SETLK on a locked range");
        assertErrno(Sys.EAGAIN, Sys.fcntlLock(fd, F_SETLK, F_RDLCK, 99, 1).result(), "a read lock on a write-locked range");
        Sys.Lock holder = Sys.fcntlLock(fd, F_GETLK, F_WRLCK, 50, 10);
        assertEquals(0, holder.result());
        assertEquals(F_WRLCK, holder.type());
        assertEquals(other.pid(), holder.pid(), "F_GETLK reports the holder's pid");
        assertEquals(0, holder.start());
        assertEquals(100, holder.len());
        assertEquals(0, Sys.fcntlLock(fd, F_SETLK, F_WRLCK, 100, 10).result(), "the range after is free");
        Sys.Lock free = Sys.fcntlLock(fd, F_GETLK, F_WRLCK, 200, 10);
        assertEquals(F_UNLCK, free.type(), "F_GETLK of a free range");
        close(fd);
        ok(other.call("close", ofd), "close in the other process");
    }

    @OnBoth
    void readLocksShare(Root r) throws Exception {
        write(r.path("f"), "x");
        SysProcess other = otherProcess();
        long ofd = ok(other.call("open", r.path("f"), O_RDONLY, 0), "open");
        assertEquals(0, other.call("setlk", ofd, F_RDLCK, 0, 0), "the other process read-locks the whole file");
        int fd = open(r.path("f"), O_RDWR);
        assertEquals(0, Sys.fcntlLock(fd, F_SETLK, F_RDLCK, 0, 0).result(), "read locks share");
        assertErrno(Sys.EAGAIN, Sys.fcntlLock(fd, F_SETLK, F_WRLCK, 5, 1).result(), "a write lock on a read-locked range");
        close(fd);
        ok(other.call("close", ofd), "close in the other process");
    }

    /** POSIX's odd rule: closing ANY descriptor of the file drops all of the process's locks on it. */
    @OnBoth
    void fcntlLocksGoWhenTheHolderClosesAnyDescriptorOfTheFile(Root r) throws Exception {
        write(r.path("f"), "x");
        SysProcess other = otherProcess();
        long locked = ok(other.call("open", r.path("f"), O_RDWR, 0), "open");
        long second = ok(other.call("open", r.path("f"), O_RDONLY, 0), "open");
        assertEquals(0, other.call("setlk", locked, F_WRLCK, 0, 0));
        int fd = open(r.path("f"), O_RDWR);
        assertErrno(Sys.EAGAIN, Sys.fcntlLock(fd, F_SETLK, F_WRLCK, 0, 0).result(), "while held");
        ok(other.call("close", second), "close the other descriptor");
        assertEquals(0, Sys.fcntlLock(fd, F_SETLK, F_WRLCK, 0, 0).result(), "released by the close");
        close(fd);
        ok(other.call("close", locked), "close in the other process");
    }

    /** The one case with a helper of its own: it must exit. */
    @OnBoth
    void fcntlLocksGoWhenTheHolderExits(Root r) throws Exception {
        write(r.path("f"), "x");
        int fd = open(r.path("f"), O_RDWR);
        try (SysProcess other = SysProcess.asRoot()) {
            long ofd = ok(other.call("open", r.path("f"), O_RDWR, 0), "open");
            assertEquals(0, other.call("setlk", ofd, F_WRLCK, 0, 0));
            assertErrno(Sys.EAGAIN, Sys.fcntlLock(fd, F_SETLK, F_WRLCK, 0, 0).result(), "while held");
        }
        assertEquals(0, Sys.fcntlLock(fd, F_SETLK, F_WRLCK, 0, 0).result(), "released at exit");
        close(fd);
    }

    @OnBoth
    void lockTypeMustMatchTheAccessMode(Root r) {
        write(r.path("f"), "x");
        int ro = open(r.path("f"), O_RDONLY);
        assertErrno(Sys.EBADF, Sys.fcntlLock(ro, F_SETLK, F_WRLCK, 0, 0).result(), "a write lock on an O_RDONLY descriptor");
        close(ro);
        int wo = open(r.path("f"), O_WRONLY);
        assertErrno(Sys.EBADF, Sys.fcntlLock(wo, F_SETLK, F_RDLCK, 0, 0).result(), "a read lock on an O_WRONLY descriptor");
        close(wo);
    }

    @OnBoth
    void flockExclusiveConflictsAndIsReleasedAtClose(Root r) throws Exception {
        write(r.path("f"), "x");
        SysProcess other = otherProcess();
        long ofd = ok(other.call("open", r.path("f"), O_RDONLY, 0), "open");
        assertEquals(0, other.call("flock", ofd, LOCK_EX));
        int fd = open(r.path("f"), O_RDONLY);
        assertErrno(Sys.EWOULDBLOCK, Sys.flock(fd, LOCK_EX | LOCK_NB), "LOCK_EX|LOCK_NB while another holds LOCK_EX");
        assertErrno(Sys.EWOULDBLOCK, Sys.flock(fd, LOCK_SH | LOCK_NB), "LOCK_SH|LOCK_NB while another holds LOCK_EX");
        ok(other.call("close", ofd), "close");
        assertEquals(0, Sys.flock(fd, LOCK_EX | LOCK_NB), "released at close");
        close(fd);
    }

    @OnBoth
    void flockSharedLocksShare(Root r) throws Exception {
        write(r.path("f"), "x");
        SysProcess other = otherProcess();
        long ofd = ok(other.call("open", r.path("f"), O_RDONLY, 0), "open");
        assertEquals(0, other.call("flock", ofd, LOCK_SH));
        int fd = open(r.path("f"), O_RDONLY);
        assertEquals(0, Sys.flock(fd, LOCK_SH | LOCK_NB), "two shared locks");
        int fd2 = open(r.path("f"), O_RDONLY);
        assertErrno(Sys.EWOULDBLOCK, Sys.flock(fd2, LOCK_EX | LOCK_NB), "exclusive while shared locks exist");
        close(fd2);
        close(fd);
        ok(other.call("close", ofd), "close in the other process");
    }

    /** On Linux, flock and fcntl locks live apart: one never blocks the other. */
    @OnBoth
    void flockAndFcntlLocksAreIndependent(Root r) throws Exception {
        write(r.path("f"), "x");
        SysProcess other = otherProcess();
        long ofd = ok(other.call("open", r.path("f"), O_RDWR, 0), "open");
        assertEquals(0, other.call("flock", ofd, LOCK_EX));
        int fd = open(r.path("f"), O_RDWR);
        assertEquals(0, Sys.fcntlLock(fd, F_SETLK, F_WRLCK, 0, 0).result(), "an fcntl lock beside a flock");
        close(fd);
        ok(other.call("close", ofd), "close in the other process");
    }
}
