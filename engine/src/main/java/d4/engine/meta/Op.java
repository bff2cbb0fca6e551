package d4.engine.meta;

import d4.engine.D4Exception;
import d4.engine.Decoder;
import d4.engine.Encoder;
import d4.engine.Limits;

/**
 * One metadata change. A transaction is a list of ops written as one journal record and applied
 * together; replay applies the same ops in the same order, so live state and replayed state agree.
 * Encodings (tag byte first) are in docs/format.md ("Journal ops").
 */
public sealed interface Op {

    void encode(Encoder e);

    record CreateObject(long id, byte[] attrs) implements Op {
        static final int TAG = 1;

        @Override
        public void encode(Encoder e) {
            e.u8(TAG).i64(id).blob(attrs);
        }
    }

    record SetAttrs(long id, byte[] attrs) implements Op {
        static final int TAG = 2;

        @Override
        public void encode(Encoder e) {
            e.u8(TAG).i64(id).blob(attrs);
        }
    }

    /** Sets the size; blocks wholly beyond the new size are released. */
    record SetSize(long id, long sizeBytes) implements Op {
        static final int TAG = 3;

        @Override
        public void encode(Encoder e) {
            e.u8(TAG).i64(id).i64(sizeBytes);
        }
    }

    /** Maps the extent's logical range to new blocks; whatever mapped that range before is released. */
    record PutExtent(long id, Extent extent) implements Op {
        static final int TAG = 4;

        @Override
        public void encode(Encoder e) {
            e.u8(TAG).i64(id);
            encodeExtent(e, extent);
        }
    }

    record DeleteObject(long id) implements Op {
        static final int TAG = 5;

        @Override
        public void encode(Encoder e) {
            e.u8(TAG).i64(id);
        }
    }

    record PutEntry(long owner, byte[] key, byte[] value) implements Op {
        static final int TAG = 6;

        @Override
        public void encode(Encoder e) {
            e.u8(TAG).i64(owner).blob(key).blob(value);
        }
    }

    record RemoveEntry(long owner, byte[] key) implements Op {
        static final int TAG = 7;

        @Override
        public void encode(Encoder e) {
            e.u8(TAG).i64(owner).blob(key);
        }
    }

    /** Unmaps logical blocks [fromBlock, toBlock) (a punched hole); the size does not change. */
    record UnmapRange(long id, long fromBlock, long toBlock) implements Op {
        static final int TAG = 8;

        @Override
        public void encode(Encoder e) {
            e.u8(TAG).i64(id).i64(fromBlock).i64(toBlock);
        }
    }

    /** Bit 31 of the encoded length: a second location (i32 volume, i64 block) follows the length. */
    int MIRRORED = 0x8000_0000;

    static void encodeExtent(Encoder e, Extent x) {
        e.i64(x.logicalBlock()).i32(x.volume()).i64(x.physicalBlock());
        if (x.mirrored()) {
            e.i32(x.lengthBlocks() | MIRRORED).i32(x.mirrorVolume()).i64(x.mirrorPhysicalBlock());
        } else {
            e.i32(x.lengthBlocks());
        }
        for (int crc : x.crcs()) {
            e.i32(crc);
        }
    }

    static Extent decodeExtent(Decoder d) {
        long logical = d.i64();
        int volume = d.i32();
        long physical = d.i64();
        int rawLength = d.i32();
        boolean mirrored = (rawLength & MIRRORED) != 0;
        int length = rawLength & ~MIRRORED;
        int mirrorVolume = mirrored ? d.i32() : -1;
        long mirrorPhysical = mirrored ? d.i64() : 0;
        if (logical < 0 || volume < 0 || physical < 0 || length <= 0 || length > Limits.MAX_EXTENT_BLOCKS
                || mirrored && (mirrorVolume < 0 || mirrorVolume == volume || mirrorPhysical < 0)) {
            throw new D4Exception.Corruption(d.structure() + " holds an impossible extent (" + logical + ", " + volume
                    + ", " + physical + ", " + length + (mirrored ? ", mirror " + mirrorVolume + ", " + mirrorPhysical : "")
                    + ")");
        }
        int[] crcs = new int[length];
        for (int i = 0; i < length; i++) {
            crcs[i] = d.i32();
        }
        return new Extent(logical, volume, physical, length, crcs, mirrorVolume, mirrorPhysical);
    }

    static Op decode(Decoder d) {
        int tag = d.u8();
        return switch (tag) {
            case CreateObject.TAG -> new CreateObject(d.i64(), d.blob(Limits.MAX_ATTRS_BYTES));
            case SetAttrs.TAG -> new SetAttrs(d.i64(), d.blob(Limits.MAX_ATTRS_BYTES));
            case SetSize.TAG -> new SetSize(d.i64(), d.i64());
            case PutExtent.TAG -> new PutExtent(d.i64(), decodeExtent(d));
            case DeleteObject.TAG -> new DeleteObject(d.i64());
            case PutEntry.TAG -> new PutEntry(d.i64(), d.blob(Limits.MAX_KEY_BYTES), d.blob(Limits.MAX_VALUE_BYTES));
            case RemoveEntry.TAG -> new RemoveEntry(d.i64(), d.blob(Limits.MAX_KEY_BYTES));
            case UnmapRange.TAG -> new UnmapRange(d.i64(), d.i64(), d.i64());
            default -> throw new D4Exception.Corruption(d.structure() + " holds an unknown op tag " + tag);
        };
    }
}
