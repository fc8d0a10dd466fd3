//! When a request to join was last changed by the person who asked (a new message while it
//! waits): the owners see "modifiée le …" beside it.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum JoinRequests {
    Table,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(JoinRequests::Table)
                    .add_column(
                        ColumnDef::new(JoinRequests::UpdatedAt).timestamp_with_time_zone().null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(JoinRequests::Table)
                    .drop_column(JoinRequests::UpdatedAt)
                    .to_owned(),
            )
            .await
    }
}
