//! `portcullis store migrate|export|import`: the operator's side of the shared store. Moving from
//! one node to a fleet is `export` nothing, `import` the node's `portcullis-managed.json`; back
//! is `export` into the policy directory. Messages never show the connection string.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use portcullis::managed::{Backend, Managed};
use portcullis::settings::Settings;
use portcullis::store::StoreSettings;
use portcullis::store::postgres::Postgres;

use crate::cli::StoreCommand;
use crate::{process_env, settings_path};

/// Run one `store` subcommand.
pub fn run(command: StoreCommand) -> anyhow::Result<ExitCode> {
    match command {
        StoreCommand::Migrate { config } => {
            let found = open(config)?.migrate()?;
            let now = portcullis::store::postgres::schema::VERSION;
            eprintln!("store schema: version {found} found, {now} now");
        }
        StoreCommand::Export { config, out } => {
            let (revision, state) = open(config)?.read()?;
            let text = serde_json::to_string_pretty(&state.unwrap_or_default())? + "\n";
            match out {
                Some(path) => portcullis::managed::write_atomic(&path, text.as_bytes())
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => std::io::stdout().write_all(text.as_bytes())?,
            }
            eprintln!("exported revision {revision}");
        }
        StoreCommand::Import { config, file } => {
            let text = read(&file)?;
            let state: Managed = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a managed file", file.display()))?;
            let pg = open(config)?;
            pg.migrate()?;
            pg.persist(&state)?;
            eprintln!("imported; revision {}", pg.read()?.0);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The store the settings name; it must be PostgreSQL.
fn open(config: Option<PathBuf>) -> anyhow::Result<Postgres> {
    let settings = Settings::load(&settings_path(config)?)?;
    let StoreSettings::Postgres(pg) = &settings.store else {
        anyhow::bail!(
            "the settings' store is `file`: there is nothing to migrate, export or import"
        );
    };
    let connection = pg.connection(&process_env)?;
    Ok(Postgres::new(
        connection,
        None,
        Duration::from_millis(pg.write_timeout_ms),
    )?)
}

fn read(file: &PathBuf) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        return Ok(s);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}
