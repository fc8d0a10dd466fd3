//! Settings, in layers: defaults, then an optional TOML file, then `RUCHE_<KEY>` environment
//! variables, then flags — read by figment into one `Settings`. A value of the wrong type or out
//! of range, and an unknown key in the file, stop the start with the key named.
mod keys;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Args;
use figment::{
    providers::{Env, Format, Serialized, Toml},
    Figment, Metadata, Profile, Provider,
};

use crate::{collab, dates, outbox};
pub use keys::Keys;
use ruche_discussions as discussions;
use ruche_forms as forms;
use ruche_mail::mail;
use ruche_notifications as notifications;

/// Flags shared by every command that opens the site's storage.
#[derive(Debug, Clone, Args)]
pub struct SiteArgs {
    /// Data directory: holds the SQLite database and uploaded files.
    #[arg(long = "data", global = true)]
    pub data: Option<PathBuf>,

    /// Database URL (`sqlite://…` or `postgres://…`). Default: SQLite in the data directory.
    #[arg(long = "database-url", global = true)]
    pub database_url: Option<String>,

    /// Redis URL (`redis://host:port`): lets several processes serve one site on PostgreSQL.
    #[arg(long = "redis-url", global = true)]
    pub redis_url: Option<String>,

    /// Folder of uploaded files. Default: `uploads` in the data directory; processes serving
    /// one site share it.
    #[arg(long = "uploads", global = true)]
    pub uploads: Option<PathBuf>,

    /// Optional TOML file with any of the settings (see `ruche config` and the README).
    /// Environment variables (`RUCHE_<KEY>`) win over it, and flags over them.
    #[arg(long = "config", env = "RUCHE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

/// Flags of `ruche serve`.
#[derive(Debug, Clone, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long = "addr", global = true)]
    pub addr: Option<SocketAddr>,

    /// Public URL of the site (used in links and to mark cookies Secure when it is https).
    #[arg(long = "base-url", global = true)]
    pub base_url: Option<String>,

    /// Reverse proxies whose `X-Forwarded-For` header names the client, comma-separated
    /// addresses or networks (`127.0.0.1,10.0.0.0/8`): per-address limits then count clients.
    #[arg(long = "trusted-proxies", value_delimiter = ',', global = true)]
    pub trusted_proxies: Option<Vec<String>>,

    /// Other origins whose pages may open live connections with a visitor's session cookie,
    /// comma-separated (`https://wiki.example.org`); the base URL's origin always may.
    #[arg(long = "allowed-origins", value_delimiter = ',', global = true)]
    pub allowed_origins: Option<Vec<String>>,

    /// The mail server (`smtp://host:25`, `smtp://host:587?tls=required`,
    /// `smtps://user:password@host:465`). Without it, the site sends no mail.
    #[arg(long = "smtp-url", global = true)]
    pub smtp_url: Option<String>,
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
    pub collab: collab::CollabSettings,
    /// Largest request body (forms, API); pages and uploads get what they need beyond it.
    pub max_body_bytes: usize,
    /// Longest search query, in characters.
    pub max_search_chars: usize,
    /// Largest uploaded file.
    pub max_upload_bytes: usize,
    /// How many fields and choices a form may have.
    pub forms: forms::FormLimits,
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
    /// How long an answer may wait for a client that reads none of it.
    pub write_timeout: Duration,
    /// The map's tile server, as a Leaflet URL template, and the credit it asks for.
    pub map_tiles: String,
    pub map_attribution: String,
    /// Where the site's days and hours are told (`Europe/Paris`).
    pub time_zone: chrono_tz::Tz,
    /// How mail leaves (none: the site sends none, and says so where it would).
    pub mail: Option<mail::MailSettings>,
    /// How the outbox retries (not a key: tests make it quick).
    pub outbox: outbox::OutboxSettings,
    /// How long a comment may be, and how many one person may post in a minute.
    pub comments: discussions::Limits,
    /// How often digests and the bell are looked at (not keys either).
    pub notify: notifications::Pace,
}

pub const DEFAULT_ADDR: SocketAddr = keys::DEFAULT_ADDR;

/// The layers of the configuration, lowest first.
pub fn layers(site: &SiteArgs, serve: &ServeArgs) -> Figment {
    let mut figment = Figment::new().merge(Named("default", Serialized::defaults(Keys::default())));
    if let Some(path) = &site.config {
        figment = figment.merge(Toml::file_exact(path));
    }
    let known = keys::names();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let flags = keys::Flags {
        addr: serve.addr,
        data: site.data.clone(),
        database_url: site.database_url.clone(),
        redis_url: site.redis_url.clone(),
        uploads: site.uploads.clone(),
        base_url: serve.base_url.clone(),
        trusted_proxies: serve.trusted_proxies.clone(),
        allowed_origins: serve.allowed_origins.clone(),
        smtp_url: serve.smtp_url.clone(),
    };
    figment
        .merge(Env::raw().only(keys::UNPREFIXED))
        .merge(Env::prefixed("RUCHE_").only(&known))
        .merge(Named("flag", Serialized::defaults(flags)))
}

/// A provider under a name of ours (for messages and `ruche config`).
struct Named<P>(&'static str, P);

impl<P: Provider> Provider for Named<P> {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.0)
    }

    fn data(&self) -> figment::Result<figment::value::Map<Profile, figment::value::Dict>> {
        self.1.data()
    }
}

/// Where the value of `key` came from, in words: "default", "file ruche.toml", "environment
/// RUCHE_SITE_NAME", "flag --addr".
pub fn source(figment: &Figment, key: &str) -> String {
    match figment.find_metadata(key) {
        Some(meta) => origin(meta, key),
        None => "default".to_owned(),
    }
}

/// The source a value of `key` was read from, in words.
fn origin(meta: &Metadata, key: &str) -> String {
    match meta.name.as_ref() {
        "default" => "default".to_owned(),
        "flag" => format!("flag {}", keys::flag(key).unwrap_or_default()),
        name if name.contains("environment") => {
            let prefixed = keys::variable(key);
            if std::env::var_os(&prefixed).is_some() || !keys::UNPREFIXED.contains(&key) {
                format!("environment {prefixed}")
            } else {
                format!("environment {}", key.to_ascii_uppercase())
            }
        }
        _ => match &meta.source {
            Some(figment::Source::File(path)) => format!("file {}", path.display()),
            _ => meta.name.to_string(),
        },
    }
}

impl Settings {
    /// What notifications need to know to mail (the site's address, name and zone).
    pub fn mailing(&self) -> notifications::Mailing {
        notifications::Mailing {
            base_url: self.base_url.clone(),
            site_name: self.site_name.clone(),
            on: self.mail.is_some(),
            zone: self.time_zone,
        }
    }

    /// Settings for the given data directory and database, with every other value at its default.
    pub fn new(data_dir: PathBuf, database_url: String) -> Self {
        let keys = Keys { data: data_dir, database_url: Some(database_url), ..Keys::default() };
        match Self::from_keys(keys, |_| String::new()) {
            Ok(settings) => settings,
            // The defaults are in range: this cannot happen, but must not panic either.
            Err(err) => unreachable!("the default settings are valid: {err:#}"),
        }
    }

    /// Reads the layers (defaults, file, environment, flags) and checks every value.
    pub fn load(site: &SiteArgs, serve: &ServeArgs) -> anyhow::Result<Self> {
        let figment = layers(site, serve);
        let keys: Keys = figment.extract().map_err(|err| anyhow::anyhow!(describe(&err)))?;
        let settings = Self::from_keys(keys, |key| source(&figment, key))?;
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!("creating the data directory {}", settings.data_dir.display())
        })?;
        Ok(settings)
    }

    /// The settings these keys give, after checking each (`from(key)` says where a key was set,
    /// for the message).
    fn from_keys(k: Keys, from: impl Fn(&str) -> String) -> anyhow::Result<Self> {
        for (key, min, max) in keys::RANGES {
            if let Some(n) = k.number(key) {
                if n < *min || n > *max {
                    anyhow::bail!(
                        "the setting {key} = {n} ({}) is out of range: it must be from {min} to {max}",
                        from(key)
                    );
                }
            }
        }
        let wrong = |key: &str, value: &str, allowed: &str| {
            anyhow::anyhow!("the setting {key} = {value:?} ({}) is not {allowed}", from(key))
        };
        let database_url =
            k.database_url.clone().unwrap_or_else(|| sqlite_url(&k.data.join("ruche.db")));
        if let Some(url) = &k.redis_url {
            if !database_url.starts_with("postgres") {
                anyhow::bail!(
                    "redis_url is set ({}) but the database is SQLite: several processes need PostgreSQL (DATABASE_URL=postgres://…); leave it unset for one process",
                    from("redis_url")
                );
            }
            url::Url::parse(url).map_err(|_| wrong("redis_url", url, "a URL"))?;
        }
        let base_url = match &k.base_url {
            Some(url) => {
                url::Url::parse(url).map_err(|_| wrong("base_url", url, "a URL"))?;
                url.trim_end_matches('/').to_owned()
            }
            None => format!("http://{}", k.addr),
        };
        let time_zone = dates::parse_zone(&k.time_zone).ok_or_else(|| {
            wrong("time_zone", &k.time_zone, "a time zone (for example Europe/Paris)")
        })?;
        let trusted_proxies = k
            .trusted_proxies
            .iter()
            .map(|text| {
                parse_proxy(text).map_err(|_| {
                    wrong("trusted_proxies", text, "an address or a network (10.0.0.0/8)")
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let allowed_origins = k
            .allowed_origins
            .iter()
            .map(|text| {
                url::Url::parse(text.trim())
                    .map(|url| url.origin().ascii_serialization())
                    .map_err(|_| wrong("allowed_origins", text, "a URL"))
            })
            .collect::<anyhow::Result<_>>()?;
        // In range, so these conversions hold.
        let small = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let collab = collab::CollabSettings {
            idle_unload: Duration::from_secs(k.idle_unload_seconds),
            revision_quiet: Duration::from_secs(k.revision_quiet_seconds),
            compact_every: i64::try_from(k.compact_every).unwrap_or(i64::MAX),
            max_frame_bytes: size(k.max_frame_bytes),
            busy_page_window: Duration::from_millis(k.busy_page_window_ms),
            max_messages_per_second: small(k.max_messages_per_second),
            max_connections_per_address: size(k.max_connections_per_address),
            max_page_chars: small(k.max_page_chars),
            max_presence_bytes: size(k.max_presence_bytes),
            ..collab::CollabSettings::default()
        };
        let mail = match &k.smtp_url {
            Some(url) => Some(mail::MailSettings::new(url, &k.mail_from).map_err(|e| {
                anyhow::anyhow!("the setting smtp_url or mail_from ({}): {e}", from("smtp_url"))
            })?),
            None => None,
        };
        Ok(Self {
            mail,
            outbox: outbox::OutboxSettings::default(),
            notify: notifications::Pace::default(),
            addr: k.addr,
            base_url,
            uploads_dir: k.uploads.clone().unwrap_or_else(|| k.data.join("uploads")),
            data_dir: k.data,
            database_url,
            redis_url: k.redis_url,
            site_name: k.site_name,
            login_attempts_per_minute: small(k.login_attempts_per_minute),
            session_idle: Duration::from_secs(14 * 24 * 3600),
            revision_retention_days: k.revision_retention_days.map(small),
            collab,
            max_upload_bytes: size(k.max_upload_bytes),
            max_body_bytes: size(k.max_body_bytes),
            max_search_chars: size(k.max_search_chars),
            forms: forms::FormLimits {
                max_fields: size(k.max_form_fields),
                max_choices: size(k.max_form_choices),
            },
            comments: discussions::Limits {
                max_chars: size(k.max_comment_chars),
                per_minute: small(k.comments_per_minute),
            },
            trusted_proxies,
            allowed_origins,
            max_http_connections_per_address: size(k.max_http_connections_per_address),
            header_timeout: Duration::from_secs(k.header_timeout_seconds),
            write_timeout: Duration::from_secs(k.write_timeout_seconds),
            map_tiles: k.map_tiles,
            map_attribution: k.map_attribution,
            time_zone,
        })
    }

    /// Largest body of a request that writes a whole page (the edit form, the API): a page of
    /// `max_page_chars` characters fits, with the state it was edited from, even when each
    /// character takes three bytes and a form escapes each byte as three.
    pub(crate) fn page_body_bytes(&self) -> usize {
        let page = usize::try_from(self.collab.max_page_chars).unwrap_or(usize::MAX);
        self.max_body_bytes.max(page.saturating_mul(16))
    }

    /// Cookies get the Secure flag when people reach the site over https.
    pub(crate) fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

/// `ruche config`: every setting in force, where it came from, passwords masked.
pub fn report(site: &SiteArgs, serve: &ServeArgs) -> anyhow::Result<String> {
    let figment = layers(site, serve);
    let keys: Keys = figment.extract().map_err(|err| anyhow::anyhow!(describe(&err)))?;
    // Checked like at start: what is printed is what would run.
    Settings::from_keys(keys.clone(), |key| source(&figment, key))?;
    let values = serde_json::to_value(&keys)?;
    let mut out = String::new();
    for key in keys::names() {
        let value = keys::shown(&key, &values[&key]);
        out.push_str(&format!("{key} = {value}    # {}\n", source(&figment, &key)));
    }
    Ok(out)
}

/// A figment error as one line naming the key, its value and where it was set.
fn describe(err: &figment::Error) -> String {
    let mut lines = Vec::new();
    for e in err.clone() {
        let key = e.path.join(".");
        let from = e.metadata.as_ref().map(|m| origin(m, &key)).unwrap_or_default();
        let detail = match &e.kind {
            figment::error::Kind::UnknownField(field, _) => {
                format!("unknown setting {field:?} (see `ruche config` for the settings there are)")
            }
            kind => kind.to_string().replace("expected u64", "expected a whole number"),
        };
        lines.push(match (key.is_empty(), from.is_empty()) {
            (true, _) => format!("configuration: {detail}"),
            (false, true) => format!("the setting {key}: {detail}"),
            (false, false) => format!("the setting {key} ({from}): {detail}"),
        });
    }
    lines.join("; ")
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
#[allow(clippy::result_large_err)] // figment's Jail returns its own (large) error type
mod tests {
    use super::*;

    /// A key, a value other than its default, and how to see that value in `Settings`.
    type Case = (&'static str, &'static str, fn(&Settings) -> bool);

    fn site(config: Option<&str>) -> SiteArgs {
        SiteArgs {
            redis_url: None,
            uploads: None,
            data: None,
            database_url: None,
            config: config.map(PathBuf::from),
        }
    }

    #[test]
    fn the_config_file_sets_what_flags_leave_unset() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "ruche.toml",
                "site_name = \"Chantiers coopératifs\"\naddr = \"127.0.0.1:9000\"\nrevision_quiet_seconds = 30\nmax_frame_bytes = 65536\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\nmax_form_choices = 20\n",
            )?;
            let serve = ServeArgs {
                base_url: Some("https://wiki.example.org/".into()),
                ..ServeArgs::default()
            };
            let settings = Settings::load(&site(Some("ruche.toml")), &serve).expect("loads");
            assert_eq!(settings.site_name, "Chantiers coopératifs");
            assert_eq!(settings.addr.port(), 9000);
            assert_eq!(settings.base_url, "https://wiki.example.org");
            assert!(settings.secure_cookies());
            assert_eq!(settings.collab.revision_quiet, Duration::from_secs(30));
            assert_eq!(settings.collab.max_frame_bytes, 65536);
            assert!(settings.database_url.starts_with("sqlite://"));
            let proxies: Vec<String> =
                settings.trusted_proxies.iter().map(|n| n.to_string()).collect();
            assert_eq!(proxies, ["10.0.0.0/8", "::1/128"]);
            assert_eq!(settings.forms.max_choices, 20);
            // A flag wins over the file; something that is not an address is refused.
            let flag = ServeArgs {
                trusted_proxies: Some(vec!["127.0.0.1".into()]),
                ..ServeArgs::default()
            };
            let settings = Settings::load(&site(Some("ruche.toml")), &flag).expect("loads");
            assert_eq!(settings.trusted_proxies.len(), 1);
            let wrong =
                ServeArgs { trusted_proxies: Some(vec!["nginx".into()]), ..ServeArgs::default() };
            let err = Settings::load(&site(None), &wrong).expect_err("not an address");
            assert!(format!("{err:#}").contains("nginx"), "{err:#}");
            Ok(())
        });
    }

    /// A case for each key.
    fn every_key() -> Vec<Case> {
        vec![
            ("addr", "127.0.0.1:9100", |s| s.addr.port() == 9100),
            ("data", "elsewhere", |s| s.data_dir.as_path() == std::path::Path::new("elsewhere")),
            ("database_url", "postgres://ruche:secret@db/ruche", |s| {
                s.database_url.starts_with("postgres://")
            }),
            ("redis_url", "redis://cache:6379", |s| s.redis_url.is_some()),
            ("uploads", "/srv/files", |s| {
                s.uploads_dir.as_path() == std::path::Path::new("/srv/files")
            }),
            ("base_url", "https://wiki.example.org", |s| s.secure_cookies()),
            ("site_name", "Chantiers", |s| s.site_name == "Chantiers"),
            ("time_zone", "America/Martinique", |s| s.time_zone.name() == "America/Martinique"),
            ("login_attempts_per_minute", "9", |s| s.login_attempts_per_minute == 9),
            ("idle_unload_seconds", "61", |s| s.collab.idle_unload.as_secs() == 61),
            ("revision_quiet_seconds", "121", |s| s.collab.revision_quiet.as_secs() == 121),
            ("compact_every", "501", |s| s.collab.compact_every == 501),
            ("max_frame_bytes", "2048", |s| s.collab.max_frame_bytes == 2048),
            ("busy_page_window_ms", "0", |s| s.collab.busy_page_window.is_zero()),
            ("max_messages_per_second", "7", |s| s.collab.max_messages_per_second == 7),
            ("max_connections_per_address", "0", |s| s.collab.max_connections_per_address == 0),
            ("max_page_chars", "5000", |s| s.collab.max_page_chars == 5000),
            ("revision_retention_days", "30", |s| s.revision_retention_days == Some(30)),
            ("max_upload_bytes", "4096", |s| s.max_upload_bytes == 4096),
            ("trusted_proxies", "127.0.0.1,10.0.0.0/8", |s| s.trusted_proxies.len() == 2),
            ("max_body_bytes", "70000", |s| s.max_body_bytes == 70000),
            ("allowed_origins", "https://a.example.org/x,https://b.example.org", |s| {
                s.allowed_origins == ["https://a.example.org", "https://b.example.org"]
            }),
            ("max_presence_bytes", "300", |s| s.collab.max_presence_bytes == 300),
            ("max_http_connections_per_address", "12", |s| {
                s.max_http_connections_per_address == 12
            }),
            ("header_timeout_seconds", "16", |s| s.header_timeout.as_secs() == 16),
            ("write_timeout_seconds", "17", |s| s.write_timeout.as_secs() == 17),
            ("max_search_chars", "11", |s| s.max_search_chars == 11),
            ("max_form_fields", "2", |s| s.forms.max_fields == 2),
            ("max_form_choices", "3", |s| s.forms.max_choices == 3),
            ("max_comment_chars", "500", |s| s.comments.max_chars == 500),
            ("comments_per_minute", "4", |s| s.comments.per_minute == 4),
            ("map_tiles", "https://tiles.example.org/{z}/{x}/{y}.png", |s| {
                s.map_tiles.starts_with("https://tiles.")
            }),
            ("map_attribution", "Les tuiles", |s| s.map_attribution == "Les tuiles"),
            ("smtp_url", "smtp://mail.example.org:2525", |s| s.mail.is_some()),
            ("mail_from", "Chantiers <wiki@example.org>", |s| {
                s.mail.as_ref().is_some_and(|m| m.from.to_string().contains("wiki@example.org"))
            }),
        ]
    }

    #[test]
    fn every_key_is_set_by_its_environment_variable() {
        let covered: Vec<&str> = every_key().iter().map(|(k, ..)| *k).collect();
        let mut names = keys::names();
        names.sort();
        let mut sorted = covered.clone();
        sorted.sort();
        assert_eq!(sorted, names, "every key has a case here");
        figment::Jail::expect_with(|jail| {
            for (key, value, _) in every_key() {
                jail.set_env(keys::variable(key), value);
            }
            let settings = Settings::load(&site(None), &ServeArgs::default()).expect("loads");
            for (key, value, holds) in every_key() {
                assert!(
                    holds(&settings),
                    "{} = {value} did not reach the settings",
                    keys::variable(key)
                );
            }
            Ok(())
        });
    }

    #[test]
    fn values_out_of_range_or_of_the_wrong_type_are_refused_with_the_key_named() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("RUCHE_COMPACT_EVERY", "3");
            let err = Settings::load(&site(None), &ServeArgs::default()).expect_err("out of range");
            let said = format!("{err:#}");
            assert!(
                said.contains("compact_every = 3") && said.contains("RUCHE_COMPACT_EVERY"),
                "{said}"
            );
            assert!(said.contains("from 10 to"), "{said}");
            jail.set_env("RUCHE_COMPACT_EVERY", "500");
            jail.set_env("RUCHE_MAX_FRAME_BYTES", "beaucoup");
            let err = Settings::load(&site(None), &ServeArgs::default()).expect_err("not a number");
            assert!(format!("{err:#}").contains("max_frame_bytes"), "{err:#}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_in_the_config_file_is_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("ruche.toml", "colour = \"blue\"\n")?;
            let err = Settings::load(&site(Some("ruche.toml")), &ServeArgs::default())
                .expect_err("refused");
            assert!(format!("{err:#}").contains("colour"), "{err:#}");
            Ok(())
        });
    }

    #[test]
    fn the_report_says_where_each_setting_came_from_and_masks_passwords() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("ruche.toml", "site_name = \"Chantiers\"\n")?;
            jail.set_env("RUCHE_MAX_SEARCH_CHARS", "50");
            jail.set_env("DATABASE_URL", "postgres://ruche:secret@db/ruche");
            let serve = ServeArgs { addr: Some(DEFAULT_ADDR), ..ServeArgs::default() };
            let report = report(&site(Some("ruche.toml")), &serve).expect("report");
            assert!(report.contains("site_name = Chantiers    # file ruche.toml"), "{report}");
            assert!(report.contains("# environment RUCHE_MAX_SEARCH_CHARS"), "{report}");
            assert!(report.contains("# environment DATABASE_URL"), "{report}");
            assert!(report.contains("# flag --addr"), "{report}");
            assert!(report.contains("compact_every = 500    # default"), "{report}");
            assert!(!report.contains("secret") && report.contains("****"), "{report}");
            Ok(())
        });
    }

    #[test]
    fn the_readme_lists_every_key_with_its_variable() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("## Configuration")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("a Configuration section");
        let mut listed = Vec::new();
        for row in section.lines().filter(|l| l.starts_with("| ") || l.starts_with("| |")) {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let Some(key) = cells.get(3).and_then(|c| c.strip_prefix('`')?.strip_suffix('`'))
            else {
                continue;
            };
            let variable = keys::variable(key);
            assert!(cells[2].contains(&variable), "the README names {variable} for {key}");
            listed.push(key.to_owned());
        }
        listed.sort();
        let mut names = keys::names();
        names.sort();
        assert_eq!(listed, names, "the README's table and the settings agree");
    }
}
