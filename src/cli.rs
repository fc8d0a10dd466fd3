//! The `ruche` command: serve the site (the default), manage accounts and tokens, load the demo.
use std::io::Read;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::{
    app::{self, AppState},
    config::{ServeArgs, Settings, SiteArgs},
    db, demo,
};
use ruche_accounts as accounts;
use ruche_accounts::store::NewUser;

/// Ruche — collaborative wiki for cooperation networks.
///
/// Without a command, `ruche` serves the site (like `ruche serve`). Settings come from flags,
/// environment variables, or a TOML file given with --config.
#[derive(Debug, Parser)]
#[command(name = "ruche", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub site: SiteArgs,

    #[command(flatten)]
    pub serve: ServeArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the site (the default command).
    Serve,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Fill an empty site with demonstration content (spaces, people, organisations).
    Demo,
    /// Print the settings in force and where each came from (default, file, environment,
    /// flag), passwords masked.
    Config,
    /// Mail.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Rebuild the search index from the database (stop the server first).
    Reindex,
    /// Write the whole site (database and uploaded files) to a backup archive; the site may
    /// keep running meanwhile.
    Backup {
        /// The archive to write (a zip file), e.g. ruche-2026-11-23.zip.
        file: std::path::PathBuf,
    },
    /// Write spaces as Markdown files (a zip archive people can open without Ruche).
    Export {
        /// The zip file to write.
        file: std::path::PathBuf,
        /// Only this space (its address, e.g. chantier-1); default: every space.
        #[arg(long)]
        space: Option<String>,
    },
    /// Put a site back from a backup archive, into a new (empty) database and data directory;
    /// works across databases (a SQLite backup restores on PostgreSQL and back).
    Restore {
        /// The archive `ruche backup` wrote.
        file: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from standard input.
    Add {
        /// The person's e-mail address (their sign-in name).
        email: String,
        /// The person's name as others see it.
        #[arg(long)]
        name: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Make the account a site administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List accounts.
    List,
    /// Set an account's password (for the administrator who lost theirs). The password is read
    /// from standard input; every session of the account ends.
    Password {
        /// The account's e-mail address.
        email: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Send a test mail now (not through the outbox) and print what the server answered.
    Test {
        /// Where to send it.
        address: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for an account and print it (it is shown only once).
    Create {
        /// The account's e-mail address.
        email: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

/// Libraries that log what they meet in untrusted input, once per occurrence: the HTML parser
/// under the sanitiser wrote a warning for each of 16 384 `<table>x` in one request (2 MB of
/// log in 0.18 s). What a client sends must not choose how much is logged: they stay silent
/// unless `RUST_LOG` names them.
const CHATTY_ON_INPUT: [&str; 3] = ["html5ever", "markup5ever", "ammonia"];

fn init_logging() {
    let asked = std::env::var("RUST_LOG").unwrap_or_default();
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_sessions=warn")
    });
    for target in CHATTY_ON_INPUT.into_iter().filter(|t| !asked.contains(t)) {
        if let Ok(directive) = format!("{target}=off").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    init_logging();
    if let Some(Command::Config) = cli.command {
        print!("{}", crate::config::report(&cli.site, &cli.serve)?);
        return Ok(());
    }
    let settings = Settings::load(&cli.site, &cli.serve)?;
    let db = db::connect(&settings.database_url).await?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(db, settings).await,
        // Printed above, before the database was opened.
        Command::Config => Ok(()),
        Command::User(UserCommand::Add { email, name, password_stdin: _, admin }) => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            let user =
                accounts::store::create(&db, NewUser { email, name, password, is_admin: admin })
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot create the account: {e}"))?;
            println!(
                "Account created: {} <{}>{}",
                user.name,
                user.email,
                if user.is_admin { " (administrator)" } else { "" }
            );
            Ok(())
        }
        Command::User(UserCommand::Password { email, password_stdin: _ }) => {
            let user = accounts::store::find_by_email(&db, &email)
                .await?
                .with_context(|| format!("no account has the address {email}"))?;
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            accounts::store::set_password(&db, user.id, password).await.map_err(|e| match e {
                accounts::store::PasswordChangeError::ShortPassword => anyhow::anyhow!(
                    "the password is too short: at least {} characters",
                    accounts::MIN_PASSWORD_LEN
                ),
                other => anyhow::anyhow!("{other}"),
            })?;
            println!(
                "The password of {} <{}> is changed; their sessions are ended.",
                user.name, user.email
            );
            Ok(())
        }
        Command::Mail(MailCommand::Test { address }) => {
            let mail_settings = settings.mail.as_ref().context(
                "mail is not set up: give the mail server with --smtp-url or RUCHE_SMTP_URL",
            )?;
            let mailer = ruche_mail::mail::Mailer::new(mail_settings)?;
            let mail = ruche_mail::mail::compose(ruche_mail::mail::Letter {
                site_name: &settings.site_name,
                to: &address,
                subject: format!("Test — {}", settings.site_name),
                greeting: "Bonjour,".to_owned(),
                paragraphs: vec![
                    "Ce courriel de test montre que le site peut envoyer du courrier.".to_owned(),
                ],
                sections: Vec::new(),
                action: Some(("Ouvrir le site".to_owned(), settings.base_url.clone())),
                footer: "Envoyé par `ruche mail test`.".to_owned(),
            });
            match mailer.send(&mail).await {
                Ok(answer) => {
                    println!("Sent to {address}. The server answered: {answer}");
                    Ok(())
                }
                Err(
                    crate::outbox::Refusal::Final(reason) | crate::outbox::Refusal::Retry(reason),
                ) => {
                    bail!("the mail was not sent: {reason}")
                }
            }
        }
        Command::User(UserCommand::List) => {
            for user in accounts::store::list(&db).await? {
                let status = match (user.disabled, user.is_admin) {
                    (true, _) => "disabled",
                    (false, true) => "administrator",
                    (false, false) => "member",
                };
                println!("{}\t{}\t{}", user.email, user.name, status);
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create { email, name }) => {
            let Some(user) = accounts::store::find_by_email(&db, &email).await? else {
                bail!("no account has the address {email}");
            };
            let (_, secret) = accounts::tokens::create(&db, user.id, &name).await?;
            println!("{secret}");
            Ok(())
        }
        Command::Reindex => {
            let search = ruche_search::SearchIndex::open_with(&settings.data_dir, db.clone(), false)
                .context("opening the search index (is the server running on this data directory? stop it first)")?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} pages ({eta} left)")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let started = std::time::Instant::now();
            let n = search
                .rebuild(&db, |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                })
                .await?;
            bar.finish();
            println!(
                "Search index rebuilt: {n} pages in {:.1} s.",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Backup { file } => {
            let bar = progress_bar("rows and files");
            let started = std::time::Instant::now();
            let summary =
                crate::backup::backup(&db, &settings.uploads_dir, &file, |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                })
                .await?;
            bar.finish_and_clear();
            println!("Backup written to {} ({}).", file.display(), size(summary.bytes));
            print_summary(&summary, started);
            for hash in &summary.missing_files {
                eprintln!("warning: the uploaded file {hash} is missing from the uploads folder");
            }
            Ok(())
        }
        Command::Export { file, space } => {
            let spaces = match space {
                Some(slug) => vec![ruche_spaces::store::find(&db, &slug)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no space has the address {slug}"))?],
                None => ruche_spaces::store::all(&db).await?,
            };
            let out = std::fs::File::create(&file)
                .with_context(|| format!("creating {}", file.display()))?;
            let done = crate::backup::markdown::export(
                &db,
                &settings.uploads_dir,
                &settings.base_url,
                &spaces,
                std::io::BufWriter::new(out),
            )
            .await?;
            println!(
                "Exported {} spaces, {} pages and {} files to {}.",
                done.spaces,
                done.pages,
                done.files,
                file.display()
            );
            Ok(())
        }
        Command::Restore { file } => {
            let manifest = crate::backup::manifest(&file)?;
            println!(
                "Restoring the backup of {} (Ruche {}, {}) into {}…",
                manifest.created_at.format("%Y-%m-%d %H:%M UTC"),
                manifest.ruche_version,
                manifest.source,
                db::redact(&settings.database_url)
            );
            let bar = progress_bar("rows and files");
            let started = std::time::Instant::now();
            let summary =
                crate::backup::restore(&db, &settings.uploads_dir, &file, |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                })
                .await?;
            bar.finish_and_clear();
            println!("Site restored.");
            print_summary(&summary, started);
            println!("Start it with `ruche serve` (the search index is rebuilt at start).");
            Ok(())
        }
        Command::Demo => {
            let summary = demo::fill(&db).await?;
            println!("Demo site ready: {} spaces.", summary.spaces);
            // The same data directory (and database) again, or the site starts empty elsewhere.
            let mut again = String::new();
            if settings.data_dir != std::path::Path::new("data") {
                again.push_str(&format!(" --data {}", settings.data_dir.display()));
            }
            if cli.site.database_url.is_some() {
                again.push_str(" --database-url …");
            }
            println!("Start it with `ruche serve{again}` and open {}", settings.base_url);
            println!();
            println!("Sign in as the administrator:");
            println!("  e-mail:   {}", summary.admin_email);
            println!("  password: {}", summary.password);
            println!();
            println!("Other demo accounts (same password):");
            for (name, email, role) in summary.people {
                println!("  {email}  ({name}, {role})");
            }
            Ok(())
        }
    }
}

fn progress_bar(what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!("{{bar:40}} {{pos}}/{{len}} {what}"))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn print_summary(summary: &crate::backup::Summary, started: std::time::Instant) {
    for (label, table) in [
        ("accounts", "users"),
        ("spaces", "spaces"),
        ("pages", "pages"),
        ("revisions", "revisions"),
        ("forms", "forms"),
        ("entry values", "entry_fields"),
        ("document updates", "doc_updates"),
    ] {
        println!("  {:<18} {}", label, summary.rows(table));
    }
    println!("  {:<18} {}", "files", summary.files);
    let rows: u64 = summary.tables.iter().map(|(_, n)| n).sum();
    println!(
        "  {rows} rows in {} tables, {:.1} s",
        summary.tables.len(),
        started.elapsed().as_secs_f64()
    );
}

async fn serve(db: db::Db, settings: Settings) -> anyhow::Result<()> {
    // Each connection is an open file: the default limit (1 024) is reached long before the
    // machine's.
    crate::listener::raise_open_files_limit();
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .with_context(|| format!("listening on {}", settings.addr))?;
    tracing::info!(addr = %settings.addr, database = %db::redact(&settings.database_url), data = %settings.data_dir.display(), "Ruche is serving");
    app::launch(listener, AppState::new(db, settings).await?, shutdown_signal()).await
}

/// Completes on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
