//! One app runtime per JS engine compiled in, behind the runtime port: each app runs on the engine its spec names
//! (or the default engine), and the port's callers never see which.

use crate::core::AppName;
use crate::ports::{
    AppRuntime, AppStats, AppVersion, Body, QueueBatch, QueueOutcome, RuntimeError, ScheduledEvent,
};
use async_trait::async_trait;
use foldhash::{HashMap, HashMapExt};
use std::sync::{Arc, RwLock};

/// The engine of apps that name none: V8 when compiled in.
pub const DEFAULT_ENGINE: &str = if cfg!(feature = "v8") {
    "v8"
} else {
    "quickjs"
};

/// Starts one runtime per engine compiled in with these options.
#[allow(clippy::vec_init_then_push)] // each push is behind its engine's feature
pub fn start_with(
    options: crate::adapters::js::RuntimeOptions,
) -> Result<Vec<Arc<dyn AppRuntime>>, RuntimeError> {
    let mut all: Vec<Arc<dyn AppRuntime>> = Vec::new();
    #[cfg(feature = "v8")]
    all.push(Arc::new(crate::adapters::js::JsRuntime::<
        crate::adapters::js::v8::V8,
    >::with_options(options.clone())?));
    #[cfg(feature = "quickjs")]
    all.push(Arc::new(crate::adapters::js::JsRuntime::<
        crate::adapters::js::quickjs::QuickJs,
    >::with_options(options)?));
    Ok(all)
}

/// Routes each app to the runtime of its engine.
pub struct EngineRouter {
    runtimes: Vec<Arc<dyn AppRuntime>>,
    default: usize,
    apps: RwLock<HashMap<AppName, usize>>,
}

impl EngineRouter {
    /// `default` names the engine of apps that name none; it must be one of `runtimes`.
    pub fn new(runtimes: Vec<Arc<dyn AppRuntime>>, default: &str) -> Result<Self, RuntimeError> {
        let default = Self::index(&runtimes, default)?;
        Ok(Self {
            runtimes,
            default,
            apps: RwLock::new(HashMap::new()),
        })
    }

    fn index(runtimes: &[Arc<dyn AppRuntime>], engine: &str) -> Result<usize, RuntimeError> {
        runtimes
            .iter()
            .position(|r| r.engine() == engine)
            .ok_or_else(|| {
                let known: Vec<_> = runtimes.iter().map(|r| r.engine()).collect();
                RuntimeError::Engine(format!(
                    "engine '{engine}' is not compiled in (available: {})",
                    known.join(", ")
                ))
            })
    }

    fn runtime_of(&self, app: &AppName) -> Result<&Arc<dyn AppRuntime>, RuntimeError> {
        let i = self
            .apps
            .read()
            .expect("engine routes lock")
            .get(app)
            .copied()
            .ok_or_else(|| RuntimeError::NotLoaded(app.to_string()))?;
        Ok(&self.runtimes[i])
    }

    /// The engine running `app`, if it is loaded.
    pub fn engine_of(&self, app: &AppName) -> Option<&'static str> {
        self.runtime_of(app).ok().map(|r| r.engine())
    }
}

#[async_trait]
impl AppRuntime for EngineRouter {
    fn engine(&self) -> &'static str {
        self.runtimes[self.default].engine()
    }

    async fn load(&self, app: AppVersion) -> Result<(), RuntimeError> {
        let name = app.spec.name.clone();
        let i = match &app.spec.engine {
            None => self.default,
            Some(e) => Self::index(&self.runtimes, e).map_err(|e| RuntimeError::Load {
                app: name.to_string(),
                msg: e.to_string(),
            })?,
        };
        self.runtimes[i].load(app).await?;
        let before = self
            .apps
            .write()
            .expect("engine routes lock")
            .insert(name.clone(), i);
        if let Some(old) = before.filter(|old| *old != i) {
            // The app moved to another engine: the old one drains its version.
            let _ = self.runtimes[old].unload(&name).await;
        }
        Ok(())
    }

    async fn dispatch(
        &self,
        app: &AppName,
        request: http::Request<Body>,
    ) -> Result<http::Response<Body>, RuntimeError> {
        self.runtime_of(app)?.clone().dispatch(app, request).await
    }

    fn tenant_of(&self, app: &AppName) -> Option<crate::core::TenantId> {
        self.runtime_of(app).ok()?.tenant_of(app)
    }

    async fn dispatch_queue(
        &self,
        app: &AppName,
        batch: QueueBatch,
    ) -> Result<QueueOutcome, RuntimeError> {
        self.runtime_of(app)?
            .clone()
            .dispatch_queue(app, batch)
            .await
    }

    async fn dispatch_scheduled(
        &self,
        app: &AppName,
        event: ScheduledEvent,
    ) -> Result<(), RuntimeError> {
        self.runtime_of(app)?
            .clone()
            .dispatch_scheduled(app, event)
            .await
    }

    async fn unload(&self, app: &AppName) -> Result<(), RuntimeError> {
        let rt = self.runtime_of(app)?.clone();
        rt.unload(app).await?;
        self.apps.write().expect("engine routes lock").remove(app);
        Ok(())
    }

    async fn stats(&self, app: &AppName) -> Result<AppStats, RuntimeError> {
        self.runtime_of(app)?.clone().stats(app).await
    }
}
