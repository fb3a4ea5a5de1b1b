//! Redis's RDB format: the snapshot a master sends at a full resynchronisation,
//! and the payload of DUMP / RESTORE.
//!
//! Strata speaks it in both directions: as a replica it reads a real Redis
//! master's RDB from the socket (`reader`), as a master it writes one from an
//! engine snapshot for real Redis replicas (`writer`). Both stream: neither ever
//! holds a whole file, and a large collection passes through in pieces.
//!
//! This module knows nothing about the engine or the protocol; byte-level facts
//! are in `../shared/reference/redis-replication.md` section 2.

pub mod decode;
pub mod encode;
pub mod reader;
pub mod stream;
pub mod writer;

/// The RDB version Strata writes: Redis 7.0's, the newest a 7.0 replica loads.
pub const RDB_VERSION: u16 = 10;
/// The newest version the reader accepts (7.2 writes 11, 7.4 writes 12).
pub const RDB_MAX_READ_VERSION: u16 = 12;

/// Opcodes between entries (rdb.h).
pub mod opcode {
    pub const FUNCTION2: u8 = 0xF5;
    pub const FUNCTION_PRE_GA: u8 = 0xF6;
    pub const MODULE_AUX: u8 = 0xF7;
    pub const IDLE: u8 = 0xF8;
    pub const FREQ: u8 = 0xF9;
    pub const AUX: u8 = 0xFA;
    pub const RESIZEDB: u8 = 0xFB;
    pub const EXPIRETIME_MS: u8 = 0xFC;
    pub const EXPIRETIME: u8 = 0xFD;
    pub const SELECTDB: u8 = 0xFE;
    pub const EOF: u8 = 0xFF;
}

/// Value type bytes (rdb.h).
pub mod kind {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
}

/// Redis's CRC-64 (Jones polynomial, reflected, init 0), chained over every
/// byte from "REDIS" through the EOF opcode.
pub fn crc64(prev: u64, bytes: &[u8]) -> u64 {
    crc64::crc64(prev, bytes)
}
