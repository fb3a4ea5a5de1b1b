//! String commands (minimal GET/SET; the full family is being written).

use bytes::Bytes;

use super::flags::*;
use super::{CmdResult, CommandSpec, Ctx, KeySpec};
use crate::resp::Reply;
use crate::types::string;

const STR: CommandSpec = CommandSpec {
    group: "string",
    keys: KeySpec::ONE,
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "get",
        arity: 2,
        flags: READONLY | FAST,
        summary: "Get the value of a key",
        handler: Some(get),
        ..STR
    },
    CommandSpec {
        name: "set",
        arity: 3,
        flags: WRITE | DENYOOM,
        summary: "Set the string value of a key",
        handler: Some(set),
        ..STR
    },
];

fn get(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let v = string::get(ctx.ks(), ctx.db(), &argv[1])?;
    ctx.server.stats.hit(v.is_some());
    Ok(Reply::opt_bulk(v))
}

fn set(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let seq = string::set(ctx.ks(), ctx.db(), &argv[1], argv[2].clone())?;
    ctx.committed(seq);
    Ok(Reply::Ok)
}
