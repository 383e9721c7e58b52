//! sea-orm entities: one module per table. Private to this crate.

pub mod access_tokens;
pub mod users;
