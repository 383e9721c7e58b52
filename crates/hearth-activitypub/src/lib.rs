//! Hearth's ActivityPub side. Today: the RSA key pair every local actor is
//! created with. The wire format (actors, objects, activities), HTTP
//! signatures and the federation handlers land here as federation grows.
//!
//! Architecture invariant: only this crate knows the ActivityPub wire format
//! and talks to activitypub_federation; the rest of Hearth sees domain types.

pub mod keys;
