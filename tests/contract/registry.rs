//! The registry port's contract, run against every registry adapter.

use crate::support::fresh_name;
use nano::core::keys::KeyGrant;
use nano::core::TenantId;
use nano::ports::registry::APP_VERSIONS_KEPT;
use nano::ports::{ApiKey, AppRecord, Registry, RegistryError};
use std::sync::Arc;

pub mod suite {
    use super::*;

    fn tenant() -> TenantId {
        TenantId::parse(&fresh_name("t")).unwrap()
    }

    pub async fn creates_gets_and_deletes_tenants(r: &Arc<dyn Registry>) {
        let id = tenant();
        assert!(r.get_tenant(&id).await.unwrap().is_none());
        let created = r.create_tenant(&id).await.unwrap();
        assert_eq!(created.id, id);
        assert_eq!(r.get_tenant(&id).await.unwrap(), Some(created));
        r.delete_tenant(&id).await.unwrap();
        assert!(r.get_tenant(&id).await.unwrap().is_none());
    }

    pub async fn create_twice_conflicts_but_ensure_does_not(r: &Arc<dyn Registry>) {
        let id = tenant();
        let first = r.create_tenant(&id).await.unwrap();
        assert!(matches!(
            r.create_tenant(&id).await,
            Err(RegistryError::TenantExists(name)) if name == id.as_str()
        ));
        assert_eq!(r.ensure_tenant(&id).await.unwrap(), first);
    }

    pub async fn a_tenant_marked_deleted_is_hidden_then_created_again_anew(r: &Arc<dyn Registry>) {
        let (t, other) = (tenant(), tenant());
        let first = r.create_tenant(&t).await.unwrap();
        r.create_tenant(&other).await.unwrap();
        let key = key_of(&t);
        r.create_key(&key).await.unwrap();
        assert!(!r.is_deleted(&t).await.unwrap());
        assert!(!r.is_deleted(&tenant()).await.unwrap(), "an unknown id");
        r.mark_tenant_deleted(&t).await.unwrap();
        // Marked: hidden, keyless, not creatable while its data is purged; marking again is a retried deletion.
        assert!(r.is_deleted(&t).await.unwrap());
        assert!(!r.is_deleted(&other).await.unwrap());
        assert!(r.get_tenant(&t).await.unwrap().is_none());
        assert!(!r.list_tenants().await.unwrap().iter().any(|x| x.id == t));
        assert_eq!(r.get_key(&key.id).await.unwrap(), None);
        assert!(matches!(
            r.create_tenant(&t).await,
            Err(RegistryError::TenantExists(_))
        ));
        r.mark_tenant_deleted(&t).await.unwrap();
        r.delete_tenant(&t).await.unwrap();
        // Deleted: gone for good, until created again, as new.
        for done in [r.mark_tenant_deleted(&t).await, r.delete_tenant(&t).await] {
            assert!(
                matches!(done, Err(RegistryError::TenantNotFound(_))),
                "{done:?}"
            );
        }
        assert!(matches!(
            r.mark_tenant_deleted(&tenant()).await,
            Err(RegistryError::TenantNotFound(_))
        ));
        assert!(r.is_deleted(&t).await.unwrap(), "the tombstone stays");
        let again = r.create_tenant(&t).await.unwrap();
        assert!(!r.is_deleted(&t).await.unwrap());
        assert!(again.created_ms >= first.created_ms);
        assert_eq!(r.get_tenant(&t).await.unwrap(), Some(again));
        assert!(r.list_keys(&t).await.unwrap().is_empty());
        assert!(
            r.get_tenant(&other).await.unwrap().is_some(),
            "other tenants are untouched"
        );
    }

    pub async fn delete_unknown_tenant_is_not_found(r: &Arc<dyn Registry>) {
        assert!(matches!(
            r.delete_tenant(&tenant()).await,
            Err(RegistryError::TenantNotFound(_))
        ));
    }

    pub async fn lists_tenants_in_order(r: &Arc<dyn Registry>) {
        let (a, b) = (tenant(), tenant());
        r.create_tenant(&b).await.unwrap();
        r.create_tenant(&a).await.unwrap();
        let ids: Vec<String> = r
            .list_tenants()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.id.to_string())
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids.contains(&a.to_string()) && ids.contains(&b.to_string()));
    }

    fn key_of(tenant: &TenantId) -> ApiKey {
        ApiKey {
            id: fresh_name("k"),
            tenant: tenant.clone(),
            salt: "salt".into(),
            grant: KeyGrant {
                read_only: true,
                ..Default::default()
            },
            created_ms: 1,
        }
    }

    pub async fn keys_are_created_found_listed_and_deleted(r: &Arc<dyn Registry>) {
        let t = tenant();
        r.create_tenant(&t).await.unwrap();
        let key = key_of(&t);
        r.create_key(&key).await.unwrap();
        assert_eq!(r.get_key(&key.id).await.unwrap(), Some(key.clone()));
        assert_eq!(r.list_keys(&t).await.unwrap(), vec![key.clone()]);
        assert!(matches!(
            r.create_key(&key).await,
            Err(RegistryError::KeyExists(_))
        ));
        r.delete_key(&t, &key.id).await.unwrap();
        assert_eq!(r.get_key(&key.id).await.unwrap(), None);
        assert!(matches!(
            r.delete_key(&t, &key.id).await,
            Err(RegistryError::KeyNotFound(_))
        ));
    }

    pub async fn keys_need_an_existing_tenant_and_go_with_it(r: &Arc<dyn Registry>) {
        let t = tenant();
        assert!(matches!(
            r.create_key(&key_of(&t)).await,
            Err(RegistryError::TenantNotFound(_))
        ));
        r.create_tenant(&t).await.unwrap();
        let key = key_of(&t);
        r.create_key(&key).await.unwrap();
        r.delete_tenant(&t).await.unwrap();
        assert_eq!(r.get_key(&key.id).await.unwrap(), None);
    }

    pub async fn tenants_cannot_list_or_revoke_each_others_keys(r: &Arc<dyn Registry>) {
        let (a, b) = (tenant(), tenant());
        r.create_tenant(&a).await.unwrap();
        r.create_tenant(&b).await.unwrap();
        let key = key_of(&a);
        r.create_key(&key).await.unwrap();
        assert!(r.list_keys(&b).await.unwrap().is_empty());
        assert!(matches!(
            r.delete_key(&b, &key.id).await,
            Err(RegistryError::KeyNotFound(_))
        ));
        assert_eq!(r.get_key(&key.id).await.unwrap().unwrap().tenant, a);
    }

    fn app_of(tenant: &TenantId, name: &str, text: &str) -> AppRecord {
        AppRecord {
            tenant: tenant.clone(),
            name: name.to_string(),
            hostnames: vec![format!("{name}.test"), format!("*.{name}.test")],
            spec: serde_json::json!({ "name": name, "env": { "A": text }, "future_field": [1, 2] }),
            bundle: [("index.js".to_string(), text.to_string())].into(),
            updated_ms: 1,
        }
    }

    pub async fn apps_are_stored_replaced_listed_and_deleted(r: &Arc<dyn Registry>) {
        let t = tenant();
        r.create_tenant(&t).await.unwrap();
        let (a, b) = (fresh_name("a"), fresh_name("b"));
        assert!(r.get_app(&t, &a).await.unwrap().is_none());
        r.create_app(&app_of(&t, &b, "one")).await.unwrap();
        r.create_app(&app_of(&t, &a, "one")).await.unwrap();
        assert!(matches!(
            r.create_app(&app_of(&t, &a, "again")).await,
            Err(RegistryError::AppExists(_))
        ));
        let replaced = app_of(&t, &a, "two");
        r.update_app(&replaced).await.unwrap();
        assert_eq!(r.get_app(&t, &a).await.unwrap(), Some(replaced.clone()));
        let names: Vec<String> = r
            .list_apps(&t)
            .await
            .unwrap()
            .into_iter()
            .map(|x| x.name)
            .collect();
        let mut sorted = vec![a.clone(), b.clone()];
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(r.list_all_apps().await.unwrap().contains(&replaced));
        r.delete_app(&t, &a).await.unwrap();
        assert!(r.get_app(&t, &a).await.unwrap().is_none());
        assert!(matches!(
            r.delete_app(&t, &a).await,
            Err(RegistryError::AppNotFound(_))
        ));
    }

    pub async fn apps_need_an_existing_tenant_and_go_with_it(r: &Arc<dyn Registry>) {
        let t = tenant();
        let name = fresh_name("a");
        assert!(matches!(
            r.create_app(&app_of(&t, &name, "x")).await,
            Err(RegistryError::TenantNotFound(_))
        ));
        r.create_tenant(&t).await.unwrap();
        r.create_app(&app_of(&t, &name, "x")).await.unwrap();
        r.delete_tenant(&t).await.unwrap();
        assert!(!r
            .list_all_apps()
            .await
            .unwrap()
            .iter()
            .any(|x| x.name == name));
    }

    pub async fn tenants_cannot_see_overwrite_or_delete_each_others_apps(r: &Arc<dyn Registry>) {
        let (a, b) = (tenant(), tenant());
        r.create_tenant(&a).await.unwrap();
        r.create_tenant(&b).await.unwrap();
        let name = fresh_name("shop");
        let mine = app_of(&a, &name, "a's");
        r.create_app(&mine).await.unwrap();
        assert!(r.get_app(&b, &name).await.unwrap().is_none());
        assert!(r.list_apps(&b).await.unwrap().is_empty());
        assert!(matches!(
            r.create_app(&app_of(&b, &name, "b's")).await,
            Err(RegistryError::AppExists(_))
        ));
        assert!(matches!(
            r.update_app(&app_of(&b, &name, "b's")).await,
            Err(RegistryError::AppExists(_))
        ));
        assert!(matches!(
            r.delete_app(&b, &name).await,
            Err(RegistryError::AppNotFound(_))
        ));
        assert_eq!(r.get_app(&a, &name).await.unwrap(), Some(mine));
    }

    pub async fn updating_a_missing_app_is_not_found(r: &Arc<dyn Registry>) {
        let t = tenant();
        r.create_tenant(&t).await.unwrap();
        assert!(matches!(
            r.update_app(&app_of(&t, &fresh_name("a"), "x")).await,
            Err(RegistryError::AppNotFound(_))
        ));
    }

    /// Attack: an app (of any tenant) claims a hostname another app has; nothing of either is overwritten.
    pub async fn hostnames_belong_to_one_app(r: &Arc<dyn Registry>) {
        let (a, b) = (tenant(), tenant());
        r.create_tenant(&a).await.unwrap();
        r.create_tenant(&b).await.unwrap();
        let (first, second) = (fresh_name("a"), fresh_name("b"));
        let mine = app_of(&a, &first, "a's");
        r.create_app(&mine).await.unwrap();
        let mut thief = app_of(&b, &second, "b's");
        thief.hostnames = vec![format!("{second}.test"), format!("{first}.test")];
        match r.create_app(&thief).await {
            Err(RegistryError::HostnameTaken { hostname, app }) => {
                assert_eq!((hostname, app), (format!("{first}.test"), first.clone()))
            }
            other => panic!("expected HostnameTaken, got {other:?}"),
        }
        assert!(r.get_app(&b, &second).await.unwrap().is_none());
        // The name's own hostnames were not kept either: a clean create with them works.
        thief.hostnames = vec![format!("{second}.test")];
        r.create_app(&thief).await.unwrap();
        thief.hostnames.push(format!("*.{first}.test"));
        assert!(matches!(
            r.update_app(&thief).await,
            Err(RegistryError::HostnameTaken { .. })
        ));
        assert_eq!(
            r.get_app(&b, &second)
                .await
                .unwrap()
                .unwrap()
                .hostnames
                .len(),
            1
        );
        assert_eq!(r.get_app(&a, &first).await.unwrap(), Some(mine.clone()));
        // An app may keep, drop and swap its own hostnames; dropped ones are free again, as are a deleted app's.
        let mut moved = mine.clone();
        moved.hostnames = vec![format!("{first}.test"), format!("new.{first}.test")];
        r.update_app(&moved).await.unwrap();
        thief.hostnames = vec![format!("{second}.test"), format!("*.{first}.test")];
        r.update_app(&thief).await.unwrap();
        r.delete_app(&a, &first).await.unwrap();
        thief.hostnames.push(format!("{first}.test"));
        r.update_app(&thief).await.unwrap();
    }

    /// Each replacement keeps the version it replaced, newest first, only the latest `APP_VERSIONS_KEPT`, for the
    /// app's own tenant only; deleting the app (or its tenant) deletes them.
    pub async fn apps_keep_their_past_versions(r: &Arc<dyn Registry>) {
        let (t, other) = (tenant(), tenant());
        r.create_tenant(&t).await.unwrap();
        r.create_tenant(&other).await.unwrap();
        let name = fresh_name("a");
        r.create_app(&app_of(&t, &name, "v0")).await.unwrap();
        assert!(r.app_versions(&t, &name).await.unwrap().is_empty());
        let total = APP_VERSIONS_KEPT + 3;
        for i in 1..=total {
            let mut app = app_of(&t, &name, &format!("v{i}"));
            app.updated_ms = i as i64 + 1;
            r.update_app(&app).await.unwrap();
        }
        let past = r.app_versions(&t, &name).await.unwrap();
        assert_eq!(past.len(), APP_VERSIONS_KEPT);
        let newest = &past[0];
        assert_eq!(newest.app, {
            let mut app = app_of(&t, &name, &format!("v{}", total - 1));
            app.updated_ms = total as i64;
            app
        });
        assert!(past.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
        assert_eq!(
            r.get_app(&t, &name).await.unwrap().unwrap().bundle["index.js"],
            format!("v{total}")
        );
        // Another tenant sees none, and a refused update keeps nothing.
        assert!(r.app_versions(&other, &name).await.unwrap().is_empty());
        assert!(r.update_app(&app_of(&other, &name, "x")).await.is_err());
        assert_eq!(r.app_versions(&t, &name).await.unwrap(), past);
        // Deleted with the app: created again, it starts with none.
        r.delete_app(&t, &name).await.unwrap();
        assert!(r.app_versions(&t, &name).await.unwrap().is_empty());
        r.create_app(&app_of(&t, &name, "again")).await.unwrap();
        r.update_app(&app_of(&t, &name, "again 2")).await.unwrap();
        assert_eq!(r.app_versions(&t, &name).await.unwrap().len(), 1);
        r.mark_tenant_deleted(&t).await.unwrap();
        r.delete_tenant(&t).await.unwrap();
        r.create_tenant(&t).await.unwrap();
        assert!(r.app_versions(&t, &name).await.unwrap().is_empty());
    }

    /// Every write of a tenant, key or app moves the version; reads do not.
    pub async fn every_write_moves_the_version(r: &Arc<dyn Registry>) {
        let last = std::cell::Cell::new(r.version().await.unwrap());
        let moved = |now: i64, what: &str| {
            assert!(
                now > last.get(),
                "{what}: version {now} after {}",
                last.get()
            );
            last.set(now);
        };
        let t = tenant();
        r.create_tenant(&t).await.unwrap();
        moved(r.version().await.unwrap(), "create_tenant");
        let key = key_of(&t);
        r.create_key(&key).await.unwrap();
        moved(r.version().await.unwrap(), "create_key");
        let name = fresh_name("a");
        r.create_app(&app_of(&t, &name, "one")).await.unwrap();
        moved(r.version().await.unwrap(), "create_app");
        r.list_all_apps().await.unwrap();
        r.get_key(&key.id).await.unwrap();
        assert_eq!(
            r.version().await.unwrap(),
            last.get(),
            "reads keep the version"
        );
        r.update_app(&app_of(&t, &name, "two")).await.unwrap();
        moved(r.version().await.unwrap(), "update_app");
        r.delete_app(&t, &name).await.unwrap();
        moved(r.version().await.unwrap(), "delete_app");
        r.delete_key(&t, &key.id).await.unwrap();
        moved(r.version().await.unwrap(), "delete_key");
        r.delete_tenant(&t).await.unwrap();
        moved(r.version().await.unwrap(), "delete_tenant");
    }

    pub async fn deleting_one_tenant_leaves_another(r: &Arc<dyn Registry>) {
        let (a, b) = (tenant(), tenant());
        r.create_tenant(&a).await.unwrap();
        r.create_tenant(&b).await.unwrap();
        r.delete_tenant(&a).await.unwrap();
        assert!(r.get_tenant(&b).await.unwrap().is_some());
    }
}

async fn sqlite() -> (Arc<dyn Registry>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let pool = nano::adapters::sqlite::registry_pool(&dir.path().join("registry.db"))
        .await
        .unwrap();
    (Arc::new(nano::adapters::sql::SqlRegistry::new(pool)), dir)
}

async fn postgres() -> (Arc<dyn Registry>, ()) {
    let target = crate::support::pg_target();
    let pool = nano::adapters::postgres::registry_pool(&target)
        .await
        .unwrap();
    (Arc::new(nano::adapters::sql::SqlRegistry::new(pool)), ())
}

/// PostgreSQL pushes a notice to another connection's registry (another node) when one writes, and not for another
/// schema's writes; SQLite pushes none (one process follows its own version).
#[tokio::test]
async fn postgres_notifies_other_nodes_of_writes_in_their_schema() {
    use futures::StreamExt;
    let target = crate::support::pg_target();
    let pool = nano::adapters::postgres::registry_pool(&target)
        .await
        .unwrap();
    let reader = nano::adapters::sql::SqlRegistry::new(pool);
    let mut notices = reader.changes().await.expect("PostgreSQL pushes notices");
    let (elsewhere, _) = postgres().await;
    // A write in another schema wakes no one here; one in this schema does.
    elsewhere
        .create_tenant(&TenantId::parse(&fresh_name("t")).unwrap())
        .await
        .unwrap();
    let before = reader.version().await.unwrap();
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), notices.next()).await;
    assert!(quiet.is_err(), "a notice for another schema's write");
    let t = TenantId::parse(&fresh_name("t")).unwrap();
    // Another node: its own pool on the same schema.
    let node =
        nano::adapters::postgres::PgTarget::new(crate::support::pg_url(), target.schema.clone());
    let writer = nano::adapters::sql::SqlRegistry::new(
        nano::adapters::postgres::registry_pool(&node)
            .await
            .unwrap(),
    );
    writer.create_tenant(&t).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), notices.next())
        .await
        .expect("no notice within 10 s")
        .expect("the notice stream ended");
    assert!(reader.version().await.unwrap() > before);
    let (dev, _dir) = sqlite().await;
    assert!(dev.changes().await.is_none());
}

crate::contract_suite!(
    super::suite,
    [sqlite => super::sqlite, postgres => super::postgres],
    [
        creates_gets_and_deletes_tenants,
        create_twice_conflicts_but_ensure_does_not,
        delete_unknown_tenant_is_not_found,
        a_tenant_marked_deleted_is_hidden_then_created_again_anew,
        lists_tenants_in_order,
        deleting_one_tenant_leaves_another,
        keys_are_created_found_listed_and_deleted,
        keys_need_an_existing_tenant_and_go_with_it,
        tenants_cannot_list_or_revoke_each_others_keys,
        apps_are_stored_replaced_listed_and_deleted,
        apps_need_an_existing_tenant_and_go_with_it,
        tenants_cannot_see_overwrite_or_delete_each_others_apps,
        updating_a_missing_app_is_not_found,
        hostnames_belong_to_one_app,
        apps_keep_their_past_versions,
        every_write_moves_the_version,
    ]
);
