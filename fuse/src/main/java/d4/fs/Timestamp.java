package d4.fs;

import java.time.Instant;

/** A file time with nanoseconds, as struct timespec holds it. */
public record Timestamp(long seconds, int nanos) implements Comparable<Timestamp> {
    @Override
    public int compareTo(Timestamp o) {
        int c = Long.compare(seconds, o.seconds);
        return c != 0 ? c : Integer.compare(nanos, o.nanos);
    }

    public static Timestamp now() {
        Instant i = Instant.now();
        return new Timestamp(i.getEpochSecond(), i.getNano());
    }
}
