//! `nano new`: for every template, the real binary scaffolds an app folder, npm installs and builds it, and a nano
//! serving that apps folder answers at `<name>.localhost`. Skipped (with a printed reason) only when npm is missing.

use crate::support::{client, nano_bin, TestNano};
use std::path::Path;
use std::process::{Command, Output};

/// Runs `cmd` in `dir` with npm's cache shared by every template and every run (and npm's network extras off).
fn run_in(dir: &Path, cmd: &mut Command) -> Output {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npm-cache");
    cmd.current_dir(dir)
        .env("npm_config_cache", cache)
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_update_notifier", "false")
        .output()
        .expect("the command starts")
}

fn check(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn every_template_builds_into_an_app_answering_at_its_localhost_name() {
    if Command::new("npm").arg("--version").output().is_err() {
        eprintln!("skipped: npm is not installed, and `nano new` apps are built with it");
        return;
    }
    let apps = tempfile::tempdir().unwrap();
    let templates = ["hono", "plain", "wrangler"];
    // The three installs run side by side; each app folder is then built with its one build command.
    let builds: Vec<_> = templates
        .into_iter()
        .map(|template| {
            let dir = apps.path().to_path_buf();
            std::thread::spawn(move || {
                let name = format!("{template}-app");
                let out = run_in(
                    &dir,
                    Command::new(nano_bin()).args([
                        "new",
                        &name,
                        "--template",
                        template,
                        "--apps",
                        ".",
                    ]),
                );
                check(&format!("nano new {name}"), &out);
                assert!(
                    String::from_utf8_lossy(&out.stdout).contains("npm run build"),
                    "nano new says how to build: {}",
                    String::from_utf8_lossy(&out.stdout)
                );
                let out = run_in(&dir.join(&name), Command::new("npm").args(["run", "build"]));
                check(&format!("npm run build in {name}"), &out);
            })
        })
        .collect();
    for build in builds {
        build.join().unwrap();
    }
    let dir = apps.path().to_path_buf();
    let nano = TestNano::start_with(|c| c.apps_dir = dir).await;
    for template in templates {
        let host = format!("{template}-app.localhost");
        let res = client()
            .get(nano.url("/"))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body = res.text().await.unwrap();
        assert_eq!(status, 200, "{host}: {body}");
        assert_eq!(body, format!("Hello from {template}-app!\n"), "{host}");
    }
    let res = client()
        .get(nano.url("/hello/nano"))
        .header("host", "hono-app.localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), r#"{"hello":"nano"}"#);
    nano.stop().await;
}

#[test]
fn a_bad_name_or_template_is_refused_with_its_fix() {
    let apps = tempfile::tempdir().unwrap();
    let out = run_in(
        apps.path(),
        Command::new(nano_bin()).args(["new", "Shop", "--apps", ".", "--no-install"]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("must match [a-z0-9][a-z0-9_-]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_in(
        apps.path(),
        Command::new(nano_bin()).args(["new", "shop", "--template", "vue", "--apps", "."]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("choose one of hono, plain, wrangler"));
    // Without npm install, the files are there and the next step names both commands.
    let out = run_in(
        apps.path(),
        Command::new(nano_bin()).args(["new", "shop", "--apps", ".", "--no-install"]),
    );
    check("nano new shop --no-install", &out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("npm install && npm run build"));
    assert!(apps.path().join("shop/src/index.ts").is_file());
    assert!(!apps.path().join("shop/node_modules").exists());
    // Before its first build, the app's load error says how to build it.
    let Err(unbuilt) =
        nano::app::hosting::discover::read_folder(&apps.path().join("shop"), "shop", "default")
    else {
        panic!("an app without its bundle does not load");
    };
    assert!(
        unbuilt.contains("npm install && npm run build"),
        "{unbuilt}"
    );
}
