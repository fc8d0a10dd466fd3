//! Requests to join a space: someone who sees a space asks its owners to let them in; the
//! owners accept (the person becomes a member) or decline, and the person sees the answer.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum JoinRequests {
    Table,
    Id,
    SpaceId,
    UserId,
    Message,
    Status,
    CreatedAt,
    DecidedAt,
    DecidedBy,
}

#[derive(DeriveIden)]
enum Spaces {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JoinRequests::Table)
                    .col(
                        ColumnDef::new(JoinRequests::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(JoinRequests::SpaceId).big_integer().not_null())
                    .col(ColumnDef::new(JoinRequests::UserId).big_integer().not_null())
                    .col(ColumnDef::new(JoinRequests::Message).text().not_null().default(""))
                    .col(ColumnDef::new(JoinRequests::Status).string().not_null())
                    .col(
                        ColumnDef::new(JoinRequests::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(JoinRequests::DecidedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(JoinRequests::DecidedBy).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(JoinRequests::Table, JoinRequests::SpaceId)
                            .to(Spaces::Table, Spaces::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(JoinRequests::Table, JoinRequests::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(JoinRequests::Table, JoinRequests::DecidedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // One request per person and space: asking again updates it.
        manager
            .create_index(
                Index::create()
                    .name("idx_join_requests_space_user")
                    .table(JoinRequests::Table)
                    .col(JoinRequests::SpaceId)
                    .col(JoinRequests::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_join_requests_user")
                    .table(JoinRequests::Table)
                    .col(JoinRequests::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(JoinRequests::Table).to_owned()).await
    }
}
