//! The registry port's contract, run against every registry adapter.

use crate::support::fresh_name;
use nano::core::TenantId;
use nano::ports::{Registry, RegistryError};
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
    let registry = nano::adapters::sqlite::SqliteRegistry::open(&dir.path().join("registry.db"))
        .await
        .unwrap();
    (Arc::new(registry), dir)
}

crate::contract_suite!(
    sqlite,
    super::sqlite,
    super::suite,
    [
        creates_gets_and_deletes_tenants,
        create_twice_conflicts_but_ensure_does_not,
        delete_unknown_tenant_is_not_found,
        lists_tenants_in_order,
        deleting_one_tenant_leaves_another,
    ]
);
