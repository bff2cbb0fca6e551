package d4.cli;

import d4.fs.FileSystem;
import d4.fs.Scrub;
import java.lang.System.Logger.Level;

/**
 * The daemon's one scrub at a time, on its own thread, reported through the control socket
 * ("scrub start RATE", "scrub status"): the control thread never blocks on a long scrub, so status
 * and umount keep answering while it runs.
 */
final class ScrubJob {
    private static final System.Logger LOG = System.getLogger("d4.daemon");
    private final FileSystem fs;
    private Thread thread;
    private volatile long files;
    private volatile long bytes;
    private long totalBytes;
    private Scrub.Report report;
    private String failure;

    ScrubJob(FileSystem fs) {
        this.fs = fs;
    }

    /** Starts a scrub unless one runs; returns the control reply. */
    synchronized String start(long rateBytesPerSecond) {
        if (thread != null && thread.isAlive()) {
            return "busy";
        }
        files = 0;
        bytes = 0;
        report = null;
        failure = null;
        var info = fs.pool().info();
        totalBytes = info.capacityBytes() - info.freeBytes();
        LOG.log(Level.INFO, "scrub started (rate {0})", rateBytesPerSecond == 0 ? "unlimited" : rateBytesPerSecond + " B/s");
        thread = Thread.ofPlatform().name("d4-scrub").daemon(true).start(() -> run(rateBytesPerSecond));
        return "started";
    }

    private void run(long rate) {
        try {
            Scrub.Report r = new Scrub(fs, rate, (f, b) -> {
                files = f;
                bytes = b;
            }).run();
            synchronized (this) {
                report = r;
            }
            LOG.log(r.clean() ? Level.INFO : Level.WARNING, "scrub finished: {0} files, {1} bytes, {2} damaged ranges, {3}"
                    + " metadata problems", r.files(), r.bytesVerified(), r.damaged().size(), r.metadataProblems().size());
            for (Scrub.Damage d : r.damaged()) {
                LOG.log(Level.WARNING, "scrub: {0} bytes {1}-{2} damaged: {3}", d.path(), d.fromByte(), d.toByte() - 1,
                        d.detail());
            }
        } catch (InterruptedException e) {
            synchronized (this) {
                failure = "stopped";
            }
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "scrub failed: " + e.getMessage(), e);
            synchronized (this) {
                failure = String.valueOf(e.getMessage()).replace('\n', ' ');
            }
        }
    }

    /**
     * The control reply: "idle", "running FILES BYTES TOTAL", "failed MESSAGE", or "done FILES BYTES REPAIRED"
     * followed by one tab-separated line per damaged range ("damage PATH FROM TO DETAIL") and per
     * metadata problem ("metadata PROBLEM").
     */
    synchronized String status() {
        if (thread == null) {
            return "idle";
        }
        if (failure != null) {
            return "failed " + failure;
        }
        if (report == null) {
            return "running " + files + " " + bytes + " " + totalBytes;
        }
        StringBuilder b = new StringBuilder("done " + report.files() + " " + report.bytesVerified() + " "
                + report.repairedBlocks() + "\n");
        for (Scrub.Damage d : report.damaged()) {
            b.append("damage\t").append(d.path().replace('\t', ' ').replace('\n', ' ')).append('\t').append(d.fromByte())
                    .append('\t').append(d.toByte()).append('\t').append(d.detail()).append('\n');
        }
        for (String m : report.metadataProblems()) {
            b.append("metadata\t").append(m.replace('\n', ' ')).append('\n');
        }
        return b.toString();
    }

    /** Stops a running scrub (at unmount). */
    synchronized void stop() throws InterruptedException {
        if (thread != null && thread.isAlive()) {
            thread.interrupt();
            thread.join(10_000);
        }
    }
}
