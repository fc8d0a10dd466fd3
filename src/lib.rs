//! Ruche: a collaborative wiki for cooperation networks.
rust_i18n::i18n!("locales", fallback = "fr");

pub mod access;
pub mod accounts;
pub mod agenda;
pub mod app;
pub mod backup;
pub mod cache;
pub mod cli;
pub mod client_addr;
pub mod collab;
pub mod config;
pub mod db;
pub mod demo;
pub mod directory;
pub mod error;
pub mod forms;
pub mod history;
pub mod i18n;
pub mod layout;
pub mod listener;
pub mod map;
pub mod pages;
pub mod query;
pub mod resources;
pub mod search;
pub mod slug;
pub mod spaces;
