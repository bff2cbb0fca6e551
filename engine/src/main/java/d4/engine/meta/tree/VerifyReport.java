package d4.engine.meta.tree;

import java.util.List;

/**
 * What {@link Tree#verify()} found: every problem with the page it concerns (an address, or a
 * negative id for a page not written yet), plus counts for fsck's summary.
 */
public record VerifyReport(List<Problem> problems, int height, long entries, long leafPages, long branchPages,
        long overflowPages, long leafBytesUsed) {

    public record Problem(long address, String what) {}

    public VerifyReport {
        problems = List.copyOf(problems);
    }

    public boolean ok() {
        return problems.isEmpty();
    }

    public long pages() {
        return leafPages + branchPages + overflowPages;
    }

    /** Average fill of the leaves (slots and cells over usable bytes), 0..1. */
    public double leafFill() {
        return leafPages == 0 ? 0 : (double) leafBytesUsed / (leafPages * (double) Page.USABLE_BYTES);
    }
}
