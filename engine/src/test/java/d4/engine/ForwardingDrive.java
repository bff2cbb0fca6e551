package d4.engine;

import d4.engine.io.Drive;
import d4.engine.io.IoBatch;
import java.lang.foreign.MemorySegment;

/** A drive that passes every call to another: tests override the calls they hold up, count or fail. */
abstract class ForwardingDrive implements Drive {
    protected final Drive drive;

    ForwardingDrive(Drive drive) {
        this.drive = drive;
    }

    @Override
    public String engine() {
        return drive.engine();
    }

    @Override
    public long sizeBytes() {
        return drive.sizeBytes();
    }

    @Override
    public int alignmentBytes() {
        return drive.alignmentBytes();
    }

    @Override
    public void read(long offsetBytes, MemorySegment dst) {
        drive.read(offsetBytes, dst);
    }

    @Override
    public void write(long offsetBytes, MemorySegment src) {
        drive.write(offsetBytes, src);
    }

    /** Runs the batch through this drive's read and write (the default), so overrides see every request. */
    @Override
    public void submit(IoBatch batch) {
        Drive.super.submit(batch);
    }

    @Override
    public void flush() {
        drive.flush();
    }

    @Override
    public void close() {
        drive.close();
    }
}
