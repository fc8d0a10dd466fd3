//! The keys of the configuration, as the file, the environment (`RUCHE_<KEY>`) and the flags
//! name them, with their defaults and the values each may take.
use std::{net::SocketAddr, path::PathBuf};

use crate::dates;
use serde::{Deserialize, Deserializer, Serialize};

/// Every key, with its value once the layers are merged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Keys {
    pub addr: SocketAddr,
    pub data: PathBuf,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub uploads: Option<PathBuf>,
    pub base_url: Option<String>,
    pub site_name: String,
    pub time_zone: String,
    pub login_attempts_per_minute: u64,
    pub idle_unload_seconds: u64,
    pub revision_quiet_seconds: u64,
    pub compact_every: u64,
    pub max_frame_bytes: u64,
    pub busy_page_window_ms: u64,
    pub max_messages_per_second: u64,
    pub max_connections_per_address: u64,
    pub max_page_chars: u64,
    pub revision_retention_days: Option<u64>,
    pub max_upload_bytes: u64,
    #[serde(deserialize_with = "list")]
    pub trusted_proxies: Vec<String>,
    pub max_body_bytes: u64,
    #[serde(deserialize_with = "list")]
    pub allowed_origins: Vec<String>,
    pub max_presence_bytes: u64,
    pub max_http_connections_per_address: u64,
    pub header_timeout_seconds: u64,
    pub write_timeout_seconds: u64,
    pub max_search_chars: u64,
    pub max_form_fields: u64,
    pub max_form_choices: u64,
    pub max_comment_chars: u64,
    pub comments_per_minute: u64,
    pub map_tiles: String,
    pub map_attribution: String,
    pub smtp_url: Option<String>,
    pub mail_from: String,
}

pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::V4(std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 8080));

impl Default for Keys {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR,
            data: PathBuf::from("data"),
            database_url: None,
            redis_url: None,
            uploads: None,
            base_url: None,
            site_name: "Ruche".to_owned(),
            time_zone: dates::DEFAULT_TIME_ZONE.name().to_owned(),
            login_attempts_per_minute: 5,
            idle_unload_seconds: 60,
            revision_quiet_seconds: 120,
            compact_every: 500,
            max_frame_bytes: 4 * 1024 * 1024,
            busy_page_window_ms: 10,
            max_messages_per_second: 100,
            max_connections_per_address: 100,
            max_page_chars: 2_000_000,
            revision_retention_days: None,
            max_upload_bytes: 10 * 1024 * 1024,
            trusted_proxies: Vec::new(),
            max_body_bytes: 1024 * 1024,
            allowed_origins: Vec::new(),
            max_presence_bytes: 8 * 1024,
            max_http_connections_per_address: 256,
            header_timeout_seconds: 15,
            write_timeout_seconds: 60,
            max_search_chars: 200,
            max_form_fields: 60,
            max_form_choices: 100,
            max_comment_chars: 20_000,
            comments_per_minute: 10,
            map_tiles: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".to_owned(),
            map_attribution: "© OpenStreetMap contributors".to_owned(),
            smtp_url: None,
            mail_from: "Ruche <ruche@localhost>".to_owned(),
        }
    }
}

/// The names of every key.
pub fn names() -> Vec<String> {
    match serde_json::to_value(Keys::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

const GIB: u64 = 1024 * 1024 * 1024;
const DAY: u64 = 24 * 3600;

/// The values each number may take (inclusive): a value outside stops the start, naming it.
pub(crate) const RANGES: &[(&str, u64, u64)] = &[
    ("login_attempts_per_minute", 1, 10_000),
    ("idle_unload_seconds", 1, DAY),
    ("revision_quiet_seconds", 1, DAY),
    ("compact_every", 10, 1_000_000),
    ("max_frame_bytes", 1024, GIB),
    ("busy_page_window_ms", 0, 100),
    ("max_messages_per_second", 5, 100_000),
    ("max_connections_per_address", 0, 1_000_000),
    ("max_page_chars", 1000, 100_000_000),
    ("revision_retention_days", 1, 100 * 365),
    ("max_upload_bytes", 1024, 16 * GIB),
    ("max_body_bytes", 64 * 1024, GIB),
    ("max_presence_bytes", 256, 1024 * 1024),
    ("max_http_connections_per_address", 0, 1_000_000),
    ("header_timeout_seconds", 1, 3600),
    ("write_timeout_seconds", 1, 3600),
    ("max_search_chars", 10, 10_000),
    ("max_form_fields", 1, 1000),
    ("max_form_choices", 1, 10_000),
    ("max_comment_chars", 100, 1_000_000),
    ("comments_per_minute", 1, 10_000),
];

impl Keys {
    /// The value of a numeric key, if it is one and is set.
    pub fn number(&self, key: &str) -> Option<u64> {
        match serde_json::to_value(self).ok()?.get(key)? {
            serde_json::Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }
}

/// A list from a file (`["a", "b"]`), or from a variable or flag (`a,b`).
fn list<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Text(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(de)? {
        OneOrMany::Text(text) => {
            text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        }
        OneOrMany::Many(items) => items,
    })
}

/// What the flags set (only those given).
#[derive(Debug, Default, Serialize)]
pub(crate) struct Flags {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploads: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_proxies: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_url: Option<String>,
}

/// Variables read without the `RUCHE_` prefix too, as other programs name them.
pub(crate) const UNPREFIXED: &[&str] = &["database_url", "redis_url"];

/// The variable that sets `key`.
pub fn variable(key: &str) -> String {
    format!("RUCHE_{}", key.to_ascii_uppercase())
}

/// The flag that sets `key`, if there is one.
pub fn flag(key: &str) -> Option<String> {
    let flagged = [
        "addr",
        "data",
        "database_url",
        "redis_url",
        "uploads",
        "base_url",
        "trusted_proxies",
        "allowed_origins",
        "smtp_url",
    ];
    flagged.contains(&key).then(|| format!("--{}", key.replace('_', "-")))
}

/// A value as `ruche config` prints it: passwords in URLs masked.
pub fn shown(key: &str, value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::Null => return "(unset)".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => return other.to_string(),
    };
    if key.ends_with("_url") {
        if let Ok(mut url) = url::Url::parse(&text) {
            if url.password().is_some() {
                let _ = url.set_password(Some("****"));
                return url.to_string();
            }
        }
    }
    text
}
