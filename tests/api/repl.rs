//! `nano repl`: the real binary driven through a pipe (timers and top-level await, an error then more input,
//! declarations kept between inputs, an app's env and bindings reading data written over HTTP) and through a
//! pseudo-terminal (`script` from util-linux: the prompt, an expression, `.exit`). Both ways, a response fetched from
//! a loopback server in one input keeps its body (and a body's reader) readable in later inputs.

use crate::support::{client, nano_bin, TestNano};
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `nano repl <args>` with `input` on its stdin (a pipe) and returns what it printed and its exit status.
fn piped(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(nano_bin())
        .arg("repl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nano repl starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_string)
        .collect()
}

const SCRIPT: &str = r#"let x = 1
x + 1
await new Promise(r => setTimeout(() => r(42), 10))
const { a, b: [c] } = { a: 'A', b: [3] }
throw new Error("boom")
`${a}-${c}`
function twice(n) {
  return n * 2
}
let y = await Promise.resolve(twice(x + 4))
console.log('y is', y); ({ y, list: [1, 'two'] })
p = new Promise(r => setTimeout(() => r('later'), 5)); 'set'
await p
"#;

fn pipe_on(engine: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let out = piped(&["--data-dir", &data, "--engine", engine], SCRIPT);
    let stdout = lines(&out.stdout);
    assert_eq!(
        stdout,
        [
            "undefined",
            "2",
            "42",
            "undefined",
            "'A-3'",
            "undefined",
            "undefined",
            "y is 10",
            "{ y: 10, list: [ 1, 'two' ] }",
            "'set'",
            "'later'",
        ],
        "{engine}: stdout {stdout:?}, stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        lines(&out.stderr),
        ["Uncaught Error: boom"],
        "{engine}: stderr"
    );
    // Every input ran; an input threw, so the piped session exits 1.
    assert_eq!(out.status.code(), Some(1), "{engine}");
}

#[test]
fn piped_script_on_v8() {
    pipe_on("v8");
}

#[test]
fn piped_script_on_quickjs() {
    pipe_on("quickjs");
}

#[test]
fn piped_script_without_errors_exits_0_and_stops_at_exit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let out = piped(&["--data-dir", &data], "'a' + 'b'\n.exit\n'never'\n");
    assert_eq!(lines(&out.stdout), ["'ab'"]);
    assert_eq!(out.status.code(), Some(0));
    let out = piped(&["--data-dir", &data, "--app", "nope"], "1\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("app nope not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn app_env_and_bindings_read_what_the_rest_api_wrote() {
    let apps = tempfile::tempdir().unwrap();
    write(
        &apps.path().join("shop/index.js"),
        "export default { fetch() { return new Response('shop'); } };",
    );
    write(
        &apps.path().join("shop/nano.toml"),
        "env = { GREETING = \"hello\" }\n[bindings]\nDATA = { service = \"data\", domain = \"movies\" }\n\
         JOBS = { service = \"queue\", domain = \"jobs\" }\n",
    );
    write(&apps.path().join("shop/public/note.txt"), "a note");
    let dir = apps.path().to_path_buf();
    let nano = TestNano::start_with(|c| c.apps_dir = dir).await;
    let c = client();
    let res = c.put(nano.url("/data/movies")).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let res = c
        .post(nano.url("/data/movies"))
        .json(&json!({ "_id": "gb", "title": "Ghostbusters" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = c
        .put(nano.url("/queue/jobs"))
        .json(&json!({ "target": "http://127.0.0.1:9/hook" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let data = nano.dir.path().display().to_string();
    let apps_dir = apps.path().display().to_string();
    let input = "(await env.DATA.get('gb')).doc.title\nenv.GREETING\nObject.keys(env).sort()\n\
                 await (await env.ASSETS.fetch('/note.txt')).text()\n(await env.JOBS.enqueue({ n: 1 })).ok\n";
    let out = tokio::task::spawn_blocking(move || {
        piped(
            &["--data-dir", &data, "--apps", &apps_dir, "--app", "shop"],
            input,
        )
    })
    .await
    .unwrap();
    assert_eq!(
        lines(&out.stdout),
        [
            "'Ghostbusters'",
            "'hello'",
            "[ 'ASSETS', 'DATA', 'GREETING', 'JOBS' ]",
            "'a note'",
            "true"
        ],
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
    // The job the REPL stored is the running nano's to deliver.
    let mut jobs = 0;
    for status in ["READY", "ERROR"] {
        let body: serde_json::Value = c
            .get(nano.url(&format!("/queue/jobs?status={status}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jobs += body["jobs"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(jobs, 1);
    nano.stop().await;
}

/// Reads from `from` until `text` has appeared in everything read so far (or 60 s pass), returning all of it.
fn read_until(from: &mut impl Read, seen: &mut String, text: &str) {
    read_after(from, seen, 0, text);
}

/// Reads from `from` until `text` has appeared in `seen` past byte `at` (or 60 s pass); returns where it ends.
fn read_after(from: &mut impl Read, seen: &mut String, at: usize, text: &str) -> usize {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    while !seen[at..].contains(text) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "never saw {text:?} in {seen:?}"
        );
        let n = from.read(&mut buf).unwrap();
        assert!(n > 0, "output ended before {text:?}: {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    at + seen[at..].find(text).unwrap() + text.len()
}

#[test]
fn terminal_session_shows_the_prompt_evaluates_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{} repl --data-dir {}",
        nano_bin().display(),
        dir.path().display()
    );
    // `script` runs the REPL on a pseudo-terminal, relaying our pipe to it.
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    read_until(&mut stdout, &mut seen, "> ");
    assert!(seen.contains("nano repl on"), "{seen:?}");
    stdin
        .write_all(b"await new Promise(r => setTimeout(() => r(6 * 7), 10))\n")
        .unwrap();
    read_until(&mut stdout, &mut seen, "42\r\n");
    let at = seen.len();
    stdin.write_all(b"nope(\n").unwrap();
    read_until(&mut stdout, &mut seen, "... ");
    stdin.write_all(b")\n").unwrap();
    read_until(&mut stdout, &mut seen, "is not defined");
    assert!(seen[at..].contains("ReferenceError"), "{seen:?}");
    stdin.write_all(b".exit\n").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{seen:?}");
    assert!(dir.path().join("repl_history").exists());
}

/// The body the loopback server answers every request with: long enough to arrive in several chunks.
fn served_body() -> String {
    format!("nano-repl-body:{}", "x".repeat(200_000))
}

/// Starts an HTTP server on loopback that answers every request with [`served_body`]; returns its URL.
fn body_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/body", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                // The request head ends at an empty line; these requests have no body.
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let body = served_body();
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body.as_bytes());
            });
        }
    });
    url
}

/// Inputs that fetch in one input and read the body in later ones, and what the REPL prints for each.
fn later_reads(url: &str) -> (String, Vec<String>) {
    let input = format!(
        "const r = await fetch('{url}')\nr.status\nconst text = await r.text()\ntext.length\ntext.slice(0, 15)\n\
         const reader = (await fetch('{url}')).body.getReader()\nlet got = 0\n\
         for (let c = await reader.read(); !c.done; c = await reader.read()) got += c.value.length\ngot\n"
    );
    let len = served_body().len().to_string();
    let expected = [
        "undefined",
        "200",
        "undefined",
        &len,
        "'nano-repl-body:'",
        "undefined",
        "undefined",
        "undefined",
        &len,
    ];
    (input, expected.iter().map(|s| s.to_string()).collect())
}

#[test]
fn piped_inputs_read_a_body_fetched_by_an_earlier_input() {
    let url = body_server();
    let (input, expected) = later_reads(&url);
    for engine in ["v8", "quickjs"] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        let out = piped(&["--data-dir", &data, "--engine", engine], &input);
        assert_eq!(
            lines(&out.stdout),
            expected,
            "{engine}: stderr {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{engine}");
    }
}

#[test]
fn terminal_inputs_read_a_body_fetched_by_an_earlier_input() {
    let url = body_server();
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{} repl --data-dir {}",
        nano_bin().display(),
        dir.path().display()
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    read_until(&mut stdout, &mut seen, "> ");
    // One input at a time, each after the previous answer: the fetch's input has ended when the body is read.
    let (input, expected) = later_reads(&url);
    for (line, answer) in input.lines().zip(&expected) {
        let at = seen.len();
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        // The terminal echoes the input (which never holds the answer), then the answer, then the next prompt.
        let answered = read_after(&mut stdout, &mut seen, at, &format!("{answer}\r\n"));
        read_after(&mut stdout, &mut seen, answered, "> ");
        assert!(
            !seen[at..].contains("Uncaught"),
            "{line}: {:?}",
            &seen[at..]
        );
    }
    stdin.write_all(b".exit\n").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{seen:?}");
}
