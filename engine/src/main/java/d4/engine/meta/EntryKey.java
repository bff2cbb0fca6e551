package d4.engine.meta;

import java.util.Arrays;

/** An entry key ordered as unsigned bytes, so listings come back in byte order. */
public record EntryKey(byte[] bytes) implements Comparable<EntryKey> {
    @Override
    public int compareTo(EntryKey o) {
        return Arrays.compareUnsigned(bytes, o.bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EntryKey k && Arrays.equals(bytes, k.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    }
}
