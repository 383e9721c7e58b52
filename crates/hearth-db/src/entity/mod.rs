//! sea-orm entities: one module per table. Private to this crate.

pub mod access_tokens;
pub mod bans;
pub mod deliveries;
pub mod domain_rules;
pub mod domain_subscriptions;
pub mod group_held_servers;
pub mod group_members;
pub mod group_moderators;
pub mod groups;
pub mod inbound_activities;
pub mod instances;
pub mod local_names;
pub mod moderation_log;
pub mod notifications;
pub mod outbound_activities;
pub mod posts;
pub mod reactions;
pub mod remote_actors;
pub mod remote_memberships;
pub mod remote_moderators;
pub mod removed_words;
pub mod reports;
pub mod server_software;
pub mod setup_tokens;
pub mod site_actor;
pub mod users;
