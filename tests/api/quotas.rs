//! Per-tenant quotas from config: a tenant over its request rate gets 429 with a message naming the quota; other
//! tenants (unlimited by default) are not affected.

use crate::support::{client, fresh_name, TestNano};
use nano::app::config::QuotaConfig;
use serde_json::Value;

#[tokio::test]
async fn a_tenant_over_its_request_rate_gets_429_and_others_do_not() {
    let (slow, free) = (fresh_name("slow"), fresh_name("free"));
    let (s, f) = (slow.clone(), free.clone());
    let nano = TestNano::start_with(move |c| {
        c.tenants = vec![s.clone(), f];
        c.tenant_quotas.insert(
            s,
            QuotaConfig {
                requests_per_second: Some(1),
                ..QuotaConfig::default()
            },
        );
    })
    .await;
    let c = client();
    let mut statuses = Vec::new();
    let mut refusal = None;
    for _ in 0..20 {
        let res = c
            .get(nano.url(&format!("/{slow}/data/movies")))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        if status == 429 && refusal.is_none() {
            refusal = Some(res.json::<Value>().await.unwrap());
        }
        statuses.push(status);
    }
    assert_ne!(statuses[0], 429, "the first request fits the quota");
    let refusal = refusal.expect("20 requests in a row exceed 1 per second");
    assert_eq!(refusal["ok"], false);
    assert_eq!(refusal["status"], 429);
    let msg = refusal["msg"].as_str().unwrap();
    assert!(
        msg.contains(&slow) && msg.contains("1 requests per second"),
        "{msg}"
    );
    for _ in 0..20 {
        let res = c
            .get(nano.url(&format!("/{free}/data/movies")))
            .send()
            .await
            .unwrap();
        assert_ne!(res.status(), 429, "an unlimited tenant is never refused");
    }
    nano.stop().await;
}
