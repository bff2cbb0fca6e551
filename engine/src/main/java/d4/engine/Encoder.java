package d4.engine;

import java.util.Arrays;

/** A growable little-endian byte writer for the engine's on-disk structures. */
public final class Encoder {
    private byte[] buf;
    private int pos;

    public Encoder(int initialCapacity) {
        buf = new byte[Math.max(16, initialCapacity)];
    }

    private void ensure(int more) {
        if (pos + more > buf.length) {
            long want = Math.max((long) buf.length * 2, (long) pos + more);
            if (want > Integer.MAX_VALUE - 16) {
                throw new IllegalStateException("d4 invariant violated: encoded structure exceeds 2 GiB");
            }
            buf = Arrays.copyOf(buf, (int) want);
        }
    }

    public Encoder u8(int v) {
        ensure(1);
        buf[pos++] = (byte) v;
        return this;
    }

    public Encoder u16(int v) {
        ensure(2);
        buf[pos++] = (byte) v;
        buf[pos++] = (byte) (v >>> 8);
        return this;
    }

    public Encoder i32(int v) {
        ensure(4);
        for (int i = 0; i < 4; i++) {
            buf[pos++] = (byte) (v >>> (8 * i));
        }
        return this;
    }

    public Encoder i64(long v) {
        ensure(8);
        for (int i = 0; i < 8; i++) {
            buf[pos++] = (byte) (v >>> (8 * i));
        }
        return this;
    }

    public Encoder bytes(byte[] b) {
        ensure(b.length);
        System.arraycopy(b, 0, buf, pos, b.length);
        pos += b.length;
        return this;
    }

    /** A u32 length followed by the bytes. */
    public Encoder blob(byte[] b) {
        i32(b.length);
        return bytes(b);
    }

    public Encoder zeros(int n) {
        ensure(n);
        pos += n; // the array is zero-filled on growth and never reused dirty
        return this;
    }

    /** Drops everything written after {@code to}. */
    public void truncate(int to) {
        Invariant.check(to >= 0 && to <= pos, "truncate to %d of %d", to, pos);
        java.util.Arrays.fill(buf, to, pos, (byte) 0);
        pos = to;
    }

    public int position() {
        return pos;
    }

    /** Overwrites a u32 already written at {@code at}. */
    public void putI32At(int at, int v) {
        Invariant.check(at >= 0 && at + 4 <= pos, "putI32At %d beyond %d", at, pos);
        for (int i = 0; i < 4; i++) {
            buf[at + i] = (byte) (v >>> (8 * i));
        }
    }

    public byte[] array() {
        return buf;
    }

    public byte[] toByteArray() {
        return Arrays.copyOf(buf, pos);
    }
}
