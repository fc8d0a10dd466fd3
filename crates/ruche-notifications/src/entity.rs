//! Rows of follows and notifications (SeaORM entities).
pub mod follow {
    use sea_orm::entity::prelude::*;

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "follows")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: i64,
        /// A page followed, or…
        pub page_id: Option<i64>,
        /// …a space followed (its pages and new entries), or…
        pub space_id: Option<i64>,
        /// …a form followed (its new entries, wherever the follower may read them).
        pub form_key: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod notification {
    use sea_orm::entity::prelude::*;

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "notifications")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: i64,
        /// `changed`, `created`, `entry`, `mention` or `added` (to a space).
        pub kind: String,
        /// The page it is about, or…
        pub page_id: Option<i64>,
        /// …the space (for `added`).
        pub space_id: Option<i64>,
        pub actor_id: Option<i64>,
        pub revision_id: Option<i64>,
        /// The comment it is about (for `comment`, and mentions in comments).
        pub comment_id: Option<i64>,
        pub created_at: DateTimeUtc,
        pub read_at: Option<DateTimeUtc>,
        /// Waiting for its reader's daily digest.
        pub in_digest: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
