//! The `folio` command line: `serve` (the default), `migrate`, `seed`, `export`, `import`,
//! `user`, `token`, `media` and `openapi`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::db::DatabaseUrl;
use crate::seed::SeedOptions;
use crate::{Application, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "folio",
    version,
    about = "A headless content API on SQLite or PostgreSQL"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply migrations and serve the API (the default).
    Serve {
        /// On an empty database, first fill it with demo content.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Fill an empty database with deterministic demo content.
    Seed(SeedOptions),
    /// Write the whole site to a portable archive (JSON Lines; gzip when FILE ends in .gz).
    Export {
        /// Where to write; standard output when omitted or "-".
        file: Option<PathBuf>,
    },
    /// Load an archive written by `folio export` into an empty database, all or nothing.
    Import {
        file: PathBuf,
        /// Only read and check the archive; write nothing.
        #[arg(long)]
        check: bool,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Manage users from the command line.
    #[command(subcommand)]
    User(UserCommand),
    /// Personal access tokens, for provisioning scripts and CI.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The media library's storage.
    #[command(subcommand)]
    Media(MediaCommand),
}

#[derive(Debug, Subcommand)]
enum MediaCommand {
    /// Remove stored objects that no media item names: what a crash between an upload's
    /// object write and its database row leaves behind.
    Gc {
        /// Keep objects younger than this many seconds (uploads in flight write their objects
        /// just before their rows).
        #[arg(long, default_value_t = 3600)]
        grace_secs: u64,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token for a user and print it (alone, on stdout, so a script can capture it).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Comma-separated: content:read, content:write, tags:write, users:admin, tokens:manage.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; the password is asked for, or read from stdin with --password-stdin.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["contributor", "author", "editor", "admin"])]
        role: String,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Link an existing account to its identity at the single sign-on provider (the
    /// provider's `sub` for the person), so signing in there reaches this account; its role
    /// then follows the provider's claims.
    LinkIdentity {
        #[arg(long)]
        email: String,
        /// The provider's subject identifier for this person.
        #[arg(long)]
        subject: String,
    },
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let first = rpassword::prompt_password("Password: ")?;
    let second = rpassword::prompt_password("Again: ")?;
    anyhow::ensure!(first == second, "the passwords differ");
    Ok(first)
}

/// Runs the command line; the binary's `main` only reports the error.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Openapi => {
            print!("{}", crate::openapi::document_json());
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            name,
            role,
            password_stdin,
        }) => {
            telemetry::init(&config.log, &config.log_format);
            let url = DatabaseUrl::parse(&config.database_url).map_err(anyhow::Error::msg)?;
            crate::db::migrate(&url)?;
            let password = read_password(password_stdin)?;
            let role = crate::auth::Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("unknown role {role}"))?;
            let user = crate::bootstrap::create_user(
                &mut crate::db::connect(&url)?,
                &email,
                &name,
                role,
                &password,
            )?;
            println!("created {} {} (id {})", user.role, user.email, user.id);
            Ok(())
        }
        Command::User(UserCommand::LinkIdentity { email, subject }) => {
            telemetry::init(&config.log, &config.log_format);
            let issuer = config.oidc.issuer.clone().ok_or_else(|| {
                anyhow::anyhow!("single sign-on is not configured: set FOLIO_OIDC_ISSUER")
            })?;
            let url = DatabaseUrl::parse(&config.database_url).map_err(anyhow::Error::msg)?;
            crate::db::migrate(&url)?;
            let user = crate::service::sso::link(
                &mut crate::db::connect(&url)?,
                &email,
                &issuer,
                &subject,
            )
            .map_err(|e| anyhow::anyhow!("{e}: {email}"))?;
            println!(
                "linked {} (id {}) to {subject} at {issuer}",
                user.email, user.id
            );
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            email,
            name,
            scopes,
            expires_in_days,
        }) => {
            telemetry::init(&config.log, &config.log_format);
            let url = DatabaseUrl::parse(&config.database_url).map_err(anyhow::Error::msg)?;
            crate::db::migrate(&url)?;
            let scopes = crate::auth::Scopes::from_names(scopes.iter().map(|s| s.trim()))
                .map_err(|unknown| anyhow::anyhow!("unknown scopes: {}", unknown.join(", ")))?;
            let request = crate::service::api_tokens::NewToken {
                name,
                scopes,
                expires_at: expires_in_days
                    .map(|days| {
                        crate::db::now()
                            .checked_add_signed(chrono::TimeDelta::days(days.into()))
                            .ok_or_else(|| anyhow::anyhow!("--expires-in-days is too far away"))
                    })
                    .transpose()?,
            };
            let (_, token) = crate::service::api_tokens::create_for_email(
                &mut crate::db::connect(&url)?,
                &email,
                &request,
            )
            .map_err(|e| match e {
                crate::error::AppError::Invalid(errors) => anyhow::anyhow!(
                    "{}",
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                other => anyhow::anyhow!("{other}: {email}"),
            })?;
            println!("{token}");
            Ok(())
        }
        Command::Media(MediaCommand::Gc { grace_secs }) => {
            telemetry::init(&config.log, &config.log_format);
            let url = DatabaseUrl::parse(&config.database_url).map_err(anyhow::Error::msg)?;
            // Judged against the wrong database, every object would look unnamed: this one
            // must exist already (no file is created, no migration run) and hold a site.
            anyhow::ensure!(
                url.backend != crate::db::Backend::Sqlite
                    || std::path::Path::new(url.target()).exists(),
                "no database at {}: point FOLIO_DATABASE_URL at the site's database",
                url.display_name()
            );
            let mut conn = crate::db::connect(&url)?;
            let (users, _, _) = crate::db::archive::content_counts(&mut conn)
                .with_context(|| format!("{} is not a Folio database", url.display_name()))?;
            anyhow::ensure!(
                users > 0,
                "{} holds no users: is it the site's database?",
                url.display_name()
            );
            let storage = crate::storage::Storage::from_config(&config)?;
            let removed =
                actix_web::rt::System::new().block_on(crate::service::media::collect_garbage(
                    &storage,
                    &mut conn,
                    std::time::Duration::from_secs(grace_secs),
                ))?;
            println!("removed {removed} objects");
            Ok(())
        }
        Command::Export { file } => {
            telemetry::init(&config.log, &config.log_format);
            let url = DatabaseUrl::parse(&config.database_url).map_err(anyhow::Error::msg)?;
            let started = Instant::now();
            let summary =
                crate::archive::export(&url, file.as_deref(), std::io::stderr().is_terminal())?;
            // On stderr: stdout may be the archive itself.
            eprintln!("exported {summary} in {:.1?}", started.elapsed());
            Ok(())
        }
        Command::Import { file, check } => {
            telemetry::init(&config.log, &config.log_format);
            let show_progress = std::io::stderr().is_terminal();
            let started = Instant::now();
            if check {
                let summary = crate::archive::check(&file, show_progress)?;
                println!("{} is a complete archive of {summary}", file.display());
            } else {
                let url = DatabaseUrl::parse(&config.database_url).map_err(anyhow::Error::msg)?;
                let summary = crate::archive::import(&url, &file, show_progress)?;
                println!("imported {summary} in {:.1?}", started.elapsed());
            }
            Ok(())
        }
        Command::Migrate => {
            telemetry::init(&config.log, &config.log_format);
            let url = DatabaseUrl::parse(&config.database_url).map_err(anyhow::Error::msg)?;
            let applied = crate::db::migrate(&url)?;
            println!("applied {} migration(s)", applied.len());
            Ok(())
        }
        Command::Seed(options) => {
            telemetry::init(&config.log, &config.log_format);
            let url = DatabaseUrl::parse(&config.database_url).map_err(anyhow::Error::msg)?;
            let started = Instant::now();
            crate::seed::run(&url, &options, true)?;
            println!(
                "seeded {} articles in {:.1?}",
                options.articles,
                started.elapsed()
            );
            Ok(())
        }
        Command::Serve { demo } => {
            telemetry::init(&config.log, &config.log_format);
            if demo {
                let url = DatabaseUrl::parse(&config.database_url).map_err(anyhow::Error::msg)?;
                if crate::seed::article_count(&url)? == 0 {
                    tracing::info!("empty database: adding demo content");
                    crate::seed::run(&url, &SeedOptions::demo(), false)?;
                    let mut conn = crate::db::connect(&url)?;
                    crate::bootstrap::admin_from_config(&mut conn, &config)?;
                    if let Some((email, password)) = crate::bootstrap::demo_admin(&mut conn)? {
                        // Shown once: only the hash is stored.
                        println!(
                            "\nDemo admin: {email}\nPassword:   {password}\n(shown only now)\n"
                        );
                    }
                }
            }
            actix_web::rt::System::new().block_on(async move {
                Application::build(config)?.run_until_stopped().await?;
                Ok(())
            })
        }
    }
}
