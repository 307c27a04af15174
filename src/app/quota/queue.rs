//! The `queue_jobs` quota around a queue store: an enqueue past the tenant's limit is refused; delivered and
//! cancelled jobs make room again.

use super::{Kind, Limits, Meter};
use crate::core::{DomainName, TenantScope};
use crate::ports::{
    Claimed, Failure, Job, JobCounts, JobStatus, PendingQueue, QueueConfig, QueueError, QueueStore,
};
use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;

pub struct QuotaQueue {
    inner: Arc<dyn QueueStore>,
    meter: Arc<Meter<QueueError>>,
}

impl QuotaQueue {
    pub fn new(inner: Arc<dyn QueueStore>, limits: &Limits) -> Self {
        Self {
            inner,
            meter: Meter::new(Kind::QueueJobs, limits, QueueError::Quota),
        }
    }
}

#[async_trait]
impl QueueStore for QuotaQueue {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), QueueError> {
        let done = self.inner.purge_tenant(scope).await;
        self.meter.forget(scope);
        done
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, QueueError> {
        self.inner.usage(scope).await
    }

    async fn queue_config(
        &self,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<QueueConfig, QueueError> {
        self.inner.queue_config(scope, name).await
    }

    async fn list_queues(&self, scope: &TenantScope) -> Result<Vec<String>, QueueError> {
        self.inner.list_queues(scope).await
    }

    async fn create_queue(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        config: &QueueConfig,
    ) -> Result<(), QueueError> {
        self.inner.create_queue(scope, name, config).await
    }

    async fn delete_queue(&self, scope: &TenantScope, name: &DomainName) -> Result<(), QueueError> {
        let done = self.inner.delete_queue(scope, name).await;
        self.meter.forget(scope);
        done
    }

    async fn enqueue(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        body: Bytes,
        now_ms: i64,
    ) -> Result<i64, QueueError> {
        let held = self
            .meter
            .reserve(scope, 1, || self.inner.usage(scope))
            .await?;
        let id = self.inner.enqueue(scope, name, body, now_ms).await?;
        held.keep();
        Ok(id)
    }

    async fn restore_job(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        job: &Job,
    ) -> Result<i64, QueueError> {
        let held = self
            .meter
            .reserve(scope, 1, || self.inner.usage(scope))
            .await?;
        let id = self.inner.restore_job(scope, name, job).await?;
        held.keep();
        Ok(id)
    }

    async fn list_jobs(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        status: JobStatus,
    ) -> Result<Vec<Job>, QueueError> {
        self.inner.list_jobs(scope, name, status).await
    }

    async fn get_job(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<Job, QueueError> {
        self.inner.get_job(scope, name, id).await
    }

    async fn job_counts(
        &self,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<JobCounts, QueueError> {
        self.inner.job_counts(scope, name).await
    }

    async fn cancel(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        self.inner.cancel(scope, name, id).await?;
        self.meter.release(scope, 1);
        Ok(())
    }

    async fn retry(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        self.inner.retry(scope, name, id).await
    }

    async fn pending_queues(&self, scope: &TenantScope) -> Result<Vec<PendingQueue>, QueueError> {
        self.inner.pending_queues(scope).await
    }

    async fn claim(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Claimed>, QueueError> {
        self.inner.claim(scope, name, now_ms, limit).await
    }

    async fn delivered(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        self.inner.delivered(scope, name, id).await?;
        // A job cancelled meanwhile was already counted out: read the usage again rather than count it twice.
        self.meter.forget(scope);
        Ok(())
    }

    async fn failed(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
        failure: &Failure,
    ) -> Result<(), QueueError> {
        self.inner.failed(scope, name, id, failure).await
    }
}
