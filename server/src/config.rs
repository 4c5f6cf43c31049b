//! Configuration: environment variables with matching command-line flags.

use crate::error::ServerError;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "steward",
    version,
    about = "Compliance audit and cloud cost governance"
)]
pub struct Cli {
    /// Database: sqlite://FILE or postgres://USER:PASSWORD@HOST/DB.
    /// Default: sqlite://<data dir>/steward.db (created on first run).
    // The URL may carry a password: never shown by --help (hide_env_values) or Debug.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<Secret>,
    /// Folder for the embedded database and stored files.
    #[arg(
        long,
        env = "STEWARD_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    #[arg(
        long,
        env = "STEWARD_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
    /// A tracing filter: error, warn, info, debug, or per module (`info,sqlx=warn`).
    #[arg(long, env = "STEWARD_LOG_LEVEL", default_value = "info", global = true)]
    pub log_level: String,
    /// The audit signing key (PKCS#8 PEM, mode 0600). Default: <data dir>/signing-key.pem,
    /// created on first run; a file named here must exist.
    #[arg(long, env = "STEWARD_SIGNING_KEY_FILE", global = true)]
    pub signing_key_file: Option<PathBuf>,
    /// Days a budget alert may wait for its owner's acknowledgement before finance is told.
    #[arg(long, env = "STEWARD_BUDGET_ESCALATION_DAYS", default_value_t = 3, global = true,
          value_parser = clap::value_parser!(u32).range(1..=365))]
    pub budget_escalation_days: u32,
    /// The fewest days the audit trail is kept: retention never disposes of younger events,
    /// whatever its rule says.
    #[arg(long, env = "STEWARD_AUDIT_MIN_RETENTION_DAYS", default_value_t = 400, global = true,
          value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub audit_min_retention_days: u32,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

// Parsed once at start: `serve`'s many options need no boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, set up on first run, and serve the web app.
    Serve {
        /// Address and port to listen on.
        #[arg(long, env = "STEWARD_BIND", default_value = "127.0.0.1:3000")]
        bind: String,
        /// The URL people use to reach Steward (origin checks, Secure cookies, HSTS).
        /// Default: http:// plus the bind address.
        #[arg(long, env = "STEWARD_PUBLIC_URL")]
        public_url: Option<String>,
        /// Folder with pkg/steward.{js,wasm,css}. Default: found next to the binary.
        #[arg(long, env = "STEWARD_SITE_ROOT")]
        site_root: Option<PathBuf>,
        /// Create one demo user per role (with printed passwords) on first run. Off by default,
        /// so a production install never gets demo accounts; the README's run command passes it.
        #[arg(long, env = "STEWARD_DEMO", action = clap::ArgAction::SetTrue,
              value_parser = clap::builder::BoolishValueParser::new())]
        demo: bool,
        /// Organisation name used on first run.
        #[arg(long, env = "STEWARD_ORG_NAME", default_value = "Demo organisation")]
        org_name: String,
        /// Bearer token that lets a Prometheus scraper read /metrics without a session.
        #[arg(long, env = "STEWARD_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<Secret>,
        /// Reverse proxies whose X-Forwarded-For is believed (comma-separated addresses or
        /// CIDRs, e.g. 10.0.0.0/8,::1). The client is the right-most address not in this list;
        /// without it the peer address is the client.
        #[arg(long, env = "STEWARD_TRUSTED_PROXIES", value_delimiter = ',',
              value_parser = parse_net)]
        trusted_proxies: Vec<ipnet::IpNet>,
        /// Seconds an upload may send nothing before it is abandoned (nothing is kept).
        #[arg(long, env = "STEWARD_UPLOAD_IDLE_SECS", default_value_t = 60,
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        upload_idle_secs: u64,
        /// Largest evidence file accepted, in MiB (refused before it is stored).
        #[arg(long, env = "STEWARD_MAX_UPLOAD_MB", default_value_t = 100,
              value_parser = clap::value_parser!(u64).range(1..=1024 * 1024))]
        max_upload_mb: u64,
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        smtp: SmtpArgs,
        /// Minutes between signed checkpoints of the audit chain (0: only on demand).
        #[arg(
            long,
            env = "STEWARD_CHECKPOINT_INTERVAL_MINUTES",
            default_value_t = 60
        )]
        checkpoint_interval_minutes: u64,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an administrator account (prints a generated password once).
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "Administrator")]
        display_name: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Check the audit trail's hash chain and its signed checkpoints: exit 0 when intact, 1
    /// naming the first bad event, 2 when it cannot check (no key, bad token).
    VerifyAudit {
        /// Check checkpoints with this public key (base64, from `steward public-key`) instead
        /// of the signing key file.
        #[arg(long)]
        public_key: Option<String>,
        /// A checkpoint token from the logs (steward-checkpoint:v1:…; a whole log line will
        /// do). Repeatable.
        #[arg(long = "checkpoint", value_name = "TOKEN")]
        checkpoints: Vec<String>,
    },
    /// Sign a checkpoint of the audit chain now (nothing when no event was added since the last).
    Checkpoint,
    /// Print the audit signing key's public half (base64) and fingerprint.
    PublicKey,
    /// Import or update frameworks and crosswalks from files (CISO Assistant library YAML,
    /// OSCAL catalog or profile, crosswalk or framework CSV); the format is detected from the
    /// content, and everything is written in one transaction or nothing is.
    ImportFramework {
        /// The files to import (omit with --builtin): a CISO Assistant library (YAML), an
        /// OSCAL catalog, an OSCAL profile followed by the catalogs it selects from (else the
        /// catalogs imported before), a crosswalk CSV or a framework CSV (columns guessed
        /// from its headers).
        #[arg(required_unless_present = "builtin")]
        file: Vec<PathBuf>,
        /// Import a framework shipped with Steward instead: nist-800-53r5-low.
        #[arg(long, conflicts_with = "file")]
        builtin: Option<String>,
        /// Framework name (CSV: default the file name; OSCAL: default the catalog title).
        #[arg(long)]
        name: Option<String>,
        /// Framework version (CSV only; OSCAL files carry their own).
        #[arg(long)]
        version: Option<String>,
        /// A library's language (e.g. fr); default: as imported last, else the library's own.
        #[arg(long)]
        locale: Option<String>,
    },
    /// Import a cost file (FOCUS 1.0–1.2 or AWS CUR CSV, optionally .gz): exit 0 when imported
    /// or already imported, 1 naming the row, column and reason when the file is refused.
    ImportCosts {
        /// The CSV or CSV.gz file.
        file: PathBuf,
    },
    /// Import budgets from a CSV file (budgets as code): created or updated by name, all or
    /// nothing; exit 1 naming the line, column and reason when the file is refused.
    ImportBudgets {
        /// The CSV file (`export-budgets` writes one).
        file: PathBuf,
    },
    /// Write every budget as CSV to standard output.
    ExportBudgets,
    /// Import a snapshot of a system's accounts: the AWS IAM credential report, or any CSV
    /// read through the system's saved column mapping (else the columns its headers name).
    /// Prints the accounts and the flag counts; exit 1 naming the line, field and reason when
    /// the file is refused (nothing is written then).
    ImportAccounts {
        /// The system's name (as on the systems page).
        #[arg(long)]
        system: String,
        /// The account file.
        file: PathBuf,
    },
    /// Evaluate every budget now and raise the alerts due (a server does this by itself).
    EvaluateBudgets,
    /// Steward's own data under its retention rules (a server runs this daily by itself).
    Retention {
        #[command(subcommand)]
        action: RetentionAction,
    },
    /// Write a signed evidence export (ZIP) for a framework and a period [from, to), or for an
    /// audit (its period, its framework, its requests and their answers).
    ExportEvidence {
        /// The framework's key (as on the frameworks page); with --audit, one of its frameworks
        /// (needed only when it has several).
        #[arg(long)]
        framework: Option<String>,
        /// The audit's number (as in /audits/NUMBER): its period and requests.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        audit: Option<i64>,
        /// The period's first day (YYYY-MM-DD).
        #[arg(long, required_unless_present = "audit")]
        from: Option<String>,
        /// The first day after the period (YYYY-MM-DD): periods are half-open.
        #[arg(long, required_unless_present = "audit")]
        to: Option<String>,
        /// Where to write the ZIP (written beside it first, then renamed).
        #[arg(long)]
        out: PathBuf,
    },
    /// Check an evidence export: the signature, every file's SHA-256, SHA256SUMS and the audit
    /// excerpt against its checkpoints. Exit 0 intact, 1 naming each failure, 2 unusable.
    VerifyExport {
        /// The ZIP to check.
        file: PathBuf,
        /// The public key (base64 from `steward public-key`, or a PEM file) instead of the
        /// signing key file's public half.
        #[arg(long)]
        public_key: Option<String>,
    },
}

impl Cli {
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.expose().to_string(),
            None => {
                let p = self.data_dir.join("steward.db");
                format!("sqlite://{}", p.display())
            }
        }
    }
}

/// A setting that must never be shown: not by `--help`, not by `Debug`, not in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// An address (`10.0.0.1`, `::1`) or a network (`10.0.0.0/8`).
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("'{s}' is not an IP address or CIDR network"))
}

/// `scheme://host[:port]` of a URL, as browsers send it in `Origin`: parsed and normalised
/// (lower-case host, IDN in ASCII, default ports dropped), so comparisons are exact.
pub fn origin_of(url: &str) -> Result<String, ServerError> {
    app::util::normalized_origin(url).ok_or_else(|| {
        ServerError::Config(format!("STEWARD_PUBLIC_URL '{url}' is not an http(s) URL"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://Steward.example.com/app/").unwrap(),
            "https://steward.example.com"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert!(origin_of("ftp://x").is_err());
        assert!(origin_of("steward.example.com").is_err());
        // Default ports are not part of an origin as browsers send it.
        assert_eq!(
            origin_of("https://steward.example.com:443").unwrap(),
            "https://steward.example.com"
        );
        assert_eq!(
            origin_of("http://x.example:80/").unwrap(),
            "http://x.example"
        );
        assert_eq!(
            origin_of("https://x.example:8443").unwrap(),
            "https://x.example:8443"
        );
        assert!(origin_of("https://user:pw@x.example").is_err());
    }

    #[test]
    fn secrets_stay_out_of_help_and_debug() {
        use clap::{CommandFactory, Parser};
        std::env::set_var("DATABASE_URL", "postgres://u:HUNTER2-PASSWORD@db/steward");
        std::env::set_var("STEWARD_METRICS_TOKEN", "SCRAPE-TOKEN-XYZ");
        let mut cmd = Cli::command();
        let help = cmd.render_long_help().to_string();
        let serve = cmd
            .find_subcommand_mut("serve")
            .expect("serve")
            .render_long_help()
            .to_string();
        let cli = Cli::try_parse_from(["steward", "serve"]).expect("parses");
        let debug = format!("{cli:?}");
        std::env::remove_var("DATABASE_URL");
        std::env::remove_var("STEWARD_METRICS_TOKEN");
        for text in [&help, &serve, &debug] {
            assert!(!text.contains("HUNTER2"), "{text}");
            assert!(!text.contains("SCRAPE-TOKEN"), "{text}");
        }
        assert!(
            help.contains("DATABASE_URL"),
            "the variable is still documented"
        );
        assert_eq!(
            cli.database_url(),
            "postgres://u:HUNTER2-PASSWORD@db/steward",
            "the value is still used"
        );
    }
}

/// Email over SMTP for notifications. Setting a host turns it on; the password comes from the
/// environment only.
#[derive(Debug, Clone, clap::Args)]
pub struct SmtpArgs {
    #[arg(long = "smtp-host", env = "STEWARD_SMTP_HOST")]
    pub host: Option<String>,
    /// Default: 587 with STARTTLS, 465 with TLS, 25 without.
    #[arg(long = "smtp-port", env = "STEWARD_SMTP_PORT")]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    #[arg(
        long = "smtp-tls",
        env = "STEWARD_SMTP_TLS",
        default_value = "starttls"
    )]
    pub tls: app::notifications::deliver::SmtpTls,
    #[arg(long = "smtp-username", env = "STEWARD_SMTP_USERNAME")]
    pub username: Option<String>,
    #[arg(
        env = "STEWARD_SMTP_PASSWORD",
        hide_env_values = true,
        long = "smtp-password",
        hide = true
    )]
    pub password: Option<Secret>,
    /// The sender, e.g. `Steward <steward@example.com>`.
    #[arg(
        long = "smtp-from",
        env = "STEWARD_SMTP_FROM",
        default_value = "Steward <steward@localhost>"
    )]
    pub from: String,
}

impl SmtpArgs {
    /// `base_url`: where links in messages point (the public URL).
    pub fn settings(&self, base_url: &str) -> Option<app::notifications::deliver::MailSettings> {
        use app::notifications::deliver::SmtpTls;
        let host = self.host.as_deref()?.trim();
        if host.is_empty() {
            return None;
        }
        let port = self.port.unwrap_or(match self.tls {
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        });
        Some(app::notifications::deliver::MailSettings {
            host: host.to_string(),
            port,
            tls: self.tls,
            username: self.username.clone(),
            password: self.password.as_ref().map(|p| p.expose().to_string()),
            from: self.from.clone(),
            base_url: base_url.to_string(),
        })
    }
}

/// AWS Cost Explorer sync. Setting a region turns it on; credentials come from the standard
/// AWS chain (environment, shared profile, web identity, instance role).
#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// Region of the Cost Explorer endpoint (Cost Explorer lives in us-east-1).
    #[arg(long = "aws-ce-region", env = "STEWARD_AWS_CE_REGION")]
    pub region: Option<String>,
    /// Another endpoint URL (an emulator or a compatible service).
    #[arg(long = "aws-ce-endpoint", env = "STEWARD_AWS_CE_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Cost-allocation tag keys to group by, comma-separated.
    #[arg(
        long = "aws-ce-tag-keys",
        env = "STEWARD_AWS_CE_TAG_KEYS",
        value_delimiter = ','
    )]
    pub tag_keys: Vec<String>,
    /// Hours between scheduled syncs (0: only "Sync now").
    #[arg(
        long = "aws-sync-interval-hours",
        env = "STEWARD_AWS_SYNC_INTERVAL_HOURS",
        default_value_t = 24
    )]
    pub interval_hours: u64,
    /// Days the first sync fetches.
    #[arg(long = "aws-sync-initial-days", env = "STEWARD_AWS_SYNC_INITIAL_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(i64).range(1..=365))]
    pub initial_days: i64,
    /// The payer (management) account id, recorded as the billing account of synced costs.
    #[arg(
        long = "aws-payer-account",
        env = "STEWARD_AWS_PAYER_ACCOUNT",
        default_value = ""
    )]
    pub payer_account: String,
}

impl AwsArgs {
    pub fn settings(&self) -> Option<app::costs::sync::AwsSettings> {
        let region = self.region.as_deref()?.trim();
        if region.is_empty() {
            return None;
        }
        let mut s = app::costs::sync::AwsSettings::new(region);
        s.endpoint = self.endpoint.clone().filter(|e| !e.trim().is_empty());
        s.tag_keys = self
            .tag_keys
            .iter()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        s.interval_hours = self.interval_hours;
        s.initial_days = self.initial_days;
        s.payer_account = self.payer_account.trim().to_string();
        Some(s)
    }
}

#[derive(Debug, Subcommand)]
pub enum RetentionAction {
    /// Dispose of what the built-in rules say is due, per category (legal holds stop a
    /// category); each removal leaves a tombstone audit event. Exit 0; 1 when it fails.
    Run {
        /// Only list, per category, what would be disposed of.
        #[arg(long)]
        dry_run: bool,
        /// With --dry-run: what would be disposed of on this day (YYYY-MM-DD) instead of
        /// today, to see a rule's effect ahead.
        #[arg(long, requires = "dry_run", value_parser = parse_day)]
        as_of: Option<time::Date>,
    },
}

fn parse_day(s: &str) -> Result<time::Date, String> {
    app::util::parse_date(s).ok_or_else(|| format!("'{s}' is not a date (YYYY-MM-DD)"))
}
