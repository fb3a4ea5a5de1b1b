//! Encoders for the compact blobs Strata writes into an RDB (listpack, intset, LZF).
