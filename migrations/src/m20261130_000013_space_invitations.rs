//! Invitations by e-mail into a space: the address invited, and the space and role the person
//! gets on accepting (empty for invitations to the site only, as before).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Email,
    SpaceId,
    Role,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds them one at a time.
        for column in [
            ColumnDef::new(Invitations::Email).string().null().to_owned(),
            ColumnDef::new(Invitations::SpaceId).big_integer().null().to_owned(),
            ColumnDef::new(Invitations::Role).string().null().to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(Invitations::Table).add_column(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Invitations::Email, Invitations::SpaceId, Invitations::Role] {
            manager
                .alter_table(
                    Table::alter().table(Invitations::Table).drop_column(column).to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
