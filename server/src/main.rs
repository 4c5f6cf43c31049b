//! The `steward` binary: `serve`, `migrate`, `create-admin`, `verify-audit`,
//! `import-framework`, `import-costs`, `import-budgets`, `export-budgets`, `import-accounts`, `evaluate-budgets`,
//! `checkpoint`, `public-key`, `export-evidence`, `verify-export`.

use clap::Parser;
use server::config::{Cli, Command, LogFormat};
use server::error::ServerError;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&cli.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        // JSON lines carry the request span (with its id) on every line.
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => builder.init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn run(cli: Cli) -> Result<ExitCode, ServerError> {
    let url = cli.database_url();
    match cli.command {
        Command::Serve {
            bind,
            public_url,
            site_root,
            demo,
            org_name,
            metrics_token,
            trusted_proxies,
            upload_idle_secs,
            max_upload_mb,
            aws,
            smtp,
            checkpoint_interval_minutes,
        } => {
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .map_err(|e| ServerError::Config(format!("cannot listen on {bind}: {e}")))?;
            let public_url_for_mail = public_url
                .clone()
                .unwrap_or_else(|| format!("http://{bind}"));
            let opts = server::ServeOptions {
                database_url: url,
                public_url,
                site_root,
                demo,
                org_name,
                metrics_token: metrics_token.map(|t| t.expose().to_string()),
                print_credentials: true,
                data_dir: cli.data_dir.clone(),
                max_upload_bytes: max_upload_mb * 1024 * 1024,
                aws: aws.settings(),
                trusted_proxies,
                upload_idle: std::time::Duration::from_secs(upload_idle_secs),
                signing_key_file: cli.signing_key_file.clone(),
                checkpoint_interval_minutes,
                password_cost: app::auth::password::HashCost::PRODUCTION,
                mail: smtp.settings(public_url_for_mail.as_str()),
                budget_escalation: time::Duration::days(cli.budget_escalation_days.into()),
                outbox_interval: std::time::Duration::from_secs(5),
                audit_min_days: cli.audit_min_retention_days,
            };
            let running = server::start(opts, listener, shutdown_signal()).await?;
            running.wait().await?;
            tracing::info!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let db = server::connect_and_migrate(&url).await?;
            let n = db.migrator().iter().count();
            println!(
                "{n} migration(s) applied on {} ({})",
                db.dialect().name(),
                app::db::redact_url(&url)
            );
            db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::CreateAdmin {
            username,
            display_name,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut s = String::new();
                std::io::stdin().read_line(&mut s)?;
                Some(s.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let db = server::connect_and_migrate(&url).await?;
            let hasher = app::auth::password::PasswordHasher::new(1)?;
            let generated =
                server::bootstrap::create_admin(&db, &hasher, &username, &display_name, password)
                    .await?;
            if generated.is_empty() {
                println!("Administrator '{username}' created.");
            } else {
                println!("Administrator '{username}' created. Password (shown once): {generated}");
            }
            db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::ImportFramework {
            file,
            builtin,
            name,
            version,
            locale,
        } => {
            let mut files = Vec::new();
            for f in &file {
                files.push(app::controls::intake::Upload {
                    file_name: f
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or("framework")
                        .to_string(),
                    bytes: std::fs::read(f).map_err(|e| {
                        ServerError::Config(format!("cannot read {}: {e}", f.display()))
                    })?,
                });
            }
            if let Some(key) = &builtin {
                let (_, _, bytes) = app::controls::import::BUILTIN
                    .iter()
                    .find(|(k, ..)| k == key)
                    .ok_or_else(|| ServerError::Config(format!("no built-in framework '{key}'")))?;
                files.push(app::controls::intake::Upload {
                    file_name: format!("built-in:{key}"),
                    bytes: bytes.to_vec(),
                });
            }
            let label = files
                .iter()
                .map(|f| f.file_name.clone())
                .collect::<Vec<_>>()
                .join(", ");
            let db = server::connect_and_migrate(&url).await?;
            let ctx = server::bootstrap::system_ctx(&app::util::Clock::default(), "cli");
            let result = app::controls::intake::import(
                &db,
                &ctx,
                files,
                app::controls::intake::Options {
                    name,
                    version,
                    locale,
                },
            )
            .await;
            db.close().await;
            match result {
                Ok(out) => {
                    println!("{}", out.describe());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("steward: {label}: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::VerifyAudit {
            public_key,
            checkpoints,
        } => {
            let key_file = cli.signing_key_file.as_deref();
            server::audit_cli::verify(&url, &cli.data_dir, key_file, public_key, &checkpoints).await
        }
        Command::Checkpoint => {
            server::audit_cli::checkpoint(&url, &cli.data_dir, cli.signing_key_file.as_deref())
                .await
        }
        Command::PublicKey => {
            server::audit_cli::public_key(&cli.data_dir, cli.signing_key_file.as_deref())
        }
        Command::ImportCosts { file } => {
            let db = server::connect_and_migrate(&url).await?;
            let ctx = app::audit::chain::AuditCtx {
                actor: "cli".into(),
                at: app::util::ts(app::util::Clock::default().now()),
                ..Default::default()
            };
            let last = std::sync::atomic::AtomicU8::new(0);
            let outcome = app::costs::import::import_file(&db, &file, ctx, |p| {
                // A line per 10 % of the file on stderr (the report on stdout stays clean), and
                // one when stored: reading runs ahead of storing.
                let pct = p.percent().unwrap_or(0) / 10 * 10;
                let before = last.swap(pct, std::sync::atomic::Ordering::Relaxed);
                if p.done {
                    eprintln!("stored {} rows", p.rows);
                } else if pct > before {
                    eprintln!("{pct:>3}% read ({} rows stored)", p.rows);
                }
            })
            .await;
            let evaluated = match &outcome {
                Ok(_) => Some(
                    server::budgets_cli::evaluate(&db, &cli.data_dir, cli.budget_escalation_days)
                        .await,
                ),
                Err(_) => None,
            };
            db.close().await;
            if let Some(Err(e)) = evaluated {
                eprintln!("steward: budgets not evaluated: {e}");
            }
            Ok(match outcome {
                Ok(report) => {
                    print!("{}", report.to_text());
                    ExitCode::SUCCESS
                }
                Err(app::costs::import::ImportError::Db(e)) => return Err(e.into()),
                Err(e) => {
                    eprintln!("steward: {} refused: {e}", file.display());
                    ExitCode::from(1)
                }
            })
        }
        Command::ImportBudgets { file } => {
            server::budgets_cli::import(&url, &cli.data_dir, &file, cli.budget_escalation_days)
                .await
        }
        Command::ExportBudgets => server::budgets_cli::export(&url).await,
        Command::ImportAccounts { system, file } => {
            server::accounts_cli::import(&url, &system, &file).await
        }
        Command::ExportEvidence {
            framework,
            audit,
            from,
            to,
            out,
        } => {
            let key_file = cli.signing_key_file.as_deref();
            let scope = server::export_cli::Wanted {
                framework: framework.unwrap_or_default(),
                audit,
                from: from.unwrap_or_default(),
                to: to.unwrap_or_default(),
            };
            server::export_cli::export(&url, &cli.data_dir, key_file, scope, &out).await
        }
        Command::VerifyExport { file, public_key } => server::export_cli::verify(
            &cli.data_dir,
            cli.signing_key_file.as_deref(),
            &file,
            public_key,
        ),
        Command::Retention {
            action: server::config::RetentionAction::Run { dry_run, as_of },
        } => {
            let min = cli.audit_min_retention_days;
            server::retention_cli::run(&url, &cli.data_dir, min, dry_run, as_of).await
        }
        Command::EvaluateBudgets => {
            server::budgets_cli::evaluate_now(&url, &cli.data_dir, cli.budget_escalation_days).await
        }
    }
}

/// SQLite allocates with the C library's malloc (Rust code uses mimalloc). Each password hash
/// allocated 19 MiB there before mimalloc; kept as cheap insurance. glibc raises its mmap threshold after such a block is
/// freed and then keeps later ones in the heap for good; a fixed threshold returns them to the
/// system at once, and fewer arenas keep idle memory low.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    // The import is a batch job whose speed comes from reusing memory; everything else may run
    // for long and idle.
    if !matches!(cli.command, Command::ImportCosts { .. }) {
        server::alloc::purge_freed_memory_at_once();
    }
    init_logging(&cli);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("steward: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("steward: {e}");
            ExitCode::from(2)
        }
    }
}
