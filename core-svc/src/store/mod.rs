//! The only SQL in Platform SM. One module per table family; functions take a connection (or
//! transaction) so that the service layer decides transaction boundaries.
//!
//! Unique-violation errors are translated here into domain conflicts, because only here is it
//! known which constraint means what.

/// `format!` for SQL text that is assembled only from this module's constant column lists
/// and clauses (never from client input), which sqlx asks us to assert.
macro_rules! sql {
    ($($t:tt)*) => {
        sqlx::AssertSqlSafe(format!($($t)*))
    };
}

pub mod configs;
pub mod events;
pub mod members;
pub mod projects;
pub mod tasks;
pub mod tokens;
pub mod users;
pub mod webhooks;

use crate::error::Error;

/// Maps a unique violation of `constraint` to `err`, passing other errors through.
pub(crate) fn on_unique(e: sqlx::Error, constraint: &str, err: impl FnOnce() -> Error) -> Error {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
        && db.constraint() == Some(constraint)
    {
        return err();
    }
    e.into()
}
