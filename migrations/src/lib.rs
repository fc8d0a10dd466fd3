//! Ruche's database schema, one migration per change, run at start-up and in tests.
pub use sea_orm_migration::prelude::*;

mod m20261123_000001_accounts;
mod m20261123_000002_spaces;
mod m20261123_000003_documents;
mod m20261123_000004_pages;
mod m20261123_000005_revisions;
mod m20261123_000006_page_events;
mod m20261123_000007_forms;
mod m20261123_000008_entries;
mod m20261130_000009_upload_pages;
mod m20261130_000010_join_requests;
mod m20261130_000011_personal_time_zone;
mod m20261130_000012_mail;
mod m20261130_000013_space_invitations;
mod m20261130_000014_email_confirmation;
mod m20261130_000015_notifications;
mod m20261130_000016_notifications_more;
mod m20261130_000017_discussions;
mod m20261130_000018_page_templates;
mod m20261130_000019_editor_preference;
mod m20261207_000020_upload_page_names;
mod m20261207_000021_join_request_changes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_accounts::Migration),
            Box::new(m20261123_000002_spaces::Migration),
            Box::new(m20261123_000003_documents::Migration),
            Box::new(m20261123_000004_pages::Migration),
            Box::new(m20261123_000005_revisions::Migration),
            Box::new(m20261123_000006_page_events::Migration),
            Box::new(m20261123_000007_forms::Migration),
            Box::new(m20261123_000008_entries::Migration),
            Box::new(m20261130_000009_upload_pages::Migration),
            Box::new(m20261130_000010_join_requests::Migration),
            Box::new(m20261130_000011_personal_time_zone::Migration),
            Box::new(m20261130_000012_mail::Migration),
            Box::new(m20261130_000013_space_invitations::Migration),
            Box::new(m20261130_000014_email_confirmation::Migration),
            Box::new(m20261130_000015_notifications::Migration),
            Box::new(m20261130_000016_notifications_more::Migration),
            Box::new(m20261130_000017_discussions::Migration),
            Box::new(m20261130_000018_page_templates::Migration),
            Box::new(m20261130_000019_editor_preference::Migration),
            Box::new(m20261207_000020_upload_page_names::Migration),
            Box::new(m20261207_000021_join_request_changes::Migration),
        ]
    }
}
