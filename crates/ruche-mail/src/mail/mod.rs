//! Mail: what a mail holds, how it is written (plain text and HTML, in the reader's language)
//! and how it leaves (SMTP through lettre). Mail is never sent from a request: it is written to
//! the outbox (`mail::enqueue`, in the transaction of the change that causes it), and the outbox
//! worker hands it to `Mailer::send`.

use lettre::{
    message::{
        header::{HeaderName, HeaderValue},
        Mailbox, MultiPart,
    },
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
};
use maud::{html, DOCTYPE};
use serde::{Deserialize, Serialize};

use crate::outbox::{self, Refusal};

/// The outbox kind of mail.
pub const KIND: &str = "mail";

/// Where mail goes out, and from whom.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://host:25`, `smtp://host:587?tls=required`, `smtps://user:password@host:465`.
    pub url: String,
    pub from: Mailbox,
}

impl MailSettings {
    /// Checks the server's URL and the sender's address.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("{url:?} is not a mail server's address ({e})"))?;
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("{from:?} is not a sender (\"Nom <adresse>\"): {e}"))?;
        Ok(Self { url: url.to_owned(), from })
    }
}

/// One mail, as the outbox keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// For notification mails: the one-click unsubscribe address (RFC 8058).
    pub unsubscribe: Option<String>,
}

/// Writes a mail to the outbox, in `db` (the transaction of what causes it).
pub async fn enqueue<C: sea_orm::ConnectionTrait>(db: &C, mail: &Mail) -> anyhow::Result<i64> {
    outbox::enqueue(db, KIND, &mail.to, &serde_json::to_string(mail)?).await
}

/// What a mail says, before it is written out as text and HTML.
pub struct Letter<'a> {
    pub site_name: &'a str,
    pub to: &'a str,
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    /// Headed lists of links (a digest's spaces and what happened in them).
    pub sections: Vec<Section>,
    /// A button (label, address) — also written out in full in the text part.
    pub action: Option<(String, String)>,
    /// The last line: why the person receives it.
    pub footer: String,
}

/// A heading and its lines, each with the address it leads to.
pub struct Section {
    pub heading: String,
    pub lines: Vec<(String, String)>,
}

/// A mail from a letter: the same words as plain text and as HTML.
pub fn compose(letter: Letter<'_>) -> Mail {
    // A subject is one line: a title or a name with a line break must not add a header.
    let subject: String = letter
        .subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned();
    let mut text = format!("{}\n\n", letter.greeting);
    for p in &letter.paragraphs {
        text.push_str(p);
        text.push_str("\n\n");
    }
    for section in &letter.sections {
        text.push_str(&format!("{}\n", section.heading));
        for (line, url) in &section.lines {
            text.push_str(&format!("- {line}\n  {url}\n"));
        }
        text.push('\n');
    }
    if let Some((label, url)) = &letter.action {
        text.push_str(&format!("{label} :\n{url}\n\n"));
    }
    text.push_str(&format!("-- \n{}\n{}\n", letter.site_name, letter.footer));
    let html = html! {
        (DOCTYPE)
        html {
            head { meta charset="utf-8"; title { (subject) } }
            body style="font-family: sans-serif; font-size: 16px; line-height: 1.5; color: #1d1b16; max-width: 36rem; margin: 0 auto; padding: 1rem;" {
                p { (letter.greeting) }
                @for p in &letter.paragraphs { p { (p) } }
                @for section in &letter.sections {
                    h2 style="font-size: 18px; margin: 24px 0 8px;" { (section.heading) }
                    ul style="padding-left: 20px;" {
                        @for (line, url) in &section.lines {
                            li style="margin-bottom: 8px;" { a href=(url) style="color: #8a4b00;" { (line) } }
                        }
                    }
                }
                @if let Some((label, url)) = &letter.action {
                    p {
                        a href=(url) style="display: inline-block; background: #8a4b00; color: #ffffff; padding: 12px 20px; border-radius: 6px; text-decoration: none; font-weight: bold;" { (label) }
                    }
                    p style="font-size: 14px; color: #4d4a42;" { (url) }
                }
                hr style="border: 0; border-top: 1px solid #ddd;";
                p style="font-size: 14px; color: #4d4a42;" { (letter.site_name) br; (letter.footer) }
            }
        }
    };
    Mail { to: letter.to.to_owned(), subject, text, html: html.into_string(), unsubscribe: None }
}

/// Sends mail through the site's SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)?.build();
        Ok(Self { transport, from: settings.from.clone() })
    }

    /// Sends one mail; answers what the server said.
    pub async fn send(&self, mail: &Mail) -> Result<String, Refusal> {
        let to = mail
            .to
            .parse::<Mailbox>()
            .map_err(|e| Refusal::Final(format!("{:?} is not an address: {e}", mail.to)))?;
        let mut builder =
            lettre::Message::builder().from(self.from.clone()).to(to).subject(mail.subject.clone());
        if let Some(url) = &mail.unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
            .map_err(|e| Refusal::Final(format!("the mail could not be written: {e}")))?;
        match self.transport.send(message).await {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(err) if err.is_permanent() => Err(Refusal::Final(err.to_string())),
            Err(err) => Err(Refusal::Retry(err.to_string())),
        }
    }

    /// The outbox's sender of mail.
    pub fn sender(self) -> outbox::Sender {
        std::sync::Arc::new(move |message: outbox::Message| {
            let mailer = self.clone();
            Box::pin(async move {
                let mail: Mail = serde_json::from_str(&message.payload)
                    .map_err(|e| Refusal::Final(format!("unreadable mail: {e}")))?;
                mailer.send(&mail).await.map(|_| ())
            })
        })
    }
}
