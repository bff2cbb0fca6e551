package d4.cli;

/** A command that cannot do what was asked: its message, printed as "d4: error: ...", says what to do next. */
final class CommandFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CommandFailure(String message) {
        super(message, null, false, false);
    }
}
