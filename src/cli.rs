//! The raw command-line arguments of the `portcullis` binary: clap types that mirror what was
//! typed and hold no logic. Part of the binary, not the library; `main.rs` acts on them.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "portcullis",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("PORTCULLIS_GIT_REVISION"), ")"),
    about = "A reverse-proxy authorization gateway"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve {
        /// Boot settings file. Default: `config/portcullis.json` (relative to the working
        /// directory) if it exists, else `/etc/portcullis/portcullis.json`.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Validate the settings and policy without serving (exit 0 valid, 1 invalid or unreadable);
    /// warns about keys that can do nothing.
    Check {
        /// Boot settings file. Default: `config/portcullis.json` (relative to the working
        /// directory) if it exists, else `/etc/portcullis/portcullis.json`.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Check this policy file or directory instead of the one the settings name.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Show how the policy decides one request (exit 0 allowed, 1 denied, 2 the settings or
    /// policy could not be read).
    Explain {
        /// Boot settings file. Default: `config/portcullis.json` (relative to the working
        /// directory) if it exists, else `/etc/portcullis/portcullis.json`.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Explain against this policy instead of the one the settings name.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// HTTP method.
        #[arg(long, default_value = "GET")]
        method: String,
        /// Request target: path and query, e.g. '/api/x?y=1'.
        #[arg(long)]
        path: String,
        /// Host header.
        #[arg(long)]
        host: Option<String>,
        /// Decide as this key id.
        #[arg(long, conflicts_with = "secret_stdin")]
        key_id: Option<String>,
        /// Read the credential's secret from standard input.
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Manage API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The shared management store (PostgreSQL): create its schema, move state to and from the
    /// file format (`portcullis-managed.json`).
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Run policy tests: each case's request through the gateway's own decision, compared with
    /// its expected outcome (exit 0 all passed, 1 a failure, 2 a file could not be run).
    Test {
        /// Boot settings file. Default: `config/portcullis.json` (relative to the working
        /// directory) if it exists, else `/etc/portcullis/portcullis.json`.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Test this policy file or directory instead of the one the settings name.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Also write a JUnit XML report here.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Test files, or directories of `*.json` test files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// The access a policy change gives or takes (exit 0 nothing widens, 2 access widens, 1 an
    /// error).
    Diff {
        /// The old policy (file or directory); with `--git REV`, the policy path whose version at
        /// that git revision is compared with its working copy (NEW is then omitted).
        old: PathBuf,
        /// The new policy (file or directory).
        #[arg(required_unless_present = "git")]
        new: Option<PathBuf>,
        /// Compare OLD as it was at this git revision (e.g. `HEAD`, `origin/main`) with OLD now.
        #[arg(long)]
        git: Option<String>,
        /// Print JSON instead of the grouped report.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to standard output.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write the man pages (`portcullis.1` and one per subcommand) into a directory.
    Man {
        /// Directory to write into.
        #[arg(long, default_value = "target/man")]
        out: PathBuf,
    },
    /// Write the JSON Schemas of the policy and settings files, generated from their types.
    #[command(hide = true)]
    Schema {
        /// Directory to write `policy.schema.json` and `settings.schema.json` into.
        #[arg(long, default_value = "schema")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Read a password from standard input and print its argon2id PHC string.
    HashPassword,
    /// Print a new TOTP secret (base32) and its otpauth:// URI.
    TotpSecret {
        /// The user name shown in authenticator apps.
        #[arg(long)]
        user: String,
    },
    /// Print a new random HS256 signing secret (base64) for `signing_keys`.
    SigningSecret,
}

#[derive(Subcommand)]
pub enum StoreCommand {
    /// Create or migrate the schema of the store the settings name (nodes also do it at start).
    Migrate {
        /// Boot settings file (its `store` section).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print the stored state in the file format (a `portcullis-managed.json`), with its
    /// revision on standard error.
    Export {
        /// Boot settings file (its `store` section).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Replace the stored state with a file-format document (`-`: standard input); every node
    /// applies it within its check interval.
    Import {
        /// Boot settings file (its `store` section).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The `portcullis-managed.json` to load.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Print a fresh secret (once) and the policy entry holding only its digest.
    New {
        /// The key id.
        #[arg(long)]
        id: String,
        /// A permission to grant, `module:action` (`module:all` for every action); repeatable.
        #[arg(long = "permission", value_name = "MODULE:ACTION")]
        permissions: Vec<String>,
        /// A role to grant; repeatable.
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// A description for people reading the policy.
        #[arg(long)]
        description: Option<String>,
    },
}
