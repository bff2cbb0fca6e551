package d4.engine;

/**
 * Told of every committed change, so a layer above can keep caches exact. Called on the committing
 * thread while it still holds the pool's write lock, after the change is visible to readers that
 * take the read lock next: a cache that drops its copy here is never staler than the engine.
 * Implementations must be quick, must not call back into the pool and must not throw.
 */
public interface CommitListener {
    /** The object's attributes, size, data or existence changed. */
    void objectChanged(long id);

    /** An entry of {@code owner} was put or removed. */
    void entryChanged(long owner, byte[] key);
}
