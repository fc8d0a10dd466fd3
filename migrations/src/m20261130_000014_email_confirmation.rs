//! Open sign-up confirms the address by mail: an account may be waiting for that (accounts made
//! before, or by invitation, are confirmed), and the single-use links the site mails say what
//! they are for (a new password, or confirming an address).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    EmailConfirmed,
}

#[derive(DeriveIden)]
enum PasswordResets {
    Table,
    Purpose,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(
                        ColumnDef::new(Users::EmailConfirmed).boolean().not_null().default(true),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PasswordResets::Table)
                    .add_column(
                        ColumnDef::new(PasswordResets::Purpose)
                            .string()
                            .not_null()
                            .default("reset"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PasswordResets::Table)
                    .drop_column(PasswordResets::Purpose)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Users::Table).drop_column(Users::EmailConfirmed).to_owned(),
            )
            .await
    }
}
