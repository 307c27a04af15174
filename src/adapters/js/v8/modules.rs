//! ES modules for V8: the app's files (relative imports inside the app folder, bare specifiers refused), compiled
//! through the app version's code cache, and the Web API glue module (evaluated once, into the startup snapshot);
//! plus error text helpers.

use crate::adapters::js::{resolve_path, Loaded};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// The modules compiled in one isolate, by path, and the path of each by identity hash (for resolving imports).
#[derive(Default)]
pub struct ModuleMap {
    modules: HashMap<String, v8::Global<v8::Module>>,
    names: HashMap<i32, String>,
}

impl ModuleMap {
    pub fn clear(&mut self) {
        self.modules.clear();
        self.names.clear();
    }
}

/// The text of a thrown value as every engine gives it: an error's message then its stack frames, else the value's
/// string form.
pub fn exception_text(scope: &mut v8::PinScope<'_, '_>, v: v8::Local<'_, v8::Value>) -> String {
    if v.is_native_error() {
        if let Ok(o) = v8::Local::<v8::Object>::try_from(v) {
            let prop = |name: &str| {
                let key = v8::String::new(scope, name).expect("string");
                o.get(scope, key.into())
                    .filter(|s| s.is_string())
                    .map(|s| s.to_rust_string_lossy(scope))
            };
            let message = prop("message").unwrap_or_default();
            let stack = prop("stack").unwrap_or_default();
            let head = v.to_rust_string_lossy(scope);
            let frames = stack.strip_prefix(head.as_str()).unwrap_or(&stack);
            return format!("{message}\n{}", frames.trim_start_matches('\n'));
        }
    }
    v.to_rust_string_lossy(scope)
}

/// The exception a TryCatch caught, as text (with the file and line of a syntax error).
pub fn caught(tc: &mut v8::PinnedRef<'_, v8::TryCatch<'_, '_, v8::HandleScope<'_>>>) -> String {
    if tc.has_terminated() {
        return "execution terminated".into();
    }
    let Some(exc) = tc.exception() else {
        return "unknown error".into();
    };
    let text = exception_text(tc, exc);
    // An error without stack frames (a syntax error) gets where it is: file, line and column.
    let bare = text.trim_end();
    if let Some(msg) = tc.message() {
        if !bare.contains('\n') {
            let file = msg
                .get_script_resource_name(tc)
                .map(|n| n.to_rust_string_lossy(tc))
                .unwrap_or_default();
            let line = msg.get_line_number(tc).unwrap_or(0);
            let column = msg.get_start_column() + 1;
            return format!("{bare}\n    at {file}:{line}:{column}");
        }
    }
    text
}

fn origin<'s>(scope: &mut v8::PinScope<'s, '_>, name: &str) -> v8::ScriptOrigin<'s> {
    let n = v8::String::new(scope, name).expect("string");
    v8::ScriptOrigin::new(
        scope,
        n.into(),
        0,
        0,
        false,
        0,
        None,
        false,
        false,
        true,
        None,
    )
}

/// How a module is compiled.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// An app's module: a code cache made when none was usable. A module of up to `EAGER_MAX` bytes has every
    /// function compiled at once, so the cache holds their bytecode and no isolate compiles one on its first
    /// request; a larger one compiles its functions when first called.
    App,
    /// The glue, into the startup snapshot: every function compiled now, so the snapshot holds all their bytecode
    /// and a first request compiles none (about 1.5 ms less on it, for about 270 KB more heap per isolate); no code
    /// cache (a snapshot creator makes none).
    Snapshot,
}

/// App modules up to this size are compiled eagerly (see `Mode::App`).
const EAGER_MAX: usize = 64 * 1024;

/// Compiles one module source, consuming `cache` when given; returns the module and, when an app's module was
/// compiled without a usable cache, a fresh code cache for it.
fn compile<'s, 'i>(
    tc: &mut v8::PinnedRef<'_, v8::TryCatch<'_, 's, v8::HandleScope<'i>>>,
    name: &str,
    src: &str,
    cache: Option<Arc<Vec<u8>>>,
    mode: Mode,
) -> Result<(v8::Local<'s, v8::Module>, Option<Vec<u8>>), String> {
    let text = v8::String::new(tc, src).ok_or_else(|| format!("{name}: source too large"))?;
    let origin = origin(tc, name);
    let module = match &cache {
        Some(bytes) => {
            let mut source = v8::script_compiler::Source::new_with_cached_data(
                text,
                Some(&origin),
                v8::CachedData::new(bytes),
            );
            let m = v8::script_compiler::compile_module2(
                tc,
                &mut source,
                v8::script_compiler::CompileOptions::ConsumeCodeCache,
                v8::script_compiler::NoCacheReason::NoReason,
            );
            let rejected = source.get_cached_data().is_some_and(|c| c.rejected());
            m.map(|m| (m, rejected))
        }
        None => {
            let mut source = v8::script_compiler::Source::new(text, Some(&origin));
            let options = match mode {
                Mode::App if src.len() > EAGER_MAX => {
                    v8::script_compiler::CompileOptions::NoCompileOptions
                }
                Mode::App | Mode::Snapshot => v8::script_compiler::CompileOptions::EagerCompile,
            };
            v8::script_compiler::compile_module2(
                tc,
                &mut source,
                options,
                v8::script_compiler::NoCacheReason::NoReason,
            )
            .map(|m| (m, true))
        }
    };
    let Some((module, fresh)) = module else {
        return Err(format!("{name}: {}", caught(tc)));
    };
    let code = if fresh && mode == Mode::App {
        module
            .get_unbound_module_script(tc)
            .create_code_cache()
            .map(|c| c.to_vec())
    } else {
        None
    };
    Ok((module, code))
}

/// Compiles `name` and every module it imports (through the app's code cache) into `map`.
pub fn load<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    app: &Loaded,
    name: &str,
    map: &Rc<RefCell<ModuleMap>>,
) -> Result<v8::Local<'s, v8::Module>, String> {
    if let Some(g) = map.borrow().modules.get(name) {
        return Ok(v8::Local::new(scope, g));
    }
    let src = app
        .version
        .modules
        .get(name)
        .ok_or_else(|| format!("{name}: no such file in the app"))?;
    let cached = app.code.lock().expect("code cache lock").get(name).cloned();
    v8::tc_scope!(let tc, scope);
    let (module, fresh) = compile(tc, name, src, cached, Mode::App)?;
    if let Some(code) = fresh {
        app.code
            .lock()
            .expect("code cache lock")
            .insert(name.to_string(), Arc::new(code));
    }
    {
        let mut m = map.borrow_mut();
        m.modules
            .insert(name.to_string(), v8::Global::new(tc, module));
        m.names
            .insert(module.get_identity_hash().get(), name.to_string());
    }
    let requests = module.get_module_requests();
    for i in 0..requests.length() {
        let Some(req) = requests.get(tc, i) else {
            continue;
        };
        let Ok(req) = v8::Local::<v8::ModuleRequest>::try_from(req) else {
            continue;
        };
        let spec = req.get_specifier().to_rust_string_lossy(tc);
        let path = resolve_path(name, &spec).ok_or_else(|| {
            format!(
                "{name}: cannot import '{spec}': bare specifiers are not resolved (and imports stay inside the \
                 app folder); bundle the app's dependencies"
            )
        })?;
        if !app.version.modules.contains_key(&path) {
            return Err(format!(
                "{name}: cannot import '{spec}': no file {path} in the app"
            ));
        }
        load(tc, app, &path, map)?;
    }
    Ok(module)
}

fn resolve<'s>(
    context: v8::Local<'s, v8::Context>,
    specifier: v8::Local<'s, v8::String>,
    _attributes: v8::Local<'s, v8::FixedArray>,
    referrer: v8::Local<'s, v8::Module>,
) -> Option<v8::Local<'s, v8::Module>> {
    v8::callback_scope!(unsafe scope, context);
    let map = scope.get_slot::<Rc<RefCell<ModuleMap>>>()?.clone();
    let spec = specifier.to_rust_string_lossy(scope);
    let m = map.borrow();
    let found = m
        .names
        .get(&referrer.get_identity_hash().get())
        .and_then(|base| resolve_path(base, &spec))
        .and_then(|path| m.modules.get(&path));
    match found {
        Some(g) => Some(v8::Local::new(scope, g)),
        None => {
            let msg = v8::String::new(scope, &format!("cannot resolve module '{spec}'"))?;
            let exc = v8::Exception::error(scope, msg);
            scope.throw_exception(exc);
            None
        }
    }
}

/// Instantiates and evaluates the app's entry module; returns its default export.
pub fn evaluate_entry<'s, 'i>(
    tc: &mut v8::PinnedRef<'_, v8::TryCatch<'_, 's, v8::HandleScope<'i>>>,
    app: &Loaded,
    map: &Rc<RefCell<ModuleMap>>,
) -> Result<v8::Local<'s, v8::Value>, String> {
    let name = app.version.spec.name.as_str();
    let entry = load(tc, app, &app.version.spec.entry, map)?;
    if entry.instantiate_module(tc, resolve) != Some(true) {
        return Err(format!("app {name}: {}", caught(tc)));
    }
    let Some(result) = entry.evaluate(tc) else {
        return Err(format!(
            "app {name}: module evaluation threw: {}",
            caught(tc)
        ));
    };
    tc.perform_microtask_checkpoint();
    if let Ok(p) = v8::Local::<v8::Promise>::try_from(result) {
        match p.state() {
            v8::PromiseState::Fulfilled => {}
            v8::PromiseState::Rejected => {
                let e = p.result(tc);
                // The rejection is reported here; do not log it again as unhandled.
                p.mark_as_handled();
                return Err(format!(
                    "app {name}: module evaluation threw: {}",
                    exception_text(tc, e)
                ));
            }
            v8::PromiseState::Pending => {
                return Err(format!(
                    "app {name}: module evaluation did not finish (top-level await on I/O)"
                ))
            }
        }
    }
    let ns = v8::Local::<v8::Object>::try_from(entry.get_module_namespace())
        .map_err(|_| format!("app {name}: no module namespace"))?;
    let key = v8::String::new(tc, "default").expect("string");
    let default = ns.get(tc, key.into());
    match default {
        Some(d) if d.is_object() => Ok(d),
        _ => Err(format!(
            "app {name}: entry module has no default export object"
        )),
    }
}

/// Property `name` of `obj` as a function.
pub fn get_fn<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    obj: v8::Local<'s, v8::Object>,
    name: &str,
) -> Result<v8::Local<'s, v8::Function>, String> {
    let key = v8::String::new(scope, name).expect("string");
    obj.get(scope, key.into())
        .and_then(|f| v8::Local::<v8::Function>::try_from(f).ok())
        .ok_or_else(|| format!("web glue: host.{name} is not a function"))
}

/// Evaluates the Web API glue module and returns its default export, `function(ops) -> host` (once per process,
/// while the startup snapshot is made).
pub fn glue<'s>(scope: &mut v8::PinScope<'s, '_>) -> Result<v8::Local<'s, v8::Function>, String> {
    v8::tc_scope!(let tc, scope);
    let (module, _) = compile(
        tc,
        "nano:web",
        crate::adapters::js::web::glue(),
        None,
        Mode::Snapshot,
    )?;
    if module.instantiate_module(tc, resolve) != Some(true) || module.evaluate(tc).is_none() {
        return Err(format!("web glue: {}", caught(tc)));
    }
    let ns = v8::Local::<v8::Object>::try_from(module.get_module_namespace())
        .map_err(|_| "web glue: no namespace".to_string())?;
    let key = v8::String::new(tc, "default").expect("string");
    ns.get(tc, key.into())
        .and_then(|f| v8::Local::<v8::Function>::try_from(f).ok())
        .ok_or_else(|| "web glue: no default export function".to_string())
}
