//! CLIENT subcommands.

use super::{CmdError, CommandSpec};

pub static COMMANDS: &[CommandSpec] = &[];

/// Client names are printable ASCII without spaces, as Redis requires.
pub fn validate_name(name: &[u8]) -> Result<(), CmdError> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}
