package d4.engine;

/**
 * Always-on assertions (Java's {@code assert} is off by default). A failed invariant is a bug in d4,
 * not an operating error: it throws {@link IllegalStateException} and must never be caught to carry on.
 */
public final class Invariant {
    private Invariant() {}

    public static void check(boolean condition, String what) {
        if (!condition) {
            throw new IllegalStateException("d4 invariant violated: " + what);
        }
    }

    public static void check(boolean condition, String format, long a) {
        if (!condition) {
            throw new IllegalStateException("d4 invariant violated: " + String.format(format, a));
        }
    }

    public static void check(boolean condition, String format, long a, long b) {
        if (!condition) {
            throw new IllegalStateException("d4 invariant violated: " + String.format(format, a, b));
        }
    }
}
