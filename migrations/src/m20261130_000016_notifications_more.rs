//! Notifications, second part: a handle per account (for `@mentions`), a daily digest at a
//! chosen hour, a one-click unsubscribe key, following a form (its new entries), and
//! notifications about a space rather than a page (being added to it).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Handle,
    DigestHour,
    LastDigestAt,
    UnsubscribeKey,
}

#[derive(DeriveIden)]
enum Follows {
    Table,
    FormKey,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Kind,
    PageId,
    SpaceId,
    ActorId,
    RevisionId,
    CreatedAt,
    ReadAt,
    InDigest,
}

#[derive(DeriveIden)]
enum NotificationsNew {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ColumnDef::new(Users::Handle).string().null().to_owned(),
            ColumnDef::new(Users::DigestHour).integer().not_null().default(8).to_owned(),
            ColumnDef::new(Users::LastDigestAt).timestamp_with_time_zone().null().to_owned(),
            ColumnDef::new(Users::UnsubscribeKey).string().null().to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(Table::alter().table(Users::Table).add_column(&mut column).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_users_handle")
                    .table(Users::Table)
                    .col(Users::Handle)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Follows::Table)
                    .add_column(ColumnDef::new(Follows::FormKey).string().null())
                    .to_owned(),
            )
            .await?;
        // A notification may be about a space (no page): the table is made again with
        // `page_id` optional (SQLite cannot loosen a column in place), its rows copied over.
        manager
            .create_table(
                Table::create()
                    .table(NotificationsNew::Table)
                    .col(
                        ColumnDef::new(Notifications::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Notifications::UserId).big_integer().not_null())
                    .col(ColumnDef::new(Notifications::Kind).string().not_null())
                    .col(ColumnDef::new(Notifications::PageId).big_integer().null())
                    .col(ColumnDef::new(Notifications::SpaceId).big_integer().null())
                    .col(ColumnDef::new(Notifications::ActorId).big_integer().null())
                    .col(ColumnDef::new(Notifications::RevisionId).big_integer().null())
                    .col(
                        ColumnDef::new(Notifications::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Notifications::ReadAt).timestamp_with_time_zone().null())
                    .col(
                        ColumnDef::new(Notifications::InDigest).boolean().not_null().default(false),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationsNew::Table, Notifications::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO notifications_new \
                 (id, user_id, kind, page_id, actor_id, revision_id, created_at, read_at) \
                 SELECT id, user_id, kind, page_id, actor_id, revision_id, created_at, read_at \
                 FROM notifications",
            )
            .await?;
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // The copied ids must not be handed out again.
            manager
                .get_connection()
                .execute_unprepared(
                    "SELECT setval(pg_get_serial_sequence('notifications_new', 'id'), \
                     COALESCE((SELECT MAX(id) FROM notifications_new), 0) + 1, false)",
                )
                .await?;
        }
        manager.drop_table(Table::drop().table(Notifications::Table).to_owned()).await?;
        manager
            .rename_table(
                Table::rename().table(NotificationsNew::Table, Notifications::Table).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_user")
                    .table(Notifications::Table)
                    .col(Notifications::UserId)
                    .col(Notifications::ReadAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_digest")
                    .table(Notifications::Table)
                    .col(Notifications::InDigest)
                    .col(Notifications::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM notifications WHERE page_id IS NULL")
            .await?;
        for col in [Notifications::SpaceId, Notifications::InDigest] {
            manager
                .alter_table(Table::alter().table(Notifications::Table).drop_column(col).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter().table(Follows::Table).drop_column(Follows::FormKey).to_owned(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name("idx_users_handle").table(Users::Table).to_owned())
            .await?;
        for col in [Users::Handle, Users::DigestHour, Users::LastDigestAt, Users::UnsubscribeKey] {
            manager
                .alter_table(Table::alter().table(Users::Table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
