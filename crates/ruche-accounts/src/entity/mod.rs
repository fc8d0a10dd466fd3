//! Database rows of accounts (SeaORM entities); the domain types live one level up.
pub mod api_token;
pub mod invitation;
pub mod password_reset;
pub mod session;
pub mod site_setting;
pub mod user;
