//! Discussions: comments under pages (a plain table, not part of the page's document: they are
//! appended and moderated, not co-edited), who may comment in each space, and notifications
//! that point at a comment.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Comments {
    Table,
    Id,
    PageId,
    ParentId,
    AuthorId,
    Markdown,
    CreatedAt,
    EditedAt,
    DeletedAt,
    HiddenAt,
    HiddenBy,
}

#[derive(DeriveIden)]
enum Pages {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Spaces {
    Table,
    CommentPolicy,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    CommentId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Comments::Table)
                    .col(
                        ColumnDef::new(Comments::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Comments::PageId).big_integer().not_null())
                    .col(ColumnDef::new(Comments::ParentId).big_integer().null())
                    .col(ColumnDef::new(Comments::AuthorId).big_integer().null())
                    .col(ColumnDef::new(Comments::Markdown).text().not_null())
                    .col(ColumnDef::new(Comments::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Comments::EditedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Comments::DeletedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Comments::HiddenAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Comments::HiddenBy).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Comments::Table, Comments::PageId)
                            .to(Pages::Table, Pages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Comments::Table, Comments::AuthorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_comments_page")
                    .table(Comments::Table)
                    .col(Comments::PageId)
                    .col(Comments::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_comments_author")
                    .table(Comments::Table)
                    .col(Comments::AuthorId)
                    .col(Comments::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Spaces::Table)
                    .add_column(
                        ColumnDef::new(Spaces::CommentPolicy)
                            .string()
                            .not_null()
                            .default("members"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .add_column(ColumnDef::new(Notifications::CommentId).big_integer().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .drop_column(Notifications::CommentId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Spaces::Table).drop_column(Spaces::CommentPolicy).to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(Comments::Table).to_owned()).await
    }
}
