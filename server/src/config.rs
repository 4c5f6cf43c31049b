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
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

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
        /// Do not create demo users on first run.
        #[arg(long)]
        no_demo: bool,
        /// Organisation name used on first run.
        #[arg(long, env = "STEWARD_ORG_NAME", default_value = "Demo organisation")]
        org_name: String,
        /// Bearer token that lets a Prometheus scraper read /metrics without a session.
        #[arg(long, env = "STEWARD_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
        /// Largest evidence file accepted, in MiB (refused before it is stored).
        #[arg(long, env = "STEWARD_MAX_UPLOAD_MB", default_value_t = 100,
              value_parser = clap::value_parser!(u64).range(1..=1024 * 1024))]
        max_upload_mb: u64,
        #[command(flatten)]
        aws: AwsArgs,
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
    /// Import or update a framework from an OSCAL catalog (JSON) or a CSV file (id, title,
    /// description, group); the format is detected from the content.
    ImportFramework {
        /// The file to import (omit with --builtin).
        #[arg(required_unless_present = "builtin")]
        file: Option<PathBuf>,
        /// Import a framework shipped with Steward instead: nist-800-53r5-low.
        #[arg(long, conflicts_with = "file")]
        builtin: Option<String>,
        /// Framework name (CSV: default the file name; OSCAL: default the catalog title).
        #[arg(long)]
        name: Option<String>,
        /// Framework version (CSV only; OSCAL files carry their own).
        #[arg(long)]
        version: Option<String>,
    },
    /// Import a cost file (FOCUS 1.0–1.2 or AWS CUR CSV, optionally .gz): exit 0 when imported
    /// or already imported, 1 naming the row, column and reason when the file is refused.
    ImportCosts {
        /// The CSV or CSV.gz file.
        file: PathBuf,
    },
}

impl Cli {
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            let p = self.data_dir.join("steward.db");
            format!("sqlite://{}", p.display())
        })
    }
}

/// `scheme://host[:port]` of a URL, as browsers send it in `Origin`.
pub fn origin_of(url: &str) -> Result<String, ServerError> {
    let bad = || ServerError::Config(format!("STEWARD_PUBLIC_URL '{url}' is not an http(s) URL"));
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    if scheme != "http" && scheme != "https" {
        return Err(bad());
    }
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || host.contains('@') {
        return Err(bad());
    }
    Ok(format!("{scheme}://{}", host.to_lowercase()))
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
