//! `flagpole import` and `flagpole export`: against the database directly (offline) or
//! through a running server's API (`--server`); `--project` imports into one project,
//! or exports one.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use flagpole_core::formats::{self, Format};
use flagpole_server::{AppState, ServerConfig};

use crate::client::Client;

/// Where admin commands act: the database, or a server.
#[derive(Debug, Args)]
pub struct Target {
    /// The database to act on offline: a SQLite file or a postgres:// URL.
    #[arg(
        long,
        env = "FLAGPOLE_DATABASE",
        default_value = "flagpole.db",
        global = true
    )]
    database: String,
    /// Act through this running server's API instead, e.g. http://127.0.0.1:4242.
    #[arg(long, env = "FLAGPOLE_SERVER", global = true)]
    pub server: Option<String>,
    /// The admin token to call the server with.
    #[arg(long, env = "FLAGPOLE_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

impl Target {
    /// A client for `--server`, if one was given.
    pub fn client(&self) -> Option<Client> {
        self.server
            .as_deref()
            .map(|server| Client::new(server, self.token.as_deref()))
    }

    pub fn database(&self) -> &str {
        &self.database
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import.
    file: PathBuf,
    #[arg(long, default_value = "native")]
    format: Format,
    /// The environment Unleash and seed flags are imported into.
    #[arg(long, default_value = "production")]
    environment: String,
    /// The project every imported flag and segment that names none goes to (made when
    /// it does not exist).
    #[arg(long)]
    project: Option<String>,
    #[command(flatten)]
    target: Target,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, default_value = "native")]
    format: Format,
    /// The environment exported to the Unleash and seed formats.
    #[arg(long, default_value = "production")]
    environment: String,
    /// Only this project's flags, and the segments they may use.
    #[arg(long)]
    project: Option<String>,
    /// Write here instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    target: Target,
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub async fn open_state(database: &str) -> Result<AppState> {
    let store = flagpole_store::open(database)
        .await
        .with_context(|| format!("cannot open the database {database}"))?;
    flagpole_server::ensure_default_environments(&*store).await?;
    Ok(AppState::new(store, ServerConfig::default()).await?)
}

pub fn import(args: ImportArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    if let Some(client) = args.target.client() {
        let path = format!(
            "/api/v1/import?{}",
            transfer_query(args.format, &args.environment, &args.project)
        );
        // A native document may be YAML (JSON is YAML too); the other formats are JSON.
        let content_type = match args.format {
            Format::Native => "application/yaml",
            Format::Unleash | Format::Seed => "application/json",
        };
        let answer = client.send_text("POST", &path, content_type, &text)?;
        crate::output::say!("{answer}");
        return Ok(());
    }
    let mut doc = formats::import(&text, args.format, &args.environment)
        .with_context(|| format!("{} is not a valid flag file", args.file.display()))?;
    if let Some(project) = &args.project {
        doc.place_in(project);
    }
    let database = args.target.database.clone();
    runtime()?.block_on(async move {
        let state = open_state(&database).await?;
        let version = flagpole_server::import_document(
            &state,
            &flagpole_server::identity::Principal::local(),
            &mut doc,
        )
        .await?;
        crate::output::say!(
            "imported {} flags and {} segments into {database} (configuration version {version})",
            doc.flags.len(),
            doc.segments.len()
        );
        Ok(())
    })
}

pub fn export(args: ExportArgs) -> Result<()> {
    let text = match args.target.client() {
        Some(client) => client.get_text(&format!(
            "/api/v1/export?{}",
            transfer_query(args.format, &args.environment, &args.project)
        ))?,
        None => {
            let database = args.target.database.clone();
            let (format, environment) = (args.format, args.environment.clone());
            let project = args.project.clone();
            runtime()?.block_on(async move {
                let state = open_state(&database).await?;
                let published = state.published();
                if format != Format::Native && !published.has_environment(&environment) {
                    anyhow::bail!("there is no environment {environment:?}");
                }
                let document = match &project {
                    Some(p) if published.project(p).is_none() => {
                        anyhow::bail!("there is no project {p:?}")
                    }
                    Some(p) => published.document().of_project(p),
                    None => published.document(),
                };
                Ok::<_, anyhow::Error>(formats::export(&document, format, &environment)?)
            })?
        }
    };
    match &args.output {
        Some(path) => std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => crate::output::say!("{text}"),
    }
    Ok(())
}

/// The query of an import or export through the API.
fn transfer_query(format: Format, environment: &str, project: &Option<String>) -> String {
    crate::flag::query(&[
        ("format", Some(format_name(format).to_string())),
        ("environment", Some(environment.to_string())),
        ("project", project.clone()),
    ])
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Native => "native",
        Format::Unleash => "unleash",
        Format::Seed => "seed",
    }
}
