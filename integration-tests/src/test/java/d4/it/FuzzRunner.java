package d4.it;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Runs op sequences on a d4 directory and an ext4 directory side by side, compares after every
 * op, and shrinks a failing sequence to a short reproduction. Every run (generated or replayed)
 * gets fresh directories of its own on both sides, so runs never see each other's leftovers.
 */
final class FuzzRunner {
    /** Names every run's directories uniquely, across runners (regressions make one each). */
    private static final AtomicInteger RUNS = new AtomicInteger();

    private final Path d4Base;
    private final Path ext4Base;
    private final FuzzMix mix;
    private final int checkEvery;

    /** One op's outcome on both sides, and how they differ (null: they do not). */
    record Step(FuzzOp op, FuzzOutcome d4, FuzzOutcome ext4, FuzzDiff diff) {}

    /** What a run did: its steps; it stops at the first one that differs (unless replayed to the end). */
    record Run(List<Step> steps) {
        /** The first difference. */
        FuzzDiff diff() {
            return steps.stream().map(Step::diff).filter(Objects::nonNull).findFirst().orElse(null);
        }

        boolean failed() {
            return diff() != null;
        }

        List<FuzzOp> ops() {
            return steps.stream().map(Step::op).toList();
        }
    }

    FuzzRunner(Path d4Base, Path ext4Base, FuzzMix mix, int checkEvery) {
        this.d4Base = d4Base;
        this.ext4Base = ext4Base;
        this.mix = mix;
        this.checkEvery = checkEvery;
    }

    /** Generates {@code count} ops from {@code seed} and runs each as it comes, then closes everything and compares the trees. */
    Run generate(long seed, int count) {
        return run("s" + seed, (d4, ext4, steps) -> {
            FuzzGen gen = new FuzzGen(seed, mix, ext4, d4, checkEvery);
            for (int i = 0; i < count; i++) {
                if (!apply(gen.next(), d4, ext4, steps)) {
                    return;
                }
            }
            if (apply(new FuzzOp.CloseAll(), d4, ext4, steps)) {
                apply(new FuzzOp.CheckTree(), d4, ext4, steps);
            }
        });
    }

    /** Runs a fixed list of ops (a replay while shrinking, or a regression) up to the first difference. */
    Run replay(List<FuzzOp> ops) {
        return replay(ops, false);
    }

    /**
     * Runs a fixed list of ops; with {@code toTheEnd}, past differences too, for diagnosis (is a
     * difference a stale cache that a later step no longer sees, or does it persist?).
     */
    Run replay(List<FuzzOp> ops, boolean toTheEnd) {
        return run("r", (d4, ext4, steps) -> {
            for (FuzzOp op : ops) {
                if (!apply(op, d4, ext4, steps) && !toTheEnd) {
                    return;
                }
            }
        });
    }

    @FunctionalInterface
    private interface Body {
        void run(FuzzSide d4, FuzzSide ext4, List<Step> steps);
    }

    private Run run(String dirName, Body body) {
        String name = dirName + "-" + RUNS.incrementAndGet();
        FuzzSide d4 = new FuzzSide(makeRoot(d4Base, name));
        FuzzSide ext4 = new FuzzSide(makeRoot(ext4Base, name));
        List<Step> steps = new ArrayList<>();
        try {
            body.run(d4, ext4, steps);
        } finally {
            d4.reset();
            ext4.reset();
        }
        Run run = new Run(List.copyOf(steps));
        if (!run.failed()) {
            deleteTree(Path.of(d4.root));
            deleteTree(Path.of(ext4.root));
        }
        return run;
    }

    /** The sequence's directory: world-writable and not sticky, so that ops run as other users can create in it. */
    private static String makeRoot(Path base, String name) {
        String p = base.resolve(name).toString();
        int r = Sys.mkdir(p, 0777);
        if (r != 0 || Sys.chmod(p, 0777) != 0) {
            throw new IllegalStateException("cannot make " + p + ": " + FuzzOutcome.ret(r));
        }
        return p;
    }

    /** Applies one op to both sides and records it; false when the two differ (the run stops there). */
    private boolean apply(FuzzOp op, FuzzSide d4, FuzzSide ext4, List<Step> steps) {
        Step step;
        if (op instanceof FuzzOp.Sleep z) {
            try {
                Thread.sleep(z.millis()); // once for both sides: the caches of both age alike
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
            FuzzOutcome slept = FuzzOutcome.of("slept");
            step = new Step(op, slept, slept, null);
        } else if (op instanceof FuzzOp.CheckTree) {
            FuzzDiff d = FuzzTree.compare(d4, ext4, !mix.excludes(FuzzFamily.XATTR));
            FuzzOutcome same = FuzzOutcome.of("same");
            step = d == null ? new Step(op, same, same, null)
                    : new Step(op, FuzzOutcome.of(d.d4()), FuzzOutcome.of(d.ext4()), d.at(op));
        } else if (leavesSequenceDirectory(op, ext4)) {
            FuzzOutcome skipped = FuzzOutcome.of("(a path leaves the sequence directory on ext4: not run)");
            step = new Step(op, skipped, skipped, null);
        } else {
            FuzzOutcome a = d4.apply(op);
            FuzzOutcome b = ext4.apply(op);
            FuzzDiff d = a.diff(b);
            step = new Step(op, a, b, d == null ? null : d.at(op));
        }
        steps.add(step);
        return step.diff() == null;
    }

    /**
     * Whether a path of the op resolves (through symlinks, as the reference ext4 side resolves it
     * now) outside the sequence's directory. Relative symlinks that climb with ".." are made where
     * they stay inside, but a rename can carry one higher up, and then a path through it reaches
     * directories the two sides do not share (other sequences, the mount's root): such an op is run
     * on neither side. The decision is the reference's, so it is the same for both.
     */
    private static boolean leavesSequenceDirectory(FuzzOp op, FuzzSide ext4) {
        if (op.paths().isEmpty()) {
            return false;
        }
        Path root;
        try {
            root = Path.of(ext4.root).toRealPath();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        for (String p : op.paths()) {
            Path full = Path.of(ext4.path(p));
            // The path itself if it resolves, else its parent (the final name need not exist).
            for (Path candidate = full; candidate != null; candidate = candidate == full ? full.getParent() : null) {
                try {
                    if (!candidate.toRealPath().startsWith(root)) {
                        return true;
                    }
                    break;
                } catch (IOException e) {
                    // missing, ELOOP, ENOTDIR: try the parent; if that fails too, the op fails alike on both
                }
            }
        }
        return false;
    }

    // ------------------------------------------------------------------------------------------
    // Shrinking

    /** A shrunk failure: the shortest sequence found that still shows the same class of difference. */
    record Minimized(List<FuzzOp> ops, Run run, int replays, boolean reproduced) {}

    /**
     * Delta debugging (ddmin): drop ever smaller chunks of ops while the same class of difference
     * (op kind and differing field, see {@link FuzzDiff#signature}) still shows; then the run ends
     * at the op that shows it. Bounded by {@code budgetMillis}; what was reached by then is kept.
     */
    Minimized minimize(Run failing, long budgetMillis) {
        long deadline = System.currentTimeMillis() + budgetMillis;
        FuzzDiff target = failing.diff();
        int[] replays = {0};
        Run[] best = {failing};
        Predicate<List<FuzzOp>> fails = cand -> {
            replays[0]++;
            Run r = replay(cand);
            if (r.failed() && sameClass(r.diff(), target)) {
                best[0] = r;
                return true;
            }
            return false;
        };
        List<FuzzOp> ops = failing.ops();
        if (!fails.test(ops)) {
            return new Minimized(ops, failing, replays[0], false);
        }
        ops = best[0].ops();
        int n = 2;
        while (ops.size() >= 2 && System.currentTimeMillis() < deadline) {
            int chunk = (ops.size() + n - 1) / n;
            boolean reduced = false;
            // Try dropping each chunk in turn; the first that still fails is kept, and the chunks get coarser again.
            for (int start = 0; start < ops.size() && System.currentTimeMillis() < deadline; start += chunk) {
                List<FuzzOp> cand = new ArrayList<>(ops.subList(0, start));
                cand.addAll(ops.subList(Math.min(ops.size(), start + chunk), ops.size()));
                if (!cand.isEmpty() && fails.test(cand)) {
                    ops = best[0].ops(); // the replay stops at the difference: later ops are dropped too
                    n = Math.max(n - 1, 2);
                    reduced = true;
                    break;
                }
            }
            if (!reduced) {
                if (n >= ops.size()) {
                    break;
                }
                n = Math.min(ops.size(), n * 2);
            }
        }
        return new Minimized(ops, best[0], replays[0], true);
    }

    /** The same op kind, and the same field or (for stat fields) at least one differing field in common. */
    static boolean sameClass(FuzzDiff a, FuzzDiff b) {
        if (!a.op().equals(b.op())) {
            return false;
        }
        if (a.field().equals(b.field())) {
            return true;
        }
        int da = a.field().lastIndexOf('.');
        int db = b.field().lastIndexOf('.');
        if (da < 0 || db < 0 || !a.field().substring(0, da).equals(b.field().substring(0, db))) {
            return false;
        }
        Set<String> fa = new HashSet<>(Arrays.asList(a.field().substring(da + 1).split(",")));
        fa.retainAll(Arrays.asList(b.field().substring(db + 1).split(",")));
        return !fa.isEmpty();
    }

    /**
     * A readable account of a failure and its shrunk reproduction.
     *
     * @param origin "seed N" (then {@code count} is the sequence's length) or the name of a regression
     */
    static String report(String origin, long seed, int count, FuzzMix mix, Run failing, Minimized m) {
        boolean generated = origin.startsWith("seed ");
        StringBuilder out = new StringBuilder();
        out.append("d4 differs from ext4: ").append(origin).append(", step ").append(failing.steps().size())
                .append(generated ? " of " + count : "").append(" (excluded: ").append(mix).append(")\n");
        out.append("  difference: ").append(failing.diff()).append('\n');
        if (!m.reproduced()) {
            out.append("  NOT reproduced by a replay of the same ").append(failing.steps().size())
                    .append(" ops (timing-dependent?); the whole sequence:\n");
            appendSteps(out, failing.steps());
        } else {
            out.append(generated ? "  minimal reproduction: " + m.ops().size() + " ops (from " + failing.steps().size() + ", "
                    + m.replays() + " replays)" : "  the sequence").append("; paths are relative to a fresh directory:\n");
            appendSteps(out, m.run().steps());
            List<Step> steps = m.run().steps();
            List<String> differing = IntStream.range(0, steps.size()).filter(i -> steps.get(i).diff() != null)
                    .mapToObj(i -> (i + 1) + " " + steps.get(i).diff().signature()).toList();
            if (differing.size() > 1) {
                out.append("  differing steps: ").append(String.join(", ", differing)).append('\n');
            } else {
                out.append("  shown as: ").append(m.run().diff()).append('\n');
            }
            out.append("  as Java, for DiffFuzzIT.REGRESSIONS:\n    List.of(")
                    .append(m.ops().stream().map(FuzzOp::java).collect(Collectors.joining(",\n            ")))
                    .append(")\n");
        }
        if (!generated) {
            return out.toString();
        }
        out.append("  rerun: -Dd4.fuzz.seed=").append(seed).append(" -Dd4.fuzz.sequences=1 -Dd4.fuzz.ops=").append(count)
                .append(" -Dd4.fuzz.exclude=").append(mix).append('\n');
        return out.toString();
    }

    /** Every step of a run with both outcomes (for -Dd4.fuzz.trace=true). */
    static String trace(Run run) {
        StringBuilder out = new StringBuilder();
        appendSteps(out, run.steps());
        return out.toString();
    }

    private static void appendSteps(StringBuilder out, List<Step> steps) {
        for (int i = 0; i < steps.size(); i++) {
            Step s = steps.get(i);
            out.append(String.format("    %3d. %s%n", i + 1, s.op()));
            if (s.diff() == null) {
                out.append("         -> ").append(s.ext4()).append('\n');
            } else {
                out.append("         -> d4:   ").append(s.d4()).append('\n');
                out.append("         -> ext4: ").append(s.ext4()).append('\n');
            }
        }
    }

    /** Best effort: a failing run's directories stay for inspection; everything goes with the test's temp dirs anyway. */
    private static void deleteTree(Path root) {
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) {
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            // leftovers are harmless: every run has its own directory
        }
    }
}
