package d4.it;

/**
 * One difference between d4 and ext4: what differs ({@code field}: "result:ENODATA/EINVAL" (the
 * kind of result on each side), "data", "stat.size,blocks", "tree.listing", "tree.content", ...)
 * and each side's value. {@code op} is the kind of op that showed it; the pair is the difference's
 * class ({@link #signature}), which the minimiser keeps while it shrinks a sequence and by which a
 * run reports each class once.
 */
record FuzzDiff(String op, String field, String d4, String ext4) {
    FuzzDiff(String field, String d4, String ext4) {
        this("", field, d4, ext4);
    }

    FuzzDiff at(FuzzOp o) {
        return new FuzzDiff(o.getClass().getSimpleName(), field, d4, ext4);
    }

    String signature() {
        return op + ":" + field;
    }

    @Override
    public String toString() {
        return signature() + "\n      d4:   " + d4 + "\n      ext4: " + ext4;
    }
}
