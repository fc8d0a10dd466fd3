//! Load program: N websocket clients on M pages, each typing at a given rate, against a Ruche
//! server it starts (SQLite in a scratch folder by default, or `--database-url`), or against one
//! already running (`--target`). Prints updates per second, the latency from an update's send to
//! its receipt by another client on the same page (p50, p99, max), errors, and the server's
//! resident memory.
//!
//!     cargo build --release
//!     target/release/ruche-load --clients 1000 --pages 100 --rate 2 --duration 30
use std::{
    collections::HashMap,
    path::PathBuf,
    process::Stdio,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use ruche::collab::protocol::{self, Message};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message as Ws};
use yrs::{updates::decoder::Decode, Doc, OffsetKind, Options, ReadTxn, Text, Transact, Update};

#[derive(Parser, Debug)]
#[command(name = "ruche-load", about = "Load test for Ruche's live editing")]
struct Args {
    /// Websocket clients.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Pages the clients are spread over.
    #[arg(long, default_value_t = 10)]
    pages: usize,
    /// Keystrokes per second per client.
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Seconds of typing measured.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Database for the server this program starts (default: SQLite in a scratch folder).
    #[arg(long)]
    database_url: Option<String>,
    /// Use a server already running at this http:// address instead of starting one.
    #[arg(long)]
    target: Option<String>,
    /// API token of an administrator of the `--target` server.
    #[arg(long)]
    token: Option<String>,
    /// Process id of the `--target` server, to report its memory and CPU time.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The server's protocol: `ruche`, `y-websocket` (the reference server: one room per URL
    /// path) or `hocuspocus` (one URL, the document's name before every message, an
    /// authentication message first). Other peers than `ruche` need `--target ws://…`.
    #[arg(long, value_enum, default_value_t = Peer::Ruche)]
    peer: Peer,
    /// Idle connections (people reading) spread over the pages, besides the typing clients.
    #[arg(long, default_value_t = 0)]
    readers: usize,
    /// Ruche processes serving the site together (more than one needs a PostgreSQL
    /// `--database-url` and `--redis-url`); the clients of each page are spread over them, so
    /// the latency measured crosses processes.
    #[arg(long, default_value_t = 1)]
    processes: usize,
    /// Redis for `--processes` above 1.
    #[arg(long)]
    redis_url: Option<String>,
    /// Soak: for `--duration` seconds, every client keeps opening a random page, typing on it
    /// for 1 to 5 seconds, and leaving; the server's memory is printed every `--report-every`
    /// seconds, to see it stay flat once warm (pages leave memory, nothing leaks).
    #[arg(long)]
    soak: bool,
    #[arg(long, default_value_t = 30)]
    report_every: u64,
    /// Seconds a page nobody has open stays in memory, for the servers this program starts
    /// (the site's `idle_unload_seconds`; a soak with a short one sees pages come and go).
    #[arg(long)]
    idle_unload: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Peer {
    Ruche,
    YWebsocket,
    Hocuspocus,
}

/// When each update was sent, by (client id, clock of its first item): receivers look it up.
type SendTimes = Arc<Mutex<HashMap<(u64, u32), Instant>>>;

#[derive(Default)]
struct Stats {
    sent: AtomicU64,
    received: AtomicU64,
    errors: AtomicU64,
    /// Connections the server closed (or lost) before the end.
    dropped: AtomicU64,
    connected: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
}

struct Server {
    base: String,
    token: String,
    pid: Option<u32>,
    _child: Option<tokio::process::Child>,
    /// Further processes serving the same site (address, process id).
    others: Vec<(String, Option<u32>, tokio::process::Child)>,
    /// The site's database, when this program started the server.
    database_url: Option<String>,
}

impl Server {
    fn bases(&self) -> Vec<&str> {
        std::iter::once(self.base.as_str())
            .chain(self.others.iter().map(|o| o.0.as_str()))
            .collect()
    }

    fn pids(&self) -> Vec<u32> {
        self.pid.into_iter().chain(self.others.iter().filter_map(|o| o.1)).collect()
    }

    /// Resident memory of every process, summed, in KiB.
    fn rss_kib(&self) -> Option<u64> {
        self.pids().into_iter().map(rss_kib).sum()
    }

    fn anon_kib(&self) -> Option<u64> {
        self.pids().into_iter().map(|pid| status_kib(pid, "RssAnon:")).sum()
    }

    /// CPU seconds of every process, summed.
    fn cpu_seconds(&self) -> Option<f64> {
        self.pids().into_iter().map(cpu_seconds).sum()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.peer != Peer::Ruche && args.target.is_none() {
        bail!("--peer {:?} needs --target ws://host:port", args.peer);
    }
    if args.peer == Peer::Ruche && args.target.is_some() && args.token.is_none() {
        bail!("--target of a Ruche server needs --token");
    }
    let server = match &args.target {
        Some(target) => Server {
            base: target.trim_end_matches('/').to_owned(),
            token: args.token.clone().unwrap_or_default(),
            pid: args.server_pid,
            _child: None,
            others: Vec::new(),
            database_url: None,
        },
        None => start_server(&args).await?,
    };
    let space = format!("load-{}", std::process::id());
    if args.peer == Peer::Ruche {
        prepare_ruche(&server, &space, args.pages).await?;
    }
    let ws_bases: Vec<String> =
        server.bases().iter().map(|b| b.replacen("http", "ws", 1)).collect();
    let ws_base = ws_bases[0].clone();
    // The clients of a page take the processes in turn.
    let address = |n: usize| -> (String, Option<String>) {
        let page = n % args.pages;
        match args.peer {
            Peer::Ruche => {
                let base = &ws_bases[(n / args.pages) % ws_bases.len()];
                (format!("{base}/ws/{space}/page-{page}"), None)
            }
            Peer::YWebsocket => (format!("{ws_base}/{space}-page-{page}"), None),
            Peer::Hocuspocus => (ws_base.clone(), Some(format!("{space}-page-{page}"))),
        }
    };
    let stats = Arc::new(Stats::default());
    let sends: SendTimes = Arc::default();
    let memory_before = settled_rss(&server).await;
    let cpu_before = server.cpu_seconds();

    println!(
        "ruche-load: {:?} ({} process(es)), {} typing clients and {} readers on {} pages, {} keystrokes/s each, {} s",
        args.peer, server.bases().len(), args.clients, args.readers, args.pages, args.rate, args.duration
    );
    if args.soak {
        soak(&args, &server, &address, stats, sends, memory_before).await;
        return Ok(());
    }
    let start =
        Instant::now() + Duration::from_secs(3 + (args.clients + args.readers) as u64 / 1000);
    let end = start + Duration::from_secs(args.duration);
    let mut tasks = Vec::new();
    for n in 0..args.clients + args.readers {
        let (url, name) = address(n);
        let rate = if n < args.clients { args.rate } else { 0.0 };
        tasks.push(tokio::spawn(client(
            url,
            name,
            server.token.clone(),
            rate,
            start,
            end,
            stats.clone(),
            sends.clone(),
        )));
        if n % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    // Everyone is connected and synced before typing starts: what the server holds for idle
    // connections.
    tokio::time::sleep_until((start - Duration::from_millis(300)).into()).await;
    let at_rest = server.rss_kib();
    report(
        &args,
        &server,
        &stats,
        Memory { before: memory_before, at_rest },
        cpu_before,
        end,
        tasks,
    )
    .await;
    Ok(())
}

/// The server's resident memory once what preparing the pages started has settled (a page's
/// projections are refreshed 2 s after its last edit, the search index commits meanwhile):
/// read before that, "before" varied by 25 MiB from run to run, as much as 10 000 idle
/// connections take. Waits 3 s, then until two readings half a second apart differ by less
/// than 256 KiB (10 s at most).
async fn settled_rss(server: &Server) -> Option<u64> {
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut last = server.rss_kib()?;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = server.rss_kib()?;
        if now.abs_diff(last) < 256 {
            return Some(now);
        }
        last = now;
    }
    Some(last)
}

/// The server's resident memory before any connection and with every client connected, idle.
struct Memory {
    before: Option<u64>,
    at_rest: Option<u64>,
}

/// Connections opening and closing on many pages for a long time; prints the server's memory.
async fn soak(
    args: &Args,
    server: &Server,
    address: &(dyn Fn(usize) -> (String, Option<String>) + Sync),
    stats: Arc<Stats>,
    sends: SendTimes,
    memory_before: Option<u64>,
) {
    let end = Instant::now() + Duration::from_secs(args.duration);
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let targets: Vec<(String, Option<String>)> =
            (0..args.pages * server.bases().len()).map(address).collect();
        let (token, stats, sends, rate) =
            (server.token.clone(), stats.clone(), sends.clone(), args.rate);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                let (url, name) = targets[rand::random::<usize>() % targets.len()].clone();
                let stay = Duration::from_millis(1000 + rand::random::<u64>() % 4000);
                let now = Instant::now();
                client(
                    url,
                    name,
                    token.clone(),
                    rate,
                    now,
                    now + stay,
                    stats.clone(),
                    sends.clone(),
                )
                .await;
                if now.elapsed() < Duration::from_millis(500) {
                    // Refused or failed at once: do not hammer the server.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }));
    }
    println!(
        "elapsed s   server RSS MiB   of which heap   connections opened   updates sent   errors   dropped"
    );
    let started = Instant::now();
    let mut every = tokio::time::interval(Duration::from_secs(args.report_every.max(1)));
    let mut samples = Vec::new();
    while Instant::now() < end {
        every.tick().await;
        let rss = server.rss_kib().unwrap_or(0) as f64 / 1024.0;
        let heap = server.anon_kib().unwrap_or(0) as f64 / 1024.0;
        samples.push((rss, heap));
        println!(
            "{:>9.0}   {:>14.1}   {:>13.1}   {:>18}   {:>12}   {:>6}   {:>7}",
            started.elapsed().as_secs_f64(),
            rss,
            heap,
            stats.connected.load(Ordering::Relaxed),
            stats.sent.load(Ordering::Relaxed),
            stats.errors.load(Ordering::Relaxed),
            stats.dropped.load(Ordering::Relaxed),
        );
    }
    for task in tasks {
        task.abort();
    }
    if let Some(secs) = args.idle_unload {
        // Everyone has left: once every page has left memory, what stays is the warm server.
        tokio::time::sleep(Duration::from_secs(secs + 10)).await;
        println!(
            "{} s after everyone left: server RSS {:.1} MiB, of which heap {:.1} MiB",
            secs + 10,
            server.rss_kib().unwrap_or(0) as f64 / 1024.0,
            server.anon_kib().unwrap_or(0) as f64 / 1024.0
        );
    }
    // Warm = the second half of the run: its growth says whether memory stays flat.
    let half = &samples[samples.len() / 2..];
    if let (Some(first), Some(last)) = (half.first(), half.last()) {
        println!(
            "server memory: {:.1} MiB before, {:.1} MiB at half time, {:.1} MiB at the end ({:+.1} MiB over the second half; heap {:+.1} MiB)",
            memory_before.unwrap_or(0) as f64 / 1024.0,
            first.0,
            last.0,
            last.0 - first.0,
            last.1 - first.1
        );
    }
}

/// A space and its pages on the Ruche server, for the clients to type in.
async fn prepare_ruche(server: &Server, space: &str, pages: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{}/api/spaces", server.base))
        .bearer_auth(&server.token)
        .json(&serde_json::json!({"slug": space, "title": "Load test", "visibility": "members"}))
        .send()
        .await?;
    if !created.status().is_success() {
        bail!("creating the space: {} {}", created.status(), created.text().await?);
    }
    if let Some(url) = &server.database_url {
        // Made in the database, as an import makes them: through the site, one account may make
        // only so many pages an hour (its budget of new pages), far fewer than a load test needs.
        let db = ruche::db::connect(url).await?;
        let space = ruche::spaces::store::find(&db, space)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the space just made is not there"))?;
        for page in 0..pages {
            ruche::content::create_with_text(&db, &space, &format!("page-{page}"), "", None)
                .await?;
        }
        db.close().await?;
        return Ok(());
    }
    for page in 0..pages {
        let response = http
            .put(format!("{}/api/pages/{space}/page-{page}", server.base))
            .bearer_auth(&server.token)
            .json(&serde_json::json!({"markdown": ""}))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!(
                "creating page {page}: {} (a server this program did not start counts the pages \
                 its account makes: use fewer --pages, or let it start the server)",
                response.status()
            );
        }
    }
    Ok(())
}

/// Waits for the end of the run and prints the figures.
async fn report(
    args: &Args,
    server: &Server,
    stats: &Stats,
    memory: Memory,
    cpu_before: Option<f64>,
    end: Instant,
    tasks: Vec<tokio::task::JoinHandle<()>>,
) {
    let mut peak = 0;
    while Instant::now() < end + Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak = peak.max(server.rss_kib().unwrap_or(0));
    }
    let cpu = server.cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
    for task in tasks {
        task.abort();
    }

    let secs = args.duration as f64;
    let mut lat = stats.latencies_us.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0) as f64
            / 1000.0
    };
    println!("updates sent:        {:>10.1} /s", stats.sent.load(Ordering::Relaxed) as f64 / secs);
    println!(
        "updates received:    {:>10.1} /s (by other clients on the same page)",
        stats.received.load(Ordering::Relaxed) as f64 / secs
    );
    println!("latency p50:         {:>10.2} ms", pct(0.50));
    println!("latency p99:         {:>10.2} ms", pct(0.99));
    println!("latency max:         {:>10.2} ms", lat.last().copied().unwrap_or(0) as f64 / 1000.0);
    println!("latency samples:     {:>10}", lat.len());
    println!("errors:              {:>10}", stats.errors.load(Ordering::Relaxed));
    println!(
        "connections:         {:>10} opened, {} dropped by the server",
        stats.connected.load(Ordering::Relaxed),
        stats.dropped.load(Ordering::Relaxed)
    );
    match cpu {
        Some(seconds) => println!("server CPU:          {seconds:>10.1} s"),
        None => println!("server CPU:          unknown (give --server-pid)"),
    }
    match (memory.before, memory.at_rest, peak) {
        (Some(before), Some(at_rest), peak) if peak > 0 => {
            let connections = stats.connected.load(Ordering::Relaxed).max(1);
            println!(
                "server memory:       {:>10.1} MiB before, {:.1} MiB with everyone connected ({:.1} KiB per connection), {:.1} MiB peak",
                before as f64 / 1024.0,
                at_rest as f64 / 1024.0,
                at_rest.saturating_sub(before) as f64 / connections as f64,
                peak as f64 / 1024.0
            )
        }
        _ => println!("server memory:       unknown (give --server-pid)"),
    }
}

/// Resident memory of a process, in KiB (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// A figure of `/proc/PID/status` in KiB: `VmRSS:`, or `RssAnon:` (the heap, without the
/// files mapped in memory such as the search index's).
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time (user and system) a process has used, in seconds (Linux).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name in parentheses: state is field 3, utime 14 and stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// lib0's variable-length unsigned integer.
fn write_var_uint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn write_var_string(out: &mut Vec<u8>, s: &str) {
    write_var_uint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Reads a lib0 string at the start of `bytes`, answering it and what follows.
fn read_var_string(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let (mut len, mut shift, mut at) = (0u64, 0, 0);
    loop {
        let b = *bytes.get(at)?;
        len |= u64::from(b & 0x7f) << shift;
        at += 1;
        if b < 0x80 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
    let end = at.checked_add(usize::try_from(len).ok()?)?;
    Some((std::str::from_utf8(bytes.get(at..end)?).ok()?, bytes.get(end..)?))
}

/// A y-protocols message as the peer wants it: Hocuspocus puts the document's name first.
fn frame(name: Option<&str>, message: Vec<u8>) -> Vec<u8> {
    match name {
        Some(name) => {
            let mut out = Vec::with_capacity(message.len() + name.len() + 2);
            write_var_string(&mut out, name);
            out.extend_from_slice(&message);
            out
        }
        None => message,
    }
}

/// Starts `ruche` (next to this program) on a scratch database, with an administrator; with
/// `--processes`, several of them on one PostgreSQL database and one Redis.
async fn start_server(args: &Args) -> anyhow::Result<Server> {
    let database_url = args.database_url.clone();
    if args.processes > 1
        && (args.redis_url.is_none()
            || !database_url.as_deref().is_some_and(|u| u.starts_with("postgres")))
    {
        bail!("--processes above 1 needs --database-url postgres://… and --redis-url redis://…");
    }
    let exe = std::env::current_exe()?.with_file_name("ruche");
    if !exe.exists() {
        bail!("{} not found: build it first (cargo build --release)", exe.display());
    }
    let data: PathBuf = std::env::temp_dir().join(format!("ruche-load-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let database_url =
        database_url.unwrap_or_else(|| ruche::config::sqlite_url(&data.join("ruche.db")));
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(&exe);
        command
            .args(args)
            .env("DATABASE_URL", &database_url)
            .env("RUCHE_DATA", &data)
            .env("RUST_LOG", "warn");
        command
    };
    let email = format!("load-{}@example.org", std::process::id());
    let mut add = run(&["user", "add", &email, "--name", "Load", "--password-stdin", "--admin"])
        .stdin(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = add.stdin.take() {
        use std::io::Write;
        stdin.write_all(b"load test password")?;
    }
    if !add.wait()?.success() {
        bail!("could not create the load test account");
    }
    let token =
        String::from_utf8(run(&["token", "create", &email]).output()?.stdout)?.trim().to_owned();
    // Every client comes from this machine's address: no per-address limit for the test.
    let config = data.join("load.toml");
    let mut settings =
        "max_connections_per_address = 0\nmax_http_connections_per_address = 0\n".to_owned();
    if let Some(secs) = args.idle_unload {
        settings.push_str(&format!("idle_unload_seconds = {secs}\n"));
    }
    std::fs::write(&config, settings)?;
    let mut started = Vec::new();
    for n in 0..args.processes.max(1) {
        let dir = if n == 0 { data.clone() } else { data.join(format!("process-{n}")) };
        std::fs::create_dir_all(&dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = tokio::process::Command::new(&exe);
        command
            .env("DATABASE_URL", &database_url)
            .env("RUCHE_DATA", &dir)
            .env("RUCHE_UPLOADS", data.join("uploads"))
            .env("RUCHE_ADDR", format!("127.0.0.1:{port}"))
            .env("RUCHE_CONFIG", &config)
            .env("RUST_LOG", "warn")
            .kill_on_drop(true);
        if let Some(redis) = &args.redis_url {
            command.env("REDIS_URL", redis);
        }
        let child = command.spawn().context("starting the server")?;
        let base = format!("http://127.0.0.1:{port}");
        let mut up = false;
        for _ in 0..200 {
            if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success())
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !up {
            bail!("the server did not start");
        }
        started.push((base, child.id(), child));
    }
    let (base, pid, child) = started.remove(0);
    Ok(Server {
        base,
        token,
        pid,
        _child: Some(child),
        others: started,
        database_url: Some(database_url),
    })
}

/// One person typing: connects, then inserts one character every 1/rate seconds.
#[allow(clippy::too_many_arguments)]
async fn client(
    url: String,
    name: Option<String>,
    token: String,
    rate: f64,
    start: Instant,
    end: Instant,
    stats: Arc<Stats>,
    sends: SendTimes,
) {
    let Ok(mut request) = url.into_client_request() else { return };
    if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
        request.headers_mut().insert("authorization", value);
    }
    let Ok((socket, _)) = tokio_tungstenite::connect_async(request).await else {
        stats.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    stats.connected.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut stream) = socket.split();
    let doc = Doc::with_options(Options { offset_kind: OffsetKind::Utf16, ..Default::default() });
    let me = doc.client_id().get();
    let text = doc.get_or_insert_text("body");
    // Hocuspocus: authenticate first (its servers accept any token unless told otherwise).
    if let Some(name) = &name {
        let mut auth = Vec::new();
        write_var_string(&mut auth, name);
        write_var_uint(&mut auth, 2); // authentication
        write_var_uint(&mut auth, 0); // token
        write_var_string(&mut auth, &token);
        if sink.send(Ws::Binary(auth.into())).await.is_err() {
            stats.errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    // Every client syncs like a stock provider does: sends its state vector.
    let step1 = protocol::encode_sync_step1(&doc.transact().state_vector());
    if sink.send(Ws::Binary(frame(name.as_deref(), step1).into())).await.is_err() {
        stats.errors.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let hocuspocus = name.is_some();

    let reader_stats = stats.clone();
    let reader_sends = sends.clone();
    let reader = tokio::spawn(async move {
        loop {
            let Some(frame) = stream.next().await else {
                if Instant::now() < end {
                    reader_stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
                break;
            };
            let Ok(Ws::Binary(bytes)) = frame else {
                if frame.is_err() {
                    if Instant::now() < end {
                        reader_stats.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
                continue;
            };
            let body = if hocuspocus {
                match read_var_string(&bytes) {
                    Some((_, rest)) => rest,
                    None => continue,
                }
            } else {
                &bytes[..]
            };
            // Messages of the peer's own (authentication, sync status) are not updates: skipped.
            let Ok(messages) = protocol::decode_frame(body) else { continue };
            for message in messages {
                if let Message::Update(data) = message {
                    let Ok(update) = Update::decode_v1(&data) else { continue };
                    let now = Instant::now();
                    for (client, clock) in update.state_vector_lower().iter() {
                        let sent = reader_sends
                            .lock()
                            .ok()
                            .and_then(|s| s.get(&(client.get(), *clock)).copied());
                        if let (Some(sent), true) = (sent, client.get() != me) {
                            reader_stats.received.fetch_add(1, Ordering::Relaxed);
                            if now >= start {
                                if let Ok(mut l) = reader_stats.latencies_us.lock() {
                                    l.push(
                                        u64::try_from((now - sent).as_micros()).unwrap_or(u64::MAX),
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    });

    if rate <= 0.0 {
        // A reader: stays connected, receiving, until the end.
        tokio::time::sleep_until((end + Duration::from_secs(1)).into()).await;
        let _ = sink.close().await;
        reader.abort();
        return;
    }
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    // Spread the clients' keystrokes over the period.
    let offset = Duration::from_secs_f64(rand::random::<f64>() * period.as_secs_f64());
    tokio::time::sleep_until((start + offset).into()).await;
    let mut tick = tokio::time::interval(period);
    let letters = "abcdefghijklmnopqrstuvwxyzéèàç ";
    let mut n = 0usize;
    while Instant::now() < end {
        tick.tick().await;
        let letter = letters.chars().nth(n % letters.chars().count()).unwrap_or('a');
        n += 1;
        let (data, clock) = {
            let mut txn = doc.transact_mut();
            // The update's first item has the clock the document had before the insert.
            let clock = txn.state_vector().get(&doc.client_id());
            let len = text.len(&txn);
            text.insert(&mut txn, len, &letter.to_string());
            (txn.encode_update_v1(), clock)
        };
        if let Ok(mut s) = sends.lock() {
            s.insert((me, clock), Instant::now());
        }
        let message = frame(name.as_deref(), protocol::encode_update(&data));
        if sink.send(Ws::Binary(message.into())).await.is_err() {
            stats.errors.fetch_add(1, Ordering::Relaxed);
            break;
        }
        stats.sent.fetch_add(1, Ordering::Relaxed);
    }
    let _ = sink.close().await;
    reader.abort();
}
