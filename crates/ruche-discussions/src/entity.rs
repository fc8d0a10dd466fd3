//! Rows of comments (SeaORM entity).
pub mod comment {
    use sea_orm::entity::prelude::*;

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "comments")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub page_id: i64,
        /// The comment this one answers (always one at the top of its thread).
        pub parent_id: Option<i64>,
        /// None once its author's account is deleted.
        pub author_id: Option<i64>,
        pub markdown: String,
        pub created_at: DateTimeUtc,
        pub edited_at: Option<DateTimeUtc>,
        /// Deleted: its text is gone; kept (as "commentaire supprimé") while replies need it.
        pub deleted_at: Option<DateTimeUtc>,
        /// Hidden by a moderator: its text is for the space's owners only.
        pub hidden_at: Option<DateTimeUtc>,
        pub hidden_by: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
