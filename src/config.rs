//! Settings: command-line flags, environment variables and an optional TOML file.
use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Args;
use serde::Deserialize;

/// Flags shared by every command that opens the site's storage.
#[derive(Debug, Clone, Args)]
pub struct SiteArgs {
    /// Data directory: holds the SQLite database and uploaded files.
    #[arg(long = "data", env = "RUCHE_DATA", global = true)]
    pub data: Option<PathBuf>,

    /// Database URL (`sqlite://…` or `postgres://…`). Default: SQLite in the data directory.
    #[arg(long = "database-url", env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Redis URL (`redis://host:port`): lets several processes serve one site on PostgreSQL.
    #[arg(long = "redis-url", env = "REDIS_URL", global = true)]
    pub redis_url: Option<String>,

    /// Folder of uploaded files. Default: `uploads` in the data directory; processes serving
    /// one site share it.
    #[arg(long = "uploads", env = "RUCHE_UPLOADS", global = true)]
    pub uploads: Option<PathBuf>,

    /// Optional TOML file with the same settings (`addr`, `data`, `database_url`, `redis_url`,
    /// `uploads`, `base_url`,
    /// `site_name`, `login_attempts_per_minute`, `revision_retention_days`,
    /// `idle_unload_seconds`, `revision_quiet_seconds`, `compact_every`, `max_frame_bytes`,
    /// `max_messages_per_second`, `max_connections_per_address`, `max_page_chars`,
    /// `max_upload_bytes`, `max_body_bytes`, `max_search_chars`, `max_form_fields`, `max_form_choices`, `trusted_proxies`, `allowed_origins`,
    /// `max_presence_bytes`, `max_http_connections_per_address`,
    /// `header_timeout_seconds`, `time_zone`, `map_tiles`,
    /// `map_attribution`). Flags and environment variables win.
    #[arg(long = "config", env = "RUCHE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

/// Flags of `ruche serve`.
#[derive(Debug, Clone, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long = "addr", env = "RUCHE_ADDR", global = true)]
    pub addr: Option<SocketAddr>,

    /// Public URL of the site (used in links and to mark cookies Secure when it is https).
    #[arg(long = "base-url", env = "RUCHE_BASE_URL", global = true)]
    pub base_url: Option<String>,

    /// Reverse proxies whose `X-Forwarded-For` header names the client, comma-separated
    /// addresses or networks (`127.0.0.1,10.0.0.0/8`): per-address limits then count clients.
    #[arg(
        long = "trusted-proxies",
        env = "RUCHE_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Option<Vec<String>>,

    /// Other origins whose pages may open live connections with a visitor's session cookie,
    /// comma-separated (`https://wiki.example.org`); the base URL's origin always may.
    #[arg(
        long = "allowed-origins",
        env = "RUCHE_ALLOWED_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_origins: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    addr: Option<SocketAddr>,
    data: Option<PathBuf>,
    database_url: Option<String>,
    redis_url: Option<String>,
    uploads: Option<PathBuf>,
    base_url: Option<String>,
    site_name: Option<String>,
    login_attempts_per_minute: Option<u32>,
    revision_retention_days: Option<u32>,
    idle_unload_seconds: Option<u64>,
    revision_quiet_seconds: Option<u64>,
    compact_every: Option<i64>,
    max_frame_bytes: Option<usize>,
    max_messages_per_second: Option<u32>,
    max_connections_per_address: Option<usize>,
    max_page_chars: Option<u32>,
    max_upload_bytes: Option<usize>,
    max_body_bytes: Option<usize>,
    max_search_chars: Option<usize>,
    max_form_fields: Option<usize>,
    max_form_choices: Option<usize>,
    trusted_proxies: Option<Vec<String>>,
    allowed_origins: Option<Vec<String>>,
    max_presence_bytes: Option<usize>,
    max_http_connections_per_address: Option<usize>,
    header_timeout_seconds: Option<u64>,
    map_tiles: Option<String>,
    map_attribution: Option<String>,
    time_zone: Option<String>,
}

/// Everything the application needs to know about where and how it runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Redis, when several processes serve the site (PostgreSQL only).
    pub redis_url: Option<String>,
    /// Where uploaded files are kept (shared by every process of a site).
    pub uploads_dir: PathBuf,
    pub base_url: String,
    pub site_name: String,
    /// Sign-in attempts allowed per minute, per account and per client address.
    pub login_attempts_per_minute: u32,
    /// How long a signed-in session lasts without activity.
    pub session_idle: Duration,
    /// Revisions older than this many days are deleted (the newest of each page stays);
    /// `None` keeps them forever.
    pub revision_retention_days: Option<u32>,
    /// How live documents behave (unloading, compaction, frame size).
    pub collab: crate::collab::CollabSettings,
    /// Largest request body (forms, API); pages and uploads get what they need beyond it.
    pub max_body_bytes: usize,
    /// Longest search query, in characters.
    pub max_search_chars: usize,
    /// Largest uploaded file.
    pub max_upload_bytes: usize,
    /// How many fields and choices a form may have.
    pub forms: crate::forms::FormLimits,
    /// Reverse proxies whose `X-Forwarded-For` names the client (addresses or networks).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Origins besides `base_url`'s whose pages may open live connections with a visitor's
    /// session cookie (`https://wiki.example.org`).
    pub allowed_origins: Vec<String>,
    /// Open connections (of any kind) one client address may hold; 0: no limit. Trusted
    /// proxies have none.
    pub max_http_connections_per_address: usize,
    /// How long a connection may take to send a request's headers, or stay idle between two.
    pub header_timeout: Duration,
    /// The map's tile server, as a Leaflet URL template, and the credit it asks for.
    pub map_tiles: String,
    pub map_attribution: String,
    /// Where the site's days and hours are told (`Europe/Paris`).
    pub time_zone: chrono_tz::Tz,
}

pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

impl Settings {
    /// Settings for the given data directory and database, with every other value at its default.
    pub fn new(data_dir: PathBuf, database_url: String) -> Self {
        let addr: SocketAddr =
            DEFAULT_ADDR.parse().unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
        Self {
            addr,
            base_url: format!("http://{addr}"),
            uploads_dir: data_dir.join("uploads"),
            data_dir,
            database_url,
            redis_url: None,
            site_name: "Ruche".to_owned(),
            login_attempts_per_minute: 5,
            session_idle: Duration::from_secs(14 * 24 * 3600),
            revision_retention_days: None,
            collab: crate::collab::CollabSettings::default(),
            max_upload_bytes: 10 * 1024 * 1024,
            max_body_bytes: 1024 * 1024,
            max_search_chars: 200,
            forms: crate::forms::FormLimits::default(),
            trusted_proxies: Vec::new(),
            allowed_origins: Vec::new(),
            max_http_connections_per_address: 256,
            header_timeout: Duration::from_secs(15),
            map_tiles: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".to_owned(),
            map_attribution: "© OpenStreetMap contributors".to_owned(),
            time_zone: crate::dates::DEFAULT_TIME_ZONE,
        }
    }

    /// Merges the file, then the environment and flags (which win).
    pub fn load(site: &SiteArgs, serve: &ServeArgs) -> anyhow::Result<Self> {
        let file = match &site.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("reading the configuration file {}", path.display())
                })?;
                toml::from_str::<FileSettings>(&text)
                    .with_context(|| format!("reading the configuration file {}", path.display()))?
            }
            None => FileSettings::default(),
        };
        let data_dir = site.data.clone().or(file.data).unwrap_or_else(|| PathBuf::from("data"));
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
        let database_url = site
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| sqlite_url(&data_dir.join("ruche.db")));
        let mut settings = Self::new(data_dir, database_url);
        settings.redis_url = site.redis_url.clone().or(file.redis_url);
        if let Some(url) = &settings.redis_url {
            if !settings.database_url.starts_with("postgres") {
                anyhow::bail!(
                    "REDIS_URL is set but the database is SQLite: several processes need PostgreSQL (DATABASE_URL=postgres://…); leave REDIS_URL unset for one process"
                );
            }
            url::Url::parse(url).with_context(|| format!("the Redis URL {url:?} is not a URL"))?;
        }
        if let Some(dir) = site.uploads.clone().or(file.uploads) {
            settings.uploads_dir = dir;
        }
        if let Some(addr) = serve.addr.or(file.addr) {
            settings.addr = addr;
            settings.base_url = format!("http://{addr}");
        }
        if let Some(base_url) = serve.base_url.clone().or(file.base_url) {
            url::Url::parse(&base_url)
                .with_context(|| format!("the base URL {base_url:?} is not a URL"))?;
            settings.base_url = base_url.trim_end_matches('/').to_owned();
        }
        if let Some(name) = file.site_name {
            settings.site_name = name;
        }
        settings.revision_retention_days = file.revision_retention_days;
        if let Some(secs) = file.idle_unload_seconds {
            settings.collab.idle_unload = Duration::from_secs(secs.max(1));
        }
        if let Some(secs) = file.revision_quiet_seconds {
            settings.collab.revision_quiet = Duration::from_secs(secs.max(1));
        }
        if let Some(n) = file.compact_every {
            settings.collab.compact_every = n.max(10);
        }
        if let Some(bytes) = file.max_frame_bytes {
            settings.collab.max_frame_bytes = bytes.max(1024);
        }
        if let Some(n) = file.max_messages_per_second {
            settings.collab.max_messages_per_second = n.max(5);
        }
        if let Some(n) = file.max_connections_per_address {
            settings.collab.max_connections_per_address = n;
        }
        if let Some(n) = file.max_page_chars {
            settings.collab.max_page_chars = n.max(1000);
        }
        if let Some(bytes) = file.max_upload_bytes {
            settings.max_upload_bytes = bytes.max(1024);
        }
        if let Some(proxies) = serve.trusted_proxies.clone().or(file.trusted_proxies) {
            settings.trusted_proxies =
                proxies.iter().map(|text| parse_proxy(text)).collect::<anyhow::Result<_>>()?;
        }
        if let Some(origins) = serve.allowed_origins.clone().or(file.allowed_origins) {
            settings.allowed_origins = origins
                .iter()
                .map(|text| {
                    let url = url::Url::parse(text.trim())
                        .with_context(|| format!("the allowed origin {text:?} is not a URL"))?;
                    Ok(url.origin().ascii_serialization())
                })
                .collect::<anyhow::Result<_>>()?;
        }
        if let Some(n) = file.max_http_connections_per_address {
            settings.max_http_connections_per_address = n;
        }
        if let Some(secs) = file.header_timeout_seconds {
            settings.header_timeout = Duration::from_secs(secs.max(1));
        }
        if let Some(bytes) = file.max_presence_bytes {
            settings.collab.max_presence_bytes = bytes.max(256);
        }
        if let Some(bytes) = file.max_body_bytes {
            settings.max_body_bytes = bytes.max(64 * 1024);
        }
        if let Some(n) = file.max_search_chars {
            settings.max_search_chars = n.max(10);
        }
        if let Some(n) = file.max_form_fields {
            settings.forms.max_fields = n.max(1);
        }
        if let Some(n) = file.max_form_choices {
            settings.forms.max_choices = n.max(1);
        }
        if let Some(tiles) = file.map_tiles {
            settings.map_tiles = tiles;
        }
        if let Some(zone) = file.time_zone {
            settings.time_zone = crate::dates::parse_zone(&zone).with_context(|| {
                format!("the time zone {zone:?} is not one (for example Europe/Paris)")
            })?;
        }
        if let Some(credit) = file.map_attribution {
            settings.map_attribution = credit;
        }
        if let Some(n) = file.login_attempts_per_minute {
            settings.login_attempts_per_minute = n.max(1);
        }
        Ok(settings)
    }

    /// Largest body of a request that writes a whole page (the edit form, the API): a page of
    /// `max_page_chars` characters fits, with the state it was edited from, even when each
    /// character takes three bytes and a form escapes each byte as three.
    pub fn page_body_bytes(&self) -> usize {
        let page = usize::try_from(self.collab.max_page_chars).unwrap_or(usize::MAX);
        self.max_body_bytes.max(page.saturating_mul(16))
    }

    /// Cookies get the Secure flag when people reach the site over https.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

/// `10.0.0.0/8` or a single address (`127.0.0.1`, `::1`).
fn parse_proxy(text: &str) -> anyhow::Result<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .with_context(|| format!("the trusted proxy {text:?} is neither an address nor a network"))
}

/// The SQLite URL of a database file, created when missing.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_file_sets_what_flags_leave_unset() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = dir.path().join("ruche.toml");
        std::fs::write(
            &file,
            "site_name = \"Chantiers coopératifs\"\naddr = \"127.0.0.1:9000\"\nrevision_quiet_seconds = 30\nmax_frame_bytes = 65536\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\nmax_form_choices = 20\n",
        )
        .expect("write");
        let site = SiteArgs {
            redis_url: None,
            uploads: None,
            data: Some(dir.path().join("data")),
            database_url: None,
            config: Some(file),
        };
        let serve = ServeArgs {
            addr: None,
            base_url: Some("https://wiki.example.org/".into()),
            trusted_proxies: None,
            allowed_origins: None,
        };
        let settings = Settings::load(&site, &serve).expect("settings load");
        assert_eq!(settings.site_name, "Chantiers coopératifs");
        assert_eq!(settings.addr.port(), 9000);
        assert_eq!(settings.base_url, "https://wiki.example.org");
        assert!(settings.secure_cookies());
        assert_eq!(settings.collab.revision_quiet, Duration::from_secs(30));
        assert_eq!(settings.collab.max_frame_bytes, 65536);
        assert!(settings.database_url.starts_with("sqlite://"));
        let proxies: Vec<String> = settings.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(proxies, ["10.0.0.0/8", "::1/128"]);
        assert_eq!(settings.forms.max_choices, 20);
        // A flag wins over the file; something that is not an address is refused.
        let flag = ServeArgs { trusted_proxies: Some(vec!["127.0.0.1".into()]), ..serve.clone() };
        let settings = Settings::load(&site, &flag).expect("settings load");
        assert_eq!(settings.trusted_proxies.len(), 1);
        let wrong = ServeArgs { trusted_proxies: Some(vec!["nginx".into()]), ..serve };
        let err = Settings::load(&site, &wrong).expect_err("not an address");
        assert!(format!("{err:#}").contains("nginx"), "{err:#}");
    }

    #[test]
    fn an_unknown_key_in_the_config_file_is_an_error() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = dir.path().join("ruche.toml");
        std::fs::write(&file, "colour = \"blue\"\n").expect("write");
        let site = SiteArgs {
            redis_url: None,
            uploads: None,
            data: Some(dir.path().join("data")),
            database_url: None,
            config: Some(file),
        };
        let err = Settings::load(&site, &ServeArgs::default()).expect_err("refused");
        assert!(format!("{err:#}").contains("colour"), "{err:#}");
    }
}
