//! Spaces and who belongs to them with which role.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Spaces {
    Table,
    Id,
    Slug,
    Title,
    Description,
    Visibility,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    SpaceId,
    UserId,
    Role,
    CreatedAt,
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
                    .table(Spaces::Table)
                    .col(
                        ColumnDef::new(Spaces::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Spaces::Slug).string().not_null().unique_key())
                    .col(ColumnDef::new(Spaces::Title).string().not_null())
                    .col(ColumnDef::new(Spaces::Description).text().not_null().default(""))
                    .col(ColumnDef::new(Spaces::Visibility).string().not_null())
                    .col(ColumnDef::new(Spaces::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(ColumnDef::new(Memberships::SpaceId).big_integer().not_null())
                    .col(ColumnDef::new(Memberships::UserId).big_integer().not_null())
                    .col(ColumnDef::new(Memberships::Role).string().not_null())
                    .col(
                        ColumnDef::new(Memberships::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(Memberships::SpaceId).col(Memberships::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Memberships::Table, Memberships::SpaceId)
                            .to(Spaces::Table, Spaces::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Memberships::Table, Memberships::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memberships_user")
                    .table(Memberships::Table)
                    .col(Memberships::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Memberships::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Spaces::Table).to_owned()).await
    }
}
