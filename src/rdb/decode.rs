//! Decoders for the compact blobs inside an RDB (LZF, listpack, ziplist, intset, zipmap).
