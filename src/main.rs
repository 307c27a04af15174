//! The `nano` command line: parses arguments, loads configuration, then hands over to `app::run`.

use clap::{Args, Parser, Subcommand};
use figment::value::Dict;
use nano::app::{self, Config, Profile};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Rust's allocations go to mimalloc: requests are built on one thread and freed on another, which glibc's malloc
/// serialises on its arena locks. Worker threads collect its free memory after compiling a version and after
/// evicting isolates (`adapters::js::worker`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    Run(RunArgs),
    /// Print the effective configuration (secrets redacted) and exit; takes the same flags as `run`.
    Config(RunArgs),
    /// An interactive JavaScript prompt on the app runtime, with an app's env and bindings (`--app`). Reads inputs
    /// from stdin when it is not a terminal.
    Repl(ReplArgs),
    /// Create an app folder from a template (TypeScript, bundled by `npm run build`) under the apps folder, and
    /// install its npm packages.
    New(NewArgs),
    /// Print an app's live log lines as a node records them, reconnecting when the stream drops.
    Tail(TailArgs),
}

#[derive(Args)]
struct TailArgs {
    /// The app whose lines to print.
    app: String,
    /// Refuse unless the app is this tenant's.
    #[arg(long, value_name = "T")]
    tenant: Option<String>,
    /// The node's URL (default: the node this config serves, on loopback).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// The admin token (default: `admin_token` of this config).
    #[arg(long, value_name = "T")]
    token: Option<String>,
    /// The lowest level printed: `debug`, `info`, `warn` or `error`.
    #[arg(long, value_name = "L")]
    level: Option<String>,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Args)]
struct NewArgs {
    /// The app's name: its folder `<apps folder>/<NAME>` and its hostname `<NAME>.localhost`.
    name: String,
    /// `hono` (a Hono router), `plain` (a bare `fetch` handler) or `wrangler` (a Cloudflare Workers project:
    /// wrangler.toml and workers-types).
    #[arg(long, value_name = "NAME", default_value = "hono")]
    template: String,
    /// Write the files only; run `npm install` yourself.
    #[arg(long)]
    no_install: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Args)]
struct ReplArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The app whose env, bindings and tenant the prompt gets (default: the default tenant, no bindings).
    #[arg(long, value_name = "NAME")]
    app: Option<String>,
    /// The JS engine, `v8` or `quickjs` (default: the app's engine, else `default_engine`).
    #[arg(long, value_name = "NAME")]
    engine: Option<String>,
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
    /// Folder of app folders, one app per `<DIR>/<name>/` (default ./apps).
    #[arg(long, value_name = "DIR")]
    apps: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    bootstrap: BootstrapArgs,
}

/// hyper-nano's start-up flags: create services under one domain of the default tenant at start.
#[derive(Args)]
struct BootstrapArgs {
    /// Domain the bootstrap flags create services under.
    #[arg(long, value_name = "NAME")]
    domain: Option<String>,
    /// Create the data service's database `<domain>` at start.
    #[arg(long)]
    data: bool,
    /// Create the cache store `<domain>` at start.
    #[arg(long)]
    cache: bool,
    /// Create the storage bucket `<domain>` at start.
    #[arg(long)]
    storage: bool,
    /// Create the search index `<domain>` at start (fields `title` and `type`, as hyper's test suite uses).
    #[arg(long)]
    search: bool,
    /// Create the queue `<domain>` at start; needs --queue-target.
    #[arg(long)]
    queue: bool,
    /// Webhook URL of the bootstrapped queue.
    #[arg(long, value_name = "URL")]
    queue_target: Option<String>,
    /// Delete, then recreate, the bootstrapped services: all of them, or a list (`--purge=data,cache`).
    #[arg(long, value_name = "LIST", num_args = 0..=1, require_equals = true, default_missing_value = "all")]
    purge: Option<String>,
    /// Accepted for compatibility with hyper-nano, which required it with the flags above.
    #[arg(long)]
    experimental: bool,
}

impl BootstrapArgs {
    /// The flags as config overrides under `bootstrap` (nothing when no flag was given).
    fn overrides(&self) -> Option<figment::value::Value> {
        let chosen: Vec<&str> = [
            ("data", self.data),
            ("cache", self.cache),
            ("storage", self.storage),
            ("search", self.search),
            ("queue", self.queue),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
        if chosen.is_empty()
            && self.purge.is_none()
            && self.domain.is_none()
            && self.queue_target.is_none()
        {
            return None;
        }
        let purge: Vec<String> = match self.purge.as_deref() {
            None => Vec::new(),
            Some("all") | Some("") => chosen.iter().map(|s| s.to_string()).collect(),
            Some(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        };
        let mut dict = Dict::new();
        dict.insert("services".into(), chosen.into());
        dict.insert("purge".into(), purge.into());
        if let Some(domain) = &self.domain {
            dict.insert("domain".into(), domain.clone().into());
        }
        if let Some(target) = &self.queue_target {
            dict.insert("queue_target".into(), target.clone().into());
        }
        Some(dict.into())
    }
}

impl RunArgs {
    /// The configuration these flags give, bootstrap flags included.
    fn load(&self) -> Result<Config, app::ConfigError> {
        let mut overrides = Dict::new();
        if let Some(bootstrap) = self.bootstrap.overrides() {
            overrides.insert("bootstrap".into(), bootstrap);
        }
        self.config.load_with(overrides)
    }
}

impl ConfigArgs {
    fn load(&self) -> Result<Config, app::ConfigError> {
        self.load_with(Dict::new())
    }

    fn load_with(&self, mut overrides: Dict) -> Result<Config, app::ConfigError> {
        let file = self
            .config
            .clone()
            .or_else(|| Some(PathBuf::from("nano.toml")).filter(|p| Path::new(p).exists()));
        if let Some(listen) = &self.listen {
            overrides.insert("listen".into(), listen.clone().into());
        }
        if let Some(dir) = &self.data_dir {
            overrides.insert("data_dir".into(), dir.display().to_string().into());
        }
        if let Some(dir) = &self.apps {
            overrides.insert("apps_dir".into(), dir.display().to_string().into());
        }
        Config::load(self.profile, file.as_deref(), overrides)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Repl(args) => return repl(args),
        Command::New(args) => return new(args),
        Command::Tail(args) => return tail(args),
        _ => {}
    }
    let (loaded, serve) = match &cli.command {
        Command::Run(run) => (run.load(), true),
        Command::Config(run) => (run.load(), false),
        Command::Repl(ReplArgs { config, .. })
        | Command::New(NewArgs { config, .. })
        | Command::Tail(TailArgs { config, .. }) => (config.load(), false),
    };
    let config = match loaded {
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
        // nano could not start: a store it cannot reach, a listener it cannot bind, a setting that does not hold.
        Err(e) => {
            eprintln!("nano: {e}");
            ExitCode::from(2)
        }
    }
}

/// `nano repl`: exits 2 on configuration errors, 1 when the REPL cannot open or a piped input threw.
fn repl(args: &ReplArgs) -> ExitCode {
    let config = match args.config.load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("nano: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nano: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = app::repl::ReplOptions {
        app: args.app.clone(),
        engine: args.engine.clone(),
    };
    let repl = match runtime.block_on(app::repl::Repl::open(&config, &options)) {
        Ok(repl) => repl,
        Err(e) => {
            eprintln!("nano: {e}");
            return ExitCode::FAILURE;
        }
    };
    let history = std::fs::create_dir_all(&config.data_dir)
        .ok()
        .map(|()| config.data_dir.join("repl_history"));
    if app::repl::run(&repl, &runtime, history) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `nano tail`: exits 2 on configuration errors, 1 when the node refuses (unknown app, bad token or level).
fn tail(args: &TailArgs) -> ExitCode {
    let config = match args.config.load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("nano: {e}");
            return ExitCode::from(2);
        }
    };
    let options = app::tail::TailOptions {
        url: args
            .url
            .clone()
            .unwrap_or_else(|| app::tail::local_url(config.listen)),
        token: args
            .token
            .clone()
            .or_else(|| config.admin_token.as_ref().map(|t| t.expose().to_string())),
        app: args.app.clone(),
        tenant: args.tenant.clone(),
        level: args.level.clone(),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nano: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app::tail::run(&options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nano tail: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `nano new`: exits 2 on configuration errors, 1 when the folder cannot be made or `npm install` fails.
fn new(args: &NewArgs) -> ExitCode {
    let config = match args.config.load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("nano: {e}");
            return ExitCode::from(2);
        }
    };
    let folder = match app::new::scaffold(&config.apps_dir, &args.name, &args.template) {
        Ok(folder) => folder,
        Err(e) => {
            eprintln!("nano: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "Created {} from the {} template.",
        folder.display(),
        args.template
    );
    let install = if args.no_install {
        "npm install && "
    } else {
        println!("Installing its packages (npm install)...");
        if let Err(e) = app::new::npm_install(&folder) {
            eprintln!("nano: {e}");
            return ExitCode::FAILURE;
        }
        ""
    };
    let port = config.listen.port();
    println!(
        "Next, build it:\n\n    cd {} && {install}npm run build\n\nand serve it with `nano run` (or `bash scripts/dev.sh` in nano's checkout), which answers at \
         http://{}.localhost:{port}/ and reloads the app on every build (`npm run watch` rebuilds on every change).",
        folder.display(),
        args.name
    );
    ExitCode::SUCCESS
}
