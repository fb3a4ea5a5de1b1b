//! SORT and SORT_RO: option parsing and replies; the work is in
//! `types::sort`.

use bytes::Bytes;

use super::args::{int, is};
use super::flags::*;
use super::{CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::resp::Reply;
use crate::types::sort::{self, SortSpec, Sorted};

const SORT: CommandSpec = CommandSpec {
    group: "generic",
    keys: KeySpec::ONE,
    since: "1.0.0",
    complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "sort",
        arity: -2,
        flags: WRITE | DENYOOM | MOVABLEKEYS,
        summary: "Sort the elements in a list, set or sorted set",
        handler: Some(sort_cmd),
        ..SORT
    },
    CommandSpec {
        name: "sort_ro",
        arity: -2,
        flags: READONLY | MOVABLEKEYS,
        since: "7.0.0",
        summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
        handler: Some(sort_ro),
        ..SORT
    },
];

/// Parses the options after the key, in Redis's order and with its errors.
fn parse(argv: &[Bytes], readonly: bool) -> Result<SortSpec, CmdError> {
    let mut spec = SortSpec::default();
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = &argv[j];
        if is(a, "asc") {
            spec.desc = false;
        } else if is(a, "desc") {
            spec.desc = true;
        } else if is(a, "alpha") {
            spec.alpha = true;
        } else if is(a, "limit") && left >= 2 {
            spec.limit = Some((int(&argv[j + 1])?, int(&argv[j + 2])?));
            j += 2;
        } else if !readonly && is(a, "store") && left >= 1 {
            spec.store = Some(argv[j + 1].clone());
            j += 1;
        } else if is(a, "by") && left >= 1 {
            spec.by = Some(argv[j + 1].clone());
            j += 1;
        } else if is(a, "get") && left >= 1 {
            spec.gets.push(argv[j + 1].clone());
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(spec)
}

fn run(ctx: &mut Ctx<'_>, argv: &[Bytes], readonly: bool) -> CmdResult {
    let spec = parse(argv, readonly)?;
    super::count_read(ctx, &argv[1]);
    let db = ctx.db();
    let events = spec
        .store
        .as_ref()
        .map(|dst| super::events::StoreEvents::before(ctx, dst));
    match sort::sort(ctx.ks(), db, &argv[1], &spec)? {
        Sorted::Elements(items) => Ok(Reply::Array(
            items
                .into_iter()
                .map(|v| v.map_or(Reply::Nil, Reply::Bulk))
                .collect(),
        )),
        Sorted::Stored { len, .. } => {
            if let (Some(dst), Some(events)) = (&spec.store, &events) {
                // Redis notifies `sortstore` in the list class (sort.c).
                events.after(ctx, dst, len > 0, crate::notify::LIST, "sortstore");
                if len > 0 {
                    ctx.key_ready(db, dst);
                }
            }
            Ok(Reply::Integer(len as i64))
        }
    }
}

fn sort_cmd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    run(ctx, argv, false)
}

fn sort_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    run(ctx, argv, true)
}
