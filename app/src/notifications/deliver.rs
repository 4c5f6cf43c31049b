//! Delivery: email over SMTP (`lettre`; plain text and HTML; STARTTLS, TLS or none) and
//! webhooks (a JSON body signed with HMAC-SHA256 over `timestamp.body`). The worker claims due
//! messages for a lease, sends each, and marks it sent, or failed with a backoff; after
//! `store::MAX_ATTEMPTS` a message is a dead letter an administrator may send again.
//!
//! Delivery is at least once: a worker that dies after a send and before marking it leaves the
//! message to be sent again when its lease ends. So every message carries its id: the
//! `Message-ID` of an email, the `X-Steward-Delivery` header of a webhook, for receivers to
//! drop a repeat. Two live workers never send the same message (the claim is atomic).

use super::store;
use super::Delivery;
use crate::db::Db;
use crate::error::AppError;
use hmac::{Hmac, Mac};
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the same host).
    None,
    /// Upgrade with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl std::str::FromStr for SmtpTls {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "plain" => Ok(SmtpTls::None),
            "starttls" => Ok(SmtpTls::StartTls),
            "tls" | "smtps" => Ok(SmtpTls::Tls),
            o => Err(format!("'{o}' is not none, starttls or tls")),
        }
    }
}

/// Where email goes (from the environment: `STEWARD_SMTP_*`).
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
    /// Links in messages start with this (`https://steward.example.com`).
    pub base_url: String,
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    base_url: String,
}

impl Mailer {
    pub fn new(s: &MailSettings) -> Result<Mailer, String> {
        let builder = match s.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                .map_err(|e| e.to_string())?,
            SmtpTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(|e| e.to_string())?
            }
        };
        let mut builder = builder.port(s.port).timeout(Some(Duration::from_secs(20)));
        if let (Some(u), Some(p)) = (&s.username, &s.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| format!("STEWARD_SMTP_FROM '{}': {e}", s.from))?;
        Ok(Mailer {
            transport: builder.build(),
            from,
            base_url: s.base_url.trim_end_matches('/').to_string(),
        })
    }

    async fn send(&self, d: &Delivery) -> Result<(), String> {
        let to: Mailbox = d
            .address
            .parse()
            .map_err(|e| format!("address '{}': {e}", d.address))?;
        let link = if d.link.is_empty() {
            String::new()
        } else {
            format!("{}{}", self.base_url, d.link)
        };
        let text = if link.is_empty() {
            format!("{}\n", d.body)
        } else {
            format!("{}\n\n{link}\n", d.body)
        };
        let html = format!(
            "<!DOCTYPE html><html><body><p>{}</p>{}</body></html>",
            escape(&d.body),
            if link.is_empty() {
                String::new()
            } else {
                format!("<p><a href=\"{0}\">{0}</a></p>", escape(&link))
            }
        );
        let host = self.from.email.domain().to_string();
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&d.subject)
            .message_id(Some(format!("<steward-{}@{host}>", d.id)))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html),
                    ),
            )
            .map_err(|e| e.to_string())?;
        self.transport
            .send(msg)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `sha256=<hex>` of HMAC-SHA256(secret, `timestamp` + "." + body): what a receiver computes
/// to check `X-Steward-Signature` (README: Webhooks).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn send_webhook(
    client: &reqwest::Client,
    d: &Delivery,
    now: OffsetDateTime,
) -> Result<(), String> {
    let body = serde_json::to_vec(&serde_json::json!({
        "id": d.id,
        "event": d.event_key,
        "kind": d.kind,
        "subject": d.subject,
        "body": d.body,
        "link": d.link,
        "created_at": d.created_at,
    }))
    .map_err(|e| e.to_string())?;
    let stamp = now.unix_timestamp();
    let res = client
        .post(&d.address)
        .header("content-type", "application/json")
        .header("x-steward-delivery", d.id.to_string())
        .header("x-steward-timestamp", stamp.to_string())
        .header("x-steward-signature", signature(&d.secret, stamp, &body))
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {}", res.status()))
    }
}

/// What the worker needs.
pub struct Outbox {
    pub db: Db,
    pub clock: crate::util::Clock,
    pub mailer: Option<Arc<Mailer>>,
    pub client: reqwest::Client,
    pub lease: time::Duration,
}

impl Outbox {
    pub fn new(db: Db, clock: crate::util::Clock, mailer: Option<Arc<Mailer>>) -> Outbox {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Outbox {
            db,
            clock,
            mailer,
            client,
            lease: time::Duration::minutes(2),
        }
    }

    /// Sends what is due now; returns (sent, failed), counting messages (a digest email
    /// carries several).
    pub async fn run_once(&self) -> Result<(usize, usize), AppError> {
        let now = self.clock.now();
        let batch = store::claim(&self.db, now, self.lease, 50).await?;
        let (digests, batch): (Vec<Delivery>, Vec<Delivery>) = batch
            .into_iter()
            .partition(|d| d.digest && d.channel == "email");
        let (mut sent, mut failed) = self.send_digests(digests).await?;
        for d in batch {
            let outcome = match d.channel.as_str() {
                "email" => match &self.mailer {
                    Some(m) => m.send(&d).await,
                    None => Err("email is not configured (STEWARD_SMTP_HOST)".into()),
                },
                "webhook" => send_webhook(&self.client, &d, self.clock.now()).await,
                other => Err(format!("unknown channel {other}")),
            };
            match outcome {
                Ok(()) => {
                    store::mark_sent(&self.db, d.id, self.clock.now()).await?;
                    sent += 1;
                }
                Err(e) => {
                    tracing::warn!(id = d.id, channel = %d.channel, error = %e, "delivery failed");
                    store::mark_failed(&self.db, &d, &e, self.clock.now()).await?;
                    failed += 1;
                }
            }
        }
        Ok((sent, failed))
    }

    /// One email per address for its held messages.
    async fn send_digests(&self, held: Vec<Delivery>) -> Result<(usize, usize), AppError> {
        let mut by_address: std::collections::BTreeMap<String, Vec<Delivery>> =
            std::collections::BTreeMap::new();
        for d in held {
            by_address.entry(d.address.clone()).or_default().push(d);
        }
        let (mut sent, mut failed) = (0, 0);
        for (address, list) in by_address {
            let body = list
                .iter()
                .map(|d| {
                    let link = if d.link.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", d.link)
                    };
                    format!("- {}: {}{link}", d.subject, d.body)
                })
                .collect::<Vec<_>>()
                .join("\n");
            let digest = Delivery {
                id: list[0].id,
                event_key: format!("digest:{}", list[0].id),
                kind: "digest".into(),
                channel: "email".into(),
                address,
                subject: format!("Steward: {} notification(s) today", list.len()),
                body,
                link: String::new(),
                attempts: list[0].attempts,
                created_at: list[0].created_at.clone(),
                secret: String::new(),
                digest: true,
            };
            let outcome = match &self.mailer {
                Some(m) => m.send(&digest).await,
                None => Err("email is not configured (STEWARD_SMTP_HOST)".into()),
            };
            for d in &list {
                match &outcome {
                    Ok(()) => store::mark_sent(&self.db, d.id, self.clock.now()).await?,
                    Err(e) => store::mark_failed(&self.db, d, e, self.clock.now()).await?,
                }
            }
            match outcome {
                Ok(()) => sent += list.len(),
                Err(e) => {
                    tracing::warn!(messages = list.len(), error = %e, "digest delivery failed");
                    failed += list.len();
                }
            }
        }
        Ok((sent, failed))
    }

    /// Runs until the database closes: every `every`, and when `due` is woken.
    pub fn schedule(self, due: Arc<tokio::sync::Notify>, every: Duration) {
        tokio::spawn(async move {
            loop {
                if self.db.pool().is_closed() {
                    return;
                }
                if let Err(e) = self.run_once().await {
                    if self.db.pool().is_closed() {
                        return;
                    }
                    tracing::warn!(error = %e, "outbox delivery failed");
                }
                let _ = tokio::time::timeout(every, due.notified()).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: python3 -c "import hmac,hashlib;
        // print(hmac.new(b'secret', b'1700000000.{\"a\":1}', hashlib.sha256).hexdigest())"
        let sig = signature("secret", 1700000000, b"{\"a\":1}");
        assert_eq!(
            sig,
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
        assert_ne!(sig, signature("secret", 1700000001, b"{\"a\":1}"));
    }

    #[test]
    fn backoff_doubles_and_stops_at_six_hours() {
        assert_eq!(store::backoff(1), time::Duration::seconds(30));
        assert_eq!(store::backoff(2), time::Duration::seconds(60));
        assert_eq!(store::backoff(5), time::Duration::seconds(480));
        assert_eq!(store::backoff(30), time::Duration::hours(6));
    }
}
