//! The `folio` command line: `serve` (the default), `migrate`, `seed` and `openapi`.

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
    /// Print the OpenAPI document.
    Openapi,
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
            let started = std::time::Instant::now();
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
                if crate::seed::is_empty(&url)? {
                    tracing::info!("empty database: adding demo content");
                    crate::seed::run(&url, &SeedOptions::demo(), false)?;
                }
            }
            actix_web::rt::System::new().block_on(async move {
                Application::build(config)?.run_until_stopped().await?;
                Ok(())
            })
        }
    }
}
