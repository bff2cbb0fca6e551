package d4.engine;

/**
 * The id of an object: 64 bits, handed out in increasing order and never reused within a pool.
 * Id 0 is the pool's own object, which always exists and holds pool-level entries.
 */
public record ObjectId(long value) implements Comparable<ObjectId> {
    public static final ObjectId POOL = new ObjectId(0);

    public ObjectId {
        if (value < 0) {
            throw new IllegalArgumentException("object id must be >= 0: " + value);
        }
    }

    @Override
    public int compareTo(ObjectId o) {
        return Long.compare(value, o.value);
    }
}
