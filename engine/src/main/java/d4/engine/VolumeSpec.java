package d4.engine;

import java.nio.file.Path;

/** A volume to create at format: a file of {@code sizeBytes} (created sparse). */
public record VolumeSpec(Path path, long sizeBytes) {}
