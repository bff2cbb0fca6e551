package d4.engine.meta.tree;

import java.util.List;

/**
 * What a checkpoint wrote. {@code rootAddress} is the root to publish (in the meta slot, with
 * {@code generation}); {@code released} are the pages the previous root referenced and this one does
 * not: the caller frees them only once the new root is durable, because until then a crash reopens
 * the previous root, which still needs them.
 */
public record Checkpoint(long rootAddress, long generation, int pagesWritten, List<Long> released) {
    public Checkpoint {
        released = List.copyOf(released);
    }
}
