//! The `queue` and `scheduled` handlers: batches with per-message ack/retry, cron events, env, waitUntil, limits.

use crate::harness::*;
use nano::core::Limits;
use nano::ports::{MessageOutcome, QueueBatch, QueueMessage, RuntimeError, ScheduledEvent};
use serde_json::json;

fn batch(queue: &str, bodies: &[serde_json::Value]) -> QueueBatch {
    QueueBatch {
        queue: queue.into(),
        messages: bodies
            .iter()
            .enumerate()
            .map(|(i, b)| QueueMessage {
                id: format!("{}", i + 1),
                timestamp_ms: 1_700_000_000_000 + i as i64,
                body: b.clone(),
                attempts: 1 + i as u32,
            })
            .collect(),
    }
}

/// Asks the app's fetch handler for what the other handlers recorded until `done` holds (waitUntil work).
async fn recorded(
    rt: &Rt,
    app: &nano::core::AppName,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut seen = json!(null);
    for _ in 0..300 {
        seen = get(rt, app, "/").await.json();
        if done(&seen) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    seen
}

const RECORDER: &str = r#"const seen = [];
    export default {
      async fetch() { return Response.json(seen); },
      async queue(batch, env, ctx) {
        seen.push({ queue: batch.queue, env: env.NAME, frozen: Object.isFrozen(batch.messages),
          msgs: batch.messages.map((m) => ({ id: m.id, body: m.body, attempts: m.attempts, ts: m.timestamp.getTime() })) });
        ctx.waitUntil(new Promise((r) => setTimeout(r, 20)).then(() => seen.push('waited')));
        const first = batch.messages[0].body;
        if (first.mode === 'marks') {
          const [a, b, c, d] = batch.messages;
          a.ack(); b.retry({ delaySeconds: 30 }); d.retry(); d.ack();
        }
        if (first.mode === 'throw') { batch.messages[0].ack(); await null; throw new Error('boom in queue'); }
        if (first.mode === 'retryAll') { batch.messages[1].ack(); batch.retryAll(); batch.ackAll(); }
        if (first.mode === 'loop') for (;;) {}
      },
      async scheduled(event, env, ctx) {
        if (event.cron === 'throw') throw new TypeError('boom in scheduled');
        if (event.cron === 'loop') for (;;) {}
        event.noRetry();
        ctx.waitUntil(Promise.resolve().then(() => seen.push('scheduled waited')));
        seen.push({ cron: event.cron, at: event.scheduledTime, type: event.type, env: env.NAME });
      },
    };"#;

pub async fn queue_handler_acks_and_retries(rt: &Rt) {
    let app = app_with(
        rt,
        RECORDER,
        &[("NAME", text("consumer"))],
        Limits::default(),
    )
    .await;
    let out = rt
        .dispatch_queue(
            &app,
            batch(
                "jobs.example",
                &[
                    json!({"mode": "marks"}),
                    json!({"n": 2}),
                    json!({"n": 3}),
                    json!({"n": 4}),
                ],
            ),
        )
        .await
        .unwrap();
    assert_eq!(out.error, None);
    assert_eq!(
        out.messages,
        [
            MessageOutcome::Ack,
            MessageOutcome::Retry {
                delay_seconds: Some(30)
            },
            MessageOutcome::Ack,
            MessageOutcome::Retry {
                delay_seconds: None
            },
        ]
    );
    let seen = recorded(rt, &app, |s| s.as_array().is_some_and(|a| a.len() == 2)).await;
    assert_eq!(
        seen,
        json!([{"queue": "jobs.example", "env": "consumer", "frozen": true, "msgs": [
            {"id": "1", "body": {"mode": "marks"}, "attempts": 1, "ts": 1_700_000_000_000i64},
            {"id": "2", "body": {"n": 2}, "attempts": 2, "ts": 1_700_000_000_001i64},
            {"id": "3", "body": {"n": 3}, "attempts": 3, "ts": 1_700_000_000_002i64},
            {"id": "4", "body": {"n": 4}, "attempts": 4, "ts": 1_700_000_000_003i64}]}, "waited"])
    );
    let out = rt
        .dispatch_queue(
            &app,
            batch("q", &[json!({"mode": "retryAll"}), json!({}), json!({})]),
        )
        .await
        .unwrap();
    let retry = MessageOutcome::Retry {
        delay_seconds: None,
    };
    assert_eq!(out.messages, [retry, MessageOutcome::Ack, retry]);
}

pub async fn queue_handler_throw_retries_unacked(rt: &Rt) {
    capture_logs();
    let app = app(rt, RECORDER).await;
    let out = rt
        .dispatch_queue(
            &app,
            batch("q", &[json!({"mode": "throw"}), json!({}), json!({})]),
        )
        .await
        .unwrap();
    let retry = MessageOutcome::Retry {
        delay_seconds: None,
    };
    assert_eq!(out.messages, [MessageOutcome::Ack, retry, retry]);
    assert_eq!(out.error.as_deref(), Some("Error: boom in queue"));
    wait_for_log(app.as_str(), |f| {
        f["message"]
            .as_str()
            .is_some_and(|m| m.contains("boom in queue"))
    })
    .await;
    // The isolate keeps serving after a throw.
    assert_eq!(get(rt, &app, "/").await.status, 200);
    // A CPU-bound handler is ended by the CPU limit, like a request.
    let err = rt
        .dispatch_queue(&app, batch("q", &[json!({"mode": "loop"})]))
        .await
        .unwrap_err();
    assert_eq!(err.limit(), Some(nano::ports::Limit::Cpu), "{err}");
    assert_eq!(get(rt, &app, "/").await.status, 200);
    // An app without a queue handler: the batch is retried and the error names the handler.
    let plain = app_with(
        rt,
        "export default { fetch() { return new Response('x'); } };",
        &[],
        Limits::default(),
    )
    .await;
    let out = rt
        .dispatch_queue(&plain, batch("q", &[json!({})]))
        .await
        .unwrap();
    assert_eq!(out.messages, [retry]);
    assert!(out.error.unwrap().contains("no queue handler"));
}

pub async fn scheduled_handler(rt: &Rt) {
    capture_logs();
    let app = app_with(
        rt,
        RECORDER,
        &[("NAME", text("cron-app"))],
        Limits::default(),
    )
    .await;
    let at = 1_700_000_060_000i64;
    rt.dispatch_scheduled(
        &app,
        ScheduledEvent {
            cron: "*/5 * * * *".into(),
            scheduled_time_ms: at,
        },
    )
    .await
    .unwrap();
    let seen = recorded(rt, &app, |s| s.as_array().is_some_and(|a| a.len() == 2)).await;
    assert_eq!(
        seen,
        json!([{"cron": "*/5 * * * *", "at": at, "type": "scheduled", "env": "cron-app"}, "scheduled waited"])
    );
    let err = rt
        .dispatch_scheduled(
            &app,
            ScheduledEvent {
                cron: "throw".into(),
                scheduled_time_ms: at,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RuntimeError::Exception(m) if m.contains("boom in scheduled")),
        "{err}"
    );
    wait_for_log(app.as_str(), |f| {
        f["message"]
            .as_str()
            .is_some_and(|m| m.contains("boom in scheduled"))
    })
    .await;
    let err = rt
        .dispatch_scheduled(
            &app,
            ScheduledEvent {
                cron: "loop".into(),
                scheduled_time_ms: at,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.limit(), Some(nano::ports::Limit::Cpu), "{err}");
    let plain = app_with(
        rt,
        "export default { fetch() { return new Response('x'); } };",
        &[],
        Limits::default(),
    )
    .await;
    let err = rt
        .dispatch_scheduled(
            &plain,
            ScheduledEvent {
                cron: "* * * * *".into(),
                scheduled_time_ms: at,
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no scheduled handler"), "{err}");
    let missing = nano::core::AppName::parse("never-loaded").unwrap();
    assert!(matches!(
        rt.dispatch_scheduled(
            &missing,
            ScheduledEvent {
                cron: "* * * * *".into(),
                scheduled_time_ms: at
            }
        )
        .await,
        Err(RuntimeError::NotLoaded(_))
    ));
}
