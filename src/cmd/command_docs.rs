//! TODO family

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
