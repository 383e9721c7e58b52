//! Hearth's database schema as sea-orm migrations.
//!
//! The same migrations run on SQLite and PostgreSQL, so they use only
//! portable column types. A migration, once released, is never edited: a
//! change to the schema is a new migration. `hearth serve` and
//! `hearth migrate` apply the ones a database has not seen yet.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_accounts;
mod m20261122_000002_federation;
mod m20261122_000003_posts;
mod m20261122_000004_outside_posts;
mod m20261122_000005_post_links;
mod m20261122_000006_notifications;
mod m20261122_000007_delivery_queue;
mod m20261129_000008_one_door;
mod m20261129_000009_setup_link;
mod m20261129_000010_local_names;
mod m20261129_000011_peers;
mod m20261129_000012_timeline_indexes;
mod m20261129_000013_delivery_workers;
mod m20261130_000014_domain_rules;
mod m20261130_000015_domain_subscriptions;
mod m20261130_000016_moderation;
mod m20261130_000017_premoderation;
mod m20261130_000018_pinned;
mod m20261130_000019_hidden_posts;
mod m20261130_000020_limited_posts;
mod m20261130_000021_removed_words;
mod m20261130_000022_private_activities;
mod m20261130_000023_sign_ins;
mod m20261130_000024_audit_log;
mod m20261130_000025_erasure;
mod m20261130_000026_group_visibility;
mod m20261130_000027_retention;
mod m20261130_000029_professionals;
mod m20261130_000030_sources_labels;
mod m20261130_000031_mentors_guidance;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_accounts::Migration),
            Box::new(m20261122_000002_federation::Migration),
            Box::new(m20261122_000003_posts::Migration),
            Box::new(m20261122_000004_outside_posts::Migration),
            Box::new(m20261122_000005_post_links::Migration),
            Box::new(m20261122_000006_notifications::Migration),
            Box::new(m20261122_000007_delivery_queue::Migration),
            Box::new(m20261129_000008_one_door::Migration),
            Box::new(m20261129_000009_setup_link::Migration),
            Box::new(m20261129_000010_local_names::Migration),
            Box::new(m20261129_000011_peers::Migration),
            Box::new(m20261129_000012_timeline_indexes::Migration),
            Box::new(m20261129_000013_delivery_workers::Migration),
            Box::new(m20261130_000014_domain_rules::Migration),
            Box::new(m20261130_000015_domain_subscriptions::Migration),
            Box::new(m20261130_000016_moderation::Migration),
            Box::new(m20261130_000017_premoderation::Migration),
            Box::new(m20261130_000018_pinned::Migration),
            Box::new(m20261130_000019_hidden_posts::Migration),
            Box::new(m20261130_000020_limited_posts::Migration),
            Box::new(m20261130_000021_removed_words::Migration),
            Box::new(m20261130_000022_private_activities::Migration),
            Box::new(m20261130_000023_sign_ins::Migration),
            Box::new(m20261130_000024_audit_log::Migration),
            Box::new(m20261130_000025_erasure::Migration),
            Box::new(m20261130_000026_group_visibility::Migration),
            Box::new(m20261130_000027_retention::Migration),
            Box::new(m20261130_000029_professionals::Migration),
            Box::new(m20261130_000030_sources_labels::Migration),
            Box::new(m20261130_000031_mentors_guidance::Migration),
        ]
    }
}
