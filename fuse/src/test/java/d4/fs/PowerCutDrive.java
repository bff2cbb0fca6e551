package d4.fs;

import d4.engine.D4Exception;
import d4.engine.io.Drive;
import d4.engine.io.DriveFactory;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A drive that models a disk with a volatile write cache and loses power on cue: what {@link #flush()}
 * made durable survives; of the writes since, none, a random subset, or a random subset torn at
 * 512-byte sector boundaries survives, in any order. The disk is held in memory as immutable 4 KiB
 * blocks (absent blocks read as zeros), so a crash image is a cheap copy of a map.
 *
 * <p>A {@link Power} shared by all volumes of a pool counts drive operations and cuts at the n-th:
 * from then on every operation throws {@link PowerCut} (an Error, so that no engine code path that
 * handles I/O failures can keep going as if the disk answered), and {@link Power#crashImages()}
 * holds what each volume's platters kept.
 */
final class PowerCutDrive implements Drive {
    static final int BLOCK = 4096;
    static final int SECTOR = 512;

    /** Thrown by every drive operation once the power is off. */
    static final class PowerCut extends Error {
        private static final long serialVersionUID = 1L;

        PowerCut() {
            super("power cut (simulated)", null, false, false);
        }
    }

    /** How the cache behaves at the cut. */
    enum CutMode {
        /** Every unflushed write is lost. */
        DROP_ALL,
        /** Each unflushed write survives whole or is lost. */
        SUBSET,
        /** Each sector of each unflushed write survives or is lost. */
        TORN
    }

    /** A disk's durable content: block number to 4096 immutable bytes. */
    record Image(Map<Long, byte[]> blocks, long sizeBytes) {
        Image copy() {
            return new Image(new HashMap<>(blocks), sizeBytes);
        }
    }

    /** The power supply of one pool's drives. */
    static final class Power implements DriveFactory {
        private final Map<Path, Image> images;
        private final Random random;
        private long cutAtOp;
        private final CutMode mode;
        private final List<PowerCutDrive> drives = new ArrayList<>();
        private long ops;
        private boolean off;
        private Map<Path, Image> crashImages;

        /** @param cutAtOp the operation number (from 1) at which power fails; Long.MAX_VALUE for never */
        Power(Map<Path, Image> images, long cutAtOp, CutMode mode, Random random) {
            this.images = images;
            this.cutAtOp = cutAtOp;
            this.mode = mode;
            this.random = random;
        }

        @Override
        public synchronized Drive open(Path path, int alignmentBytes) {
            Image image = images.get(path);
            if (image == null) {
                throw new D4Exception.DriveFailure("no such test volume " + path, null);
            }
            PowerCutDrive d = new PowerCutDrive(this, path, image.copy());
            drives.add(d);
            return d;
        }

        /** The next drive operation fails, and the disks keep what the mode says. */
        synchronized void cutNow() {
            cutAtOp = ops + 1;
        }

        boolean isOff() {
            return off;
        }

        long ops() {
            return ops;
        }

        /** What the disks kept at the cut (null if the power never failed). */
        synchronized Map<Path, Image> crashImages() {
            return crashImages;
        }

        /** The disks as they are now, cache included (as after a clean shutdown and flush). */
        synchronized Map<Path, Image> currentImages() {
            Map<Path, Image> out = new HashMap<>();
            for (PowerCutDrive d : drives) {
                out.put(d.path(), d.viewWithCache());
            }
            return out;
        }

        private synchronized void tick() {
            if (off) {
                throw new PowerCut();
            }
            ops++;
            if (ops >= cutAtOp) {
                off = true;
                crashImages = new HashMap<>();
                for (PowerCutDrive d : drives) {
                    crashImages.put(d.path(), d.afterCut(mode, random));
                }
                throw new PowerCut();
            }
        }
    }

    private final Power power;
    private final Image durable;
    /** Writes since the last flush, oldest first: offset and bytes. */
    private final List<Object[]> cache = new ArrayList<>();
    private final Path path;

    private PowerCutDrive(Power power, Path path, Image durable) {
        this.power = power;
        this.path = path;
        this.durable = durable;
    }

    Path path() {
        return path;
    }

    @Override
    public String engine() {
        return "powercut";
    }

    @Override
    public long sizeBytes() {
        return durable.sizeBytes();
    }

    @Override
    public int alignmentBytes() {
        return BLOCK;
    }

    @Override
    public void read(long offsetBytes, MemorySegment dst) {
        synchronized (power) {
            power.tick();
            check(offsetBytes, dst.byteSize());
            for (long pos = 0; pos < dst.byteSize(); pos += BLOCK) {
                byte[] b = latest((offsetBytes + pos) / BLOCK);
                if (b == null) {
                    dst.asSlice(pos, BLOCK).fill((byte) 0);
                } else {
                    MemorySegment.copy(b, 0, dst, ValueLayout.JAVA_BYTE, pos, BLOCK);
                }
            }
        }
    }

    private byte[] latest(long block) {
        for (int i = cache.size() - 1; i >= 0; i--) {
            long off = (long) cache.get(i)[0];
            byte[] data = (byte[]) cache.get(i)[1];
            if (block * BLOCK >= off && block * BLOCK < off + data.length) {
                int at = (int) (block * BLOCK - off);
                return java.util.Arrays.copyOfRange(data, at, at + BLOCK);
            }
        }
        return durable.blocks().get(block);
    }

    @Override
    public void write(long offsetBytes, MemorySegment src) {
        synchronized (power) {
            power.tick();
            check(offsetBytes, src.byteSize());
            cache.add(new Object[] {offsetBytes, src.toArray(ValueLayout.JAVA_BYTE)});
        }
    }

    @Override
    public void flush() {
        synchronized (power) {
            power.tick();
            for (Object[] w : cache) {
                apply(durable, (long) w[0], (byte[]) w[1], null, null);
            }
            cache.clear();
        }
    }

    @Override
    public void close() {
        // Nothing to release: closing a drive is not a flush (as with a real disk's cache).
    }

    private void check(long offset, long length) {
        if (offset < 0 || offset % BLOCK != 0 || length % BLOCK != 0 || offset + length > durable.sizeBytes()) {
            throw new IllegalStateException("misaligned or out-of-range I/O: " + length + " bytes at " + offset);
        }
    }

    /** The disk with the cache written out, for reopening after a clean close. */
    private Image viewWithCache() {
        Image out = durable.copy();
        for (Object[] w : cache) {
            apply(out, (long) w[0], (byte[]) w[1], null, null);
        }
        return out;
    }

    /** What survives a cut: the durable image plus some of the cached writes, in a random order. */
    private Image afterCut(CutMode mode, Random random) {
        Image out = durable.copy();
        if (mode == CutMode.DROP_ALL) {
            return out;
        }
        List<Object[]> order = new ArrayList<>(cache);
        java.util.Collections.shuffle(order, random);
        for (Object[] w : order) {
            if (mode == CutMode.SUBSET) {
                if (random.nextBoolean()) {
                    apply(out, (long) w[0], (byte[]) w[1], null, null);
                }
            } else {
                apply(out, (long) w[0], (byte[]) w[1], random, mode);
            }
        }
        return out;
    }

    /** Writes {@code data} into the image; with a random source, each sector only with probability 1/2. */
    private static void apply(Image image, long offset, byte[] data, Random torn, CutMode mode) {
        for (int pos = 0; pos < data.length; pos += BLOCK) {
            long block = (offset + pos) / BLOCK;
            byte[] old = image.blocks().get(block);
            byte[] next = old == null ? new byte[BLOCK] : old.clone();
            if (torn == null) {
                System.arraycopy(data, pos, next, 0, BLOCK);
            } else {
                for (int s = 0; s < BLOCK; s += SECTOR) {
                    if (torn.nextBoolean()) {
                        System.arraycopy(data, pos + s, next, s, SECTOR);
                    }
                }
            }
            image.blocks().put(block, next);
        }
    }
}
