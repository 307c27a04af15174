//! `nano repl`: a JavaScript prompt on the app runtime. The REPL loads a synthetic app version (the chosen app's
//! tenant, env and bindings, with `repl.js` as its code and limits for interactive use); each input is one request.
//!
//! The runtime has one thread, and its isolate is never evicted. `repl.js` evaluates each input in global scope and
//! answers `{ out, value, error }`. An input's request stays open after its answer for as long as the REPL runs (up
//! to `SESSION_MS`), so the resources it started (bodies, streams, timers) stay usable by later inputs. The terminal
//! side (rustyline, history, continuation lines, pipes) is here. Services open without queue delivery; the queue
//! store opens only for an app bound to it.

use super::build::{open_services, BuildError};
use super::config::{AppConfig, Config};
use crate::core::AppName;
use crate::ports::{AppRuntime, Body};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The module that evaluates inputs in the isolate's global scope.
const REPL_JS: &str = include_str!("repl.js");
/// The module's file name in the synthetic version.
const MODULE: &str = "__nano_repl.js";
/// CPU time one input may take (an app's own limit is usually far lower).
const INPUT_CPU_MS: u64 = 30_000;
/// How long an input, and the resources it started, may live: an input's answer may await timers and I/O that
/// long, and its request stays open that long after it.
const SESSION_MS: u64 = 30 * 24 * 3600 * 1000;
/// The isolate (and the globals the inputs declared) lives as long as the REPL.
const KEEP_ISOLATE: Duration = Duration::from_millis(SESSION_MS);

/// What nano needs to open a REPL: the config, the app whose env to use, and an engine other than the app's.
pub struct ReplOptions {
    pub app: Option<String>,
    pub engine: Option<String>,
}

/// An open REPL: the synthetic app loaded into its own runtime.
pub struct Repl {
    runtime: Arc<dyn AppRuntime>,
    app: AppName,
    /// `v8` or `quickjs`.
    pub engine: &'static str,
    /// The tenant the bindings act for.
    pub tenant: String,
    /// The binding names on `env`.
    pub bindings: Vec<String>,
}

/// One input's result: console output written since the previous input, then the value or the uncaught error.
#[derive(Debug, serde::Deserialize)]
pub struct Evaluation {
    pub out: Vec<String>,
    pub value: Option<String>,
    pub error: Option<String>,
}

impl Repl {
    /// Opens the services of the profile (queue jobs are stored, not delivered, from this process), then loads the
    /// REPL version for `options.app` (its tenant, env, bindings and assets) or, without one, for the default tenant
    /// with no bindings.
    pub async fn open(config: &Config, options: &ReplOptions) -> Result<Self, BuildError> {
        // The queue store opens only for an app bound to it: opening SQLite's releases the claims of a running nano.
        let mut without_queue = config.clone();
        without_queue.services.queue = false;
        let mut services = open_services(&without_queue, None).await?;
        let js_err = |e: crate::ports::RuntimeError| BuildError(format!("JS runtime: {e}"));
        #[allow(clippy::needless_update)]
        // the options' other fields, present or future, keep their defaults
        let runtime_options = crate::adapters::js::RuntimeOptions {
            threads: 1,
            idle_evict: KEEP_ISOLATE,
            ..Default::default()
        };
        let runtimes = super::engines::start_with(runtime_options).map_err(js_err)?;
        let router = Arc::new(
            super::engines::EngineRouter::new(runtimes, &config.default_engine).map_err(js_err)?,
        );
        let runtime: Arc<dyn AppRuntime> = router.clone();
        let (mut cfg, assets) = match &options.app {
            Some(name) => {
                let hosting = super::hosting::Hosting::new(
                    runtime.clone(),
                    services.registry.clone(),
                    services.clone(),
                    config,
                );
                hosting
                    .sync_registry()
                    .await
                    .map_err(|e| BuildError(format!("stored apps: {e}")))?;
                let def = hosting.find(name).ok_or_else(|| {
                    BuildError(format!(
                        "app {name} not found (in [[apps]], {} or the apps created through the admin API)",
                        config.apps_dir.display()
                    ))
                })?;
                (def.config, def.assets)
            }
            None => (
                AppConfig {
                    name: "repl".into(),
                    tenant: config
                        .default_tenant
                        .clone()
                        .unwrap_or_else(|| "default".into()),
                    hostnames: Vec::new(),
                    entry: PathBuf::from(MODULE),
                    env: BTreeMap::new(),
                    limits: Default::default(),
                    bindings: BTreeMap::new(),
                    engine: None,
                    triggers: Default::default(),
                    outbound: Default::default(),
                },
                None,
            ),
        };
        let binds_queue = cfg
            .bindings
            .values()
            .any(|b| b.service == crate::core::ServiceKind::Queue);
        if config.services.queue && binds_queue {
            services.queue = Some(super::build::open_queue(config, None, None).await?);
        }
        // The REPL's code has no `scheduled` handler, and nothing here runs cron triggers.
        cfg.triggers = Default::default();
        if let Some(engine) = &options.engine {
            cfg.engine = Some(engine.clone());
        }
        cfg.limits.cpu_ms = cfg.limits.cpu_ms.max(INPUT_CPU_MS);
        cfg.limits.wall_ms = cfg.limits.wall_ms.max(SESSION_MS);
        let modules = BTreeMap::from([(MODULE.to_string(), REPL_JS.to_string())]);
        let mut version =
            super::hosting::versions::version_from(&cfg, MODULE.into(), modules, &services)?;
        version.bindings.assets = super::hosting::assets_port(assets.as_deref());
        let app = version.spec.name.clone();
        let mut bindings: Vec<String> = version.spec.bindings.keys().cloned().collect();
        if version.bindings.assets.is_some() && !bindings.iter().any(|b| b == "ASSETS") {
            bindings.push("ASSETS".into());
        }
        runtime
            .load(version)
            .await
            .map_err(|e| BuildError(e.to_string()))?;
        let engine = router.engine_of(&app).unwrap_or_else(|| runtime.engine());
        Ok(Self {
            runtime,
            app,
            engine,
            tenant: cfg.tenant,
            bindings,
        })
    }

    /// Evaluates one input; `Err` when the runtime itself refused or ended it (a limit, an engine failure).
    pub async fn eval(&self, input: &str) -> Result<Evaluation, String> {
        let req = http::Request::builder()
            .method(http::Method::POST)
            .uri("http://repl.invalid/")
            .body(Body::from_bytes(input.to_string()))
            .map_err(|e| e.to_string())?;
        let res = self
            .runtime
            .dispatch(&self.app, req)
            .await
            .map_err(|e| e.to_string())?;
        let status = res.status();
        let bytes = res.into_body().collect().await.map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes)
            .map_err(|_| format!("{status}: {}", String::from_utf8_lossy(&bytes)))
    }
}

/// Whether `src` is complete enough to evaluate: no bracket, string, template or block comment left open.
pub fn complete(src: &str) -> bool {
    let chars: Vec<char> = src.chars().collect();
    let mut depth: i64 = 0;
    let mut templates: Vec<i64> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('*') => {
                i += 2;
                loop {
                    if i + 1 >= chars.len() {
                        return false;
                    }
                    if chars[i] == '*' && chars[i + 1] == '/' {
                        break;
                    }
                    i += 1;
                }
                i += 2;
                continue;
            }
            '"' | '\'' => {
                i += 1;
                while i < chars.len() && chars[i] != c && chars[i] != '\n' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
            }
            '`' => {
                if !template_tail(&chars, &mut i, &mut depth, &mut templates) {
                    return false;
                }
                continue;
            }
            '}' if templates.last() == Some(&depth) => {
                templates.pop();
                depth -= 1;
                if !template_tail(&chars, &mut i, &mut depth, &mut templates) {
                    return false;
                }
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    depth <= 0 && templates.is_empty()
}

/// Skips a template literal's text from its opening `` ` `` or `}`; false when the input ends inside it.
fn template_tail(chars: &[char], i: &mut usize, depth: &mut i64, templates: &mut Vec<i64>) -> bool {
    *i += 1;
    while *i < chars.len() {
        match chars[*i] {
            '\\' => *i += 2,
            '`' => {
                *i += 1;
                return true;
            }
            '$' if chars.get(*i + 1) == Some(&'{') => {
                *depth += 1;
                templates.push(*depth);
                *i += 2;
                return true;
            }
            _ => *i += 1,
        }
    }
    false
}

/// Prints one evaluation: console output, then the value (stdout) or the error (stderr). True when it threw.
fn show(result: Result<Evaluation, String>) -> bool {
    match result {
        Ok(ev) => {
            let mut stdout = std::io::stdout().lock();
            for line in &ev.out {
                let _ = writeln!(stdout, "{line}");
            }
            if let Some(value) = &ev.value {
                let _ = writeln!(stdout, "{value}");
            }
            let _ = stdout.flush();
            if let Some(e) = &ev.error {
                eprintln!("{e}");
                return true;
            }
            false
        }
        Err(e) => {
            eprintln!("Uncaught {e}");
            true
        }
    }
}

/// Runs the REPL on this terminal or pipe until `.exit`, end of input or Ctrl-D. Returns false when stdin is not a
/// terminal and some input threw (the process then exits 1); every input is evaluated either way.
pub fn run(repl: &Repl, rt: &tokio::runtime::Runtime, history: Option<PathBuf>) -> bool {
    if std::io::stdin().is_terminal() {
        interactive(repl, rt, history);
        true
    } else {
        piped(repl, rt)
    }
}

/// Reads inputs from a pipe: lines gather until they form a complete input, which is evaluated and printed.
fn piped(repl: &Repl, rt: &tokio::runtime::Runtime) -> bool {
    let mut ok = true;
    let mut buffer = String::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if buffer.is_empty() && line.trim() == ".exit" {
            return ok;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !complete(&buffer) {
            continue;
        }
        let input = std::mem::take(&mut buffer);
        if input.trim().is_empty() {
            continue;
        }
        if show(rt.block_on(repl.eval(&input))) {
            ok = false;
        }
    }
    if !buffer.trim().is_empty() && show(rt.block_on(repl.eval(&buffer))) {
        ok = false;
    }
    ok
}

/// The prompt with line editing and history (kept in `history` between sessions).
fn interactive(repl: &Repl, rt: &tokio::runtime::Runtime, history: Option<PathBuf>) {
    use rustyline::error::ReadlineError;
    let mut editor = match rustyline::DefaultEditor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("nano: cannot open the line editor: {e}");
            return;
        }
    };
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    println!(
        "nano repl on {} for tenant {}{}. Type .help for commands, .exit or Ctrl-D to leave.",
        repl.engine,
        repl.tenant,
        if repl.bindings.is_empty() {
            String::new()
        } else {
            format!("; env has {}", repl.bindings.join(", "))
        }
    );
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { "> " } else { "... " };
        match editor.readline(prompt) {
            Ok(line) => {
                if buffer.is_empty() {
                    match line.trim() {
                        ".exit" => break,
                        ".help" => {
                            println!(".exit   leave the REPL (also Ctrl-D)\n.help   this list\nInputs run in one isolate: declarations and timers persist; `await` works at the top level; `env` is the app's env.");
                            continue;
                        }
                        "" => continue,
                        _ => {}
                    }
                }
                buffer.push_str(&line);
                buffer.push('\n');
                if !complete(&buffer) {
                    continue;
                }
                let input = std::mem::take(&mut buffer);
                let _ = editor.add_history_entry(input.trim_end());
                show(rt.block_on(repl.eval(&input)));
            }
            Err(ReadlineError::Interrupted) => {
                if buffer.is_empty() {
                    println!("(To exit, type .exit or press Ctrl-D)");
                }
                buffer.clear();
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("nano: {e}");
                break;
            }
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
}

#[cfg(test)]
mod tests {
    use super::complete;

    #[test]
    fn inputs_are_complete_when_nothing_is_left_open() {
        assert!(complete("1 + 1\n"));
        assert!(complete("let s = '{'\n"));
        assert!(complete("`a ${ {b: 1}.b } c`\n"));
        assert!(complete("f({}) // {\n"));
        assert!(!complete("function f() {\n"));
        assert!(!complete("`open ${x}\n"));
        assert!(!complete("/* open\n"));
        assert!(!complete("[1,\n2\n"));
    }
}
