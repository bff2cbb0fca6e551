package d4.fs;

import java.time.Instant;

/** A file time with nanoseconds, as struct timespec holds it. */
public record Timestamp(long seconds, int nanos) {
    public static Timestamp now() {
        Instant i = Instant.now();
        return new Timestamp(i.getEpochSecond(), i.getNano());
    }
}
