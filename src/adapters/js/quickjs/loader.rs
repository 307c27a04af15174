//! Module resolution and loading for QuickJS: relative imports inside the app's files, from cached bytecode.

use crate::adapters::js::Loaded;
use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::{Declared, WriteOptions, WriteOptionsEndianness};
use rquickjs::{Ctx, Error, Module, Result};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

pub use crate::adapters::js::resolve_path;

pub struct AppResolver;

impl Resolver for AppResolver {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> Result<String> {
        if base.is_empty() {
            // The host importing the entry module.
            return Ok(name.to_string());
        }
        resolve_path(base, name).ok_or_else(|| {
            Error::new_resolving_message(
                base,
                name,
                "bare specifiers are not resolved; bundle the app's dependencies",
            )
        })
    }
}

/// Loads modules from the app version's bytecode cache, compiling (and caching) any that are missing.
pub struct AppLoader {
    pub app: Arc<Loaded>,
    /// Bytecode buffers QuickJS reads without copying: they must outlive the runtime.
    pub held: Rc<RefCell<Vec<Arc<Vec<u8>>>>>,
}

/// Compiles one module of the app and stores its bytecode in the app's cache.
pub fn compile_into<'js>(
    ctx: &Ctx<'js>,
    app: &Loaded,
    name: &str,
) -> Result<Module<'js, Declared>> {
    let src = app
        .version
        .modules
        .get(name)
        .ok_or_else(|| Error::new_loading_message(name, "no such file in the app"))?;
    let module = Module::declare(ctx.clone(), name, src.as_bytes().to_vec())?;
    let bytes = Arc::new(module.write(little_endian())?);
    app.code
        .lock()
        .expect("code cache lock")
        .insert(name.to_string(), bytes);
    Ok(module)
}

impl Loader for AppLoader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> Result<Module<'js, Declared>> {
        let cached = self
            .app
            .code
            .lock()
            .expect("code cache lock")
            .get(name)
            .cloned();
        let Some(bytes) = cached else {
            return compile_into(ctx, &self.app, name);
        };
        self.held.borrow_mut().push(bytes.clone());
        // SAFETY: the bytes were written by `Module::write` of this same QuickJS build, and `held` keeps them
        // alive as long as the runtime.
        unsafe { Module::load(ctx.clone(), &bytes) }
    }
}

/// Bytecode is written little-endian, the layout `Module::load` reads back on every machine nano supports.
pub fn little_endian() -> WriteOptions {
    WriteOptions {
        endianness: WriteOptionsEndianness::Little,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::resolve_path;

    #[test]
    fn relative_paths_resolve_inside_the_app() {
        assert_eq!(
            resolve_path("src/index.js", "./lib/a.js").unwrap(),
            "src/lib/a.js"
        );
        assert_eq!(resolve_path("src/index.js", "../b.js").unwrap(), "b.js");
        assert!(resolve_path("index.js", "../../x.js").is_none());
        assert!(resolve_path("index.js", "lodash").is_none());
    }
}
