//! OpenTelemetry export end to end: a real nano posting OTLP/HTTP JSON to a collector on loopback (the test's
//! receiver), with spans for app and services requests (incoming `traceparent` honoured), child spans for an app's
//! binding call and fetch (whose target sees the propagated `traceparent`), console lines as logs of the request's
//! span, and requests unaffected by a dead or hanging collector.

use crate::receiver::{Answer, Hit, Receiver};
use crate::support::{client, fresh_name, TestNano};
use serde_json::Value;
use std::time::{Duration, Instant};

const TRACED: &str = r#"export default { async fetch(req, env) {
  if (req.url.endsWith('?spin')) for (;;) {}
  console.log('traced line');
  await env.KV.put('k', 'v');
  const r = await fetch(env.ECHO, { headers: { traceparent: '00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01' } });
  return new Response('fetched ' + r.status);
} };"#;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// A nano exporting to `endpoint`, with the app `name` (tenant `otel`) fetching `echo`.
async fn nano_tracing(endpoint: &str, name: &str, echo: &str) -> (TestNano, tempfile::TempDir) {
    let files = tempfile::tempdir().unwrap();
    let entry = files.path().join("traced.js");
    std::fs::write(&entry, TRACED).unwrap();
    let app: nano::app::AppConfig = toml::from_str(&format!(
        "name = '{name}'\ntenant = 'otel'\nhostnames = ['{name}.test']\nentry = '{}'\n\
         env = {{ ECHO = '{echo}' }}\nbindings = {{ KV = {{ service = 'kv', domain = 'spans' }} }}\n",
        entry.display()
    ))
    .unwrap();
    let endpoint = endpoint.to_string();
    let nano = TestNano::start_with(move |c| {
        c.apps.push(app);
        c.tenants = vec!["otel".into()];
        c.otel.endpoint = Some(endpoint);
    })
    .await;
    (nano, files)
}

/// Every span the collector got, over all its `/v1/traces` posts.
fn spans(hits: &[Hit]) -> Vec<Value> {
    hits.iter()
        .filter(|h| h.path == "/v1/traces")
        .flat_map(|h| {
            let body = h.json();
            body["resourceSpans"][0]["scopeSpans"][0]["spans"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn log_records(hits: &[Hit]) -> Vec<Value> {
    hits.iter()
        .filter(|h| h.path == "/v1/logs")
        .flat_map(|h| {
            let body = h.json();
            body["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// An attribute's value as OTLP JSON writes it (`{ "stringValue": … }` and so on).
fn attr(item: &Value, key: &str) -> Value {
    item["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|kv| kv["key"] == key))
        .map(|kv| kv["value"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_and_logs_reach_an_otlp_collector_in_the_callers_trace() {
    let collector = Receiver::accepting().await;
    let echo = Receiver::accepting().await;
    let app = fresh_name("traced");
    let base = collector.url.trim_end_matches("/hook").to_string();
    let (nano, _files) = nano_tracing(&base, &app, &echo.url).await;
    let res = client()
        .get(nano.url("/work"))
        .header("host", format!("{app}.test"))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), "fetched 200");
    // A request the CPU limit ends.
    let res = client()
        .get(nano.url("/?spin"))
        .header("host", format!("{app}.test"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    // A services request joins the caller's trace too.
    let res = client()
        .get(nano.url("/data/no-such-db"))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());

    let hits = collector
        .wait_for(
            "the requests', fetch, binding and services spans and the log",
            |hits| spans(hits).len() >= 5 && !log_records(hits).is_empty(),
        )
        .await;
    assert!(hits
        .iter()
        .all(|h| h.content_type.as_deref() == Some("application/json")));
    let spans = spans(&hits);
    let named = |name: &str| {
        spans
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
            .clone()
    };
    let request = named(&format!("GET {app}"));
    assert_eq!(request["traceId"], TRACE_ID);
    assert_eq!(
        request["parentSpanId"], PARENT_ID,
        "the incoming traceparent is the parent"
    );
    assert_eq!(request["kind"], 2);
    assert_eq!(attr(&request, "nano.tenant")["stringValue"], "otel");
    assert_eq!(attr(&request, "nano.app")["stringValue"], app.as_str());
    assert_eq!(
        attr(&request, "http.response.status_code")["intValue"],
        "200"
    );
    assert!(attr(&request, "nano.version")["stringValue"].is_string());
    assert!(
        attr(&request, "nano.cpu_ms")["doubleValue"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let request_id = request["spanId"].as_str().unwrap();
    let spun = spans
        .iter()
        .find(|s| attr(s, "nano.limit")["stringValue"] == "cpu")
        .unwrap_or_else(|| panic!("no span of the CPU limit in {spans:#?}"));
    assert_eq!(attr(spun, "http.response.status_code")["intValue"], "503");
    assert_eq!(spun["status"]["code"], 2);
    assert_ne!(
        spun["traceId"], TRACE_ID,
        "a request without traceparent starts a trace"
    );

    let fetch = named("fetch GET");
    assert_eq!(fetch["traceId"], TRACE_ID);
    assert_eq!(fetch["parentSpanId"], request_id);
    assert_eq!(fetch["kind"], 3);
    assert_eq!(attr(&fetch, "url.full")["stringValue"], echo.url.as_str());
    assert_eq!(attr(&fetch, "http.response.status_code")["intValue"], "200");
    // The fetch's target sees the fetch span as its parent, not the app's own header.
    let seen = echo.hits()[0].traceparent.clone().unwrap();
    assert_eq!(
        seen,
        format!("00-{TRACE_ID}-{}-01", fetch["spanId"].as_str().unwrap())
    );

    let binding = named("KV.put");
    assert_eq!(binding["parentSpanId"], request_id);
    assert_eq!(attr(&binding, "nano.service")["stringValue"], "kv");

    let services = named("GET data");
    assert_eq!(services["traceId"], TRACE_ID);
    assert_eq!(services["parentSpanId"], PARENT_ID);
    assert_eq!(attr(&services, "nano.tenant")["stringValue"], "default");

    let logs = log_records(&hits);
    let line = logs
        .iter()
        .find(|l| l["body"]["stringValue"] == "traced line")
        .expect("the console line as a log record");
    assert_eq!(line["traceId"], TRACE_ID);
    assert_eq!(line["spanId"], request_id);
    assert_eq!(line["severityText"], "INFO");
    assert_eq!(attr(line, "nano.app")["stringValue"], app.as_str());
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_or_hanging_collector_never_fails_or_slows_requests() {
    let hanging = Receiver::start(|_, _| Answer::Hang).await;
    let echo = Receiver::accepting().await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    for endpoint in [hanging.url.trim_end_matches("/hook").to_string(), dead] {
        let app = fresh_name("untraced");
        let (nano, _files) = nano_tracing(&endpoint, &app, &echo.url).await;
        for _ in 0..20 {
            let started = Instant::now();
            let res = client()
                .get(nano.url("/"))
                .header("host", format!("{app}.test"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.text().await.unwrap(), "fetched 200", "{endpoint}");
            assert!(started.elapsed() < Duration::from_secs(5), "{endpoint}");
        }
        let metrics = client()
            .get(nano.url("/admin/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("nano_otel_dropped_total "), "{metrics}");
        nano.stop().await;
    }
}
