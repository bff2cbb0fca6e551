package d4.engine;

/**
 * A little-endian reader over bytes that came from a drive. Running past the end means the
 * structure is damaged, so it throws {@link D4Exception.Corruption} naming the structure.
 */
public final class Decoder {
    private final byte[] buf;
    private final int end;
    private final String structure;
    private int pos;

    public Decoder(byte[] buf, int offset, int length, String structure) {
        this.buf = buf;
        this.pos = offset;
        this.end = offset + length;
        this.structure = structure;
    }

    public Decoder(byte[] buf, String structure) {
        this(buf, 0, buf.length, structure);
    }

    private void need(int n) {
        if (n < 0 || pos + n > end) {
            throw new D4Exception.Corruption(structure + " is truncated or damaged (wanted " + n + " bytes at offset "
                    + pos + " of " + end + ")");
        }
    }

    public int u8() {
        need(1);
        return buf[pos++] & 0xff;
    }

    public int u16() {
        need(2);
        int v = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8;
        pos += 2;
        return v;
    }

    public int i32() {
        need(4);
        int v = 0;
        for (int i = 0; i < 4; i++) {
            v |= (buf[pos + i] & 0xff) << (8 * i);
        }
        pos += 4;
        return v;
    }

    public long i64() {
        need(8);
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v |= (buf[pos + i] & 0xffL) << (8 * i);
        }
        pos += 8;
        return v;
    }

    public byte[] bytes(int n) {
        need(n);
        byte[] b = new byte[n];
        System.arraycopy(buf, pos, b, 0, n);
        pos += n;
        return b;
    }

    /** A u32 length (at most {@code maxLength}) followed by the bytes. */
    public byte[] blob(int maxLength) {
        int n = i32();
        if (n < 0 || n > maxLength) {
            throw new D4Exception.Corruption(structure + " is damaged: a field of " + n + " bytes exceeds its limit of "
                    + maxLength);
        }
        return bytes(n);
    }

    public void skip(int n) {
        need(n);
        pos += n;
    }

    public int position() {
        return pos;
    }

    public int remaining() {
        return end - pos;
    }

    public String structure() {
        return structure;
    }
}
