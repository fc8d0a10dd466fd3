//! A real SMTP server for the tests: it accepts every mail (or refuses chosen recipients) and
//! keeps what it received, parsed. Started on a free port; stopped and started again on the same
//! port to play a mail server that is away for a while.
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    task::JoinHandle,
};

/// One mail as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub raw: Vec<u8>,
    /// When the server accepted it.
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Received {
    pub fn subject(&self) -> String {
        let parsed = mail_parser::MessageParser::default().parse(&self.raw).expect("a mail");
        parsed.subject().unwrap_or_default().to_owned()
    }

    pub fn text(&self) -> String {
        let parsed = mail_parser::MessageParser::default().parse(&self.raw).expect("a mail");
        parsed.body_text(0).map(|t| t.into_owned()).unwrap_or_default()
    }

    pub fn html(&self) -> String {
        let parsed = mail_parser::MessageParser::default().parse(&self.raw).expect("a mail");
        parsed.body_html(0).map(|t| t.into_owned()).unwrap_or_default()
    }

    /// The raw value of a header.
    pub fn header(&self, name: &str) -> Option<String> {
        let parsed = mail_parser::MessageParser::default().parse(&self.raw).expect("a mail");
        parsed.header_raw(name).map(|v| v.trim().to_owned())
    }

    /// The first address in the text that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let text = self.text();
        let start = text.find(prefix).unwrap_or_else(|| panic!("no {prefix} in {text}"));
        text[start..].split_whitespace().next().unwrap_or_default().to_owned()
    }
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    refused: Arc<Mutex<Vec<String>>>,
    server: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// On a given port (to come back where a stopped one was).
    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("an SMTP port");
        let addr = listener.local_addr().expect("address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let (kept, refusing) = (received.clone(), refused.clone());
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (kept, refusing) = (kept.clone(), refusing.clone());
                tokio::spawn(async move {
                    let _ = converse(stream, kept, refusing).await;
                });
            }
        });
        Self { addr, received, refused, server }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.addr.port())
    }

    /// Mail to this address is refused for good (550).
    pub fn refuse(&self, address: &str) {
        self.refused.lock().expect("lock").push(address.to_owned());
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits until `n` mails arrived (20 s at most), and answers them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("{n} mails expected, {} arrived", got.len());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops listening (connections under way are dropped with it).
    pub fn stop(self) -> u16 {
        self.server.abort();
        self.addr.port()
    }
}

async fn converse(
    stream: tokio::net::TcpStream,
    kept: Arc<Mutex<Vec<Received>>>,
    refusing: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP ready\r\n").await?;
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command.split([' ', ':']).next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => write.write_all(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n").await?,
            "HELO" => write.write_all(b"250 sink\r\n").await?,
            "MAIL" => {
                to.clear();
                write.write_all(b"250 OK\r\n").await?
            }
            "RCPT" => {
                let address = command
                    .split_once('<')
                    .and_then(|(_, rest)| rest.split_once('>'))
                    .map(|(a, _)| a.to_owned())
                    .unwrap_or_default();
                if refusing.lock().expect("lock").contains(&address) {
                    write.write_all(b"550 5.1.1 no such mailbox\r\n").await?;
                } else {
                    to.push(address);
                    write.write_all(b"250 OK\r\n").await?;
                }
            }
            "DATA" => {
                write.write_all(b"354 go on\r\n").await?;
                let mut raw = Vec::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                    raw.extend_from_slice(unstuffed.as_bytes());
                }
                let at = chrono::Utc::now();
                kept.lock().expect("lock").push(Received { to: to.clone(), raw, at });
                write.write_all(b"250 OK queued\r\n").await?;
            }
            "RSET" | "NOOP" => write.write_all(b"250 OK\r\n").await?,
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"502 not here\r\n").await?,
        }
    }
}
