//! The `nano` command line: parses arguments, loads configuration, then hands over to `app::run`.

use clap::{Args, Parser, Subcommand};
use figment::value::Dict;
use nano::app::{self, Config, Profile};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// nano: host many tenants' JavaScript apps and hyper-compatible services in one process.
#[derive(Parser)]
#[command(name = "nano", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve apps and services until SIGTERM or SIGINT.
    Run(ConfigArgs),
    /// Print the effective configuration (secrets redacted) and exit.
    Config(ConfigArgs),
}

#[derive(Args)]
struct ConfigArgs {
    /// Deployment shape: `dev` (embedded, zero set-up) or `prod` (PostgreSQL, Redis, auth on).
    #[arg(long, value_enum, default_value = "dev")]
    profile: Profile,
    /// Config file (default: ./nano.toml when it exists).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:6363.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Directory of the embedded stores (default ./.nano).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl ConfigArgs {
    fn load(&self) -> Result<Config, app::ConfigError> {
        let file = self
            .config
            .clone()
            .or_else(|| Some(PathBuf::from("nano.toml")).filter(|p| Path::new(p).exists()));
        let mut overrides = Dict::new();
        if let Some(listen) = &self.listen {
            overrides.insert("listen".into(), listen.clone().into());
        }
        if let Some(dir) = &self.data_dir {
            overrides.insert("data_dir".into(), dir.display().to_string().into());
        }
        Config::load(self.profile, file.as_deref(), overrides)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (args, serve) = match &cli.command {
        Command::Run(args) => (args, true),
        Command::Config(args) => (args, false),
    };
    let config = match args.load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("nano: {e}");
            return ExitCode::from(2);
        }
    };
    if !serve {
        print!("{}", config.to_toml());
        return ExitCode::SUCCESS;
    }
    app::init_logging(&config);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nano: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nano: {e}");
            ExitCode::FAILURE
        }
    }
}
