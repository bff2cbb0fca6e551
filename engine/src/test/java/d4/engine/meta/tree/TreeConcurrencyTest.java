package d4.engine.meta.tree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import d4.engine.Entry;
import d4.engine.Limits;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readers share the tree under the pool's read lock: several threads reading at once through a cache
 * far smaller than the tree (loads and evictions racing) all see the right values.
 */
class TreeConcurrencyTest {
    @TempDir
    Path dir;

    @Test
    void concurrentReadersThroughATinyCacheSeeTheRightValues() throws Exception {
        try (FileStore store = new FileStore(dir.resolve("pages"))) {
            Random r = new Random(8);
            Tree writer = Tree.create(store, 1 << 20);
            TreeMap<byte[], byte[]> model = Trees.newModel();
            for (int i = 0; i < 5000; i++) {
                byte[] k = Trees.objectKey(r.nextInt(3000), 'e', Trees.bytes(r, r.nextInt(10)));
                byte[] v = Trees.bytes(r, i % 200 == 0 ? 20_000 : r.nextInt(100));
                writer.put(k, v);
                model.put(k, v);
            }
            Checkpoint c = writer.checkpoint(new TestAllocator(true), 1);
            Tree tree = Tree.open(store, c.rootAddress(), 1, 8 * Limits.BLOCK_BYTES);
            List<byte[]> keys = new ArrayList<>(model.keySet());
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    long seed = t;
                    done.add(pool.submit(() -> {
                        Random tr = new Random(seed);
                        for (int i = 0; i < 20_000; i++) {
                            byte[] k = keys.get(tr.nextInt(keys.size()));
                            if (i % 50 == 0) {
                                List<Entry> got = tree.scan(k, true, null, 20);
                                int j = 0;
                                for (Map.Entry<byte[], byte[]> e : model.tailMap(k, true).entrySet()) {
                                    if (j == got.size()) {
                                        break;
                                    }
                                    assertArrayEquals(e.getKey(), got.get(j).key());
                                    assertArrayEquals(e.getValue(), got.get(j).value());
                                    j++;
                                }
                                assertEquals(Math.min(20, model.tailMap(k, true).size()), got.size());
                            } else {
                                assertArrayEquals(model.get(k), tree.get(k).orElseThrow());
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdown();
            }
        }
    }
}
