//! Being told what changed: who follows which page or space, the notifications made for them,
//! and whether each person wants them by mail.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Follows {
    Table,
    Id,
    UserId,
    PageId,
    SpaceId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Kind,
    PageId,
    ActorId,
    RevisionId,
    CreatedAt,
    ReadAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    NotifyByMail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Follows::Table)
                    .col(
                        ColumnDef::new(Follows::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Follows::UserId).big_integer().not_null())
                    .col(ColumnDef::new(Follows::PageId).big_integer().null())
                    .col(ColumnDef::new(Follows::SpaceId).big_integer().null())
                    .col(ColumnDef::new(Follows::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Follows::Table, Follows::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in
            [("idx_follows_page", Follows::PageId), ("idx_follows_space", Follows::SpaceId)]
        {
            manager
                .create_index(Index::create().name(name).table(Follows::Table).col(col).to_owned())
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(
                        ColumnDef::new(Notifications::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Notifications::UserId).big_integer().not_null())
                    .col(ColumnDef::new(Notifications::Kind).string().not_null())
                    .col(ColumnDef::new(Notifications::PageId).big_integer().not_null())
                    .col(ColumnDef::new(Notifications::ActorId).big_integer().null())
                    .col(ColumnDef::new(Notifications::RevisionId).big_integer().null())
                    .col(
                        ColumnDef::new(Notifications::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Notifications::ReadAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notifications::Table, Notifications::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
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
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(
                        ColumnDef::new(Users::NotifyByMail).string().not_null().default("now"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Users::Table).drop_column(Users::NotifyByMail).to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(Notifications::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Follows::Table).to_owned()).await
    }
}
