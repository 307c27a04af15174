//! The QuickJS engine (rquickjs): isolates with a counting allocator, a CPU interrupt, cached module bytecode.

mod alloc;
mod bind;
mod loader;

use super::engine::{Engine, Fault, Isolate, OpValue, RequestHead};
use super::isolate_state::IsolateState;
use super::meter::{CpuMeter, MemMeter};
use super::Loaded;
use rquickjs::promise::PromiseState;
use rquickjs::{
    CaughtError, Context, Ctx, Function, IntoJs, Module, Object, Persistent, Promise, Runtime,
    TypedArray, Value,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

pub struct QuickJs;

/// HTML's rejection tracking for one isolate, filled by QuickJS's tracker during a turn and settled at its end.
#[derive(Default)]
struct Tracked {
    /// Rejected with no handler yet: the promise, its reason and the reason's text for the log.
    unhandled: Vec<(
        Persistent<Value<'static>>,
        Persistent<Value<'static>>,
        String,
    )>,
    /// Given a handler after their rejection was settled (reported, if the glue says so).
    handled: Vec<Persistent<Value<'static>>>,
}

impl Tracked {
    fn clear(&mut self) {
        self.unhandled.clear();
        self.handled.clear();
    }
}

type Rejections = Rc<RefCell<Tracked>>;

/// Late handlers kept per turn for `rejectionhandled`; past this many the rest go unreported.
const HANDLED_PER_TURN: usize = 1024;

/// Rounds of settling per turn: `unhandledrejection` listeners may reject more promises.
const SETTLE_ROUNDS: usize = 4;

pub struct QjsIsolate {
    rejections: Rejections,
    host: Rc<IsolateState>,
    host_fns: Persistent<Object<'static>>,
    ctx: Context,
    rt: Runtime,
    /// Bytecode QuickJS reads in place; dropped after the runtime.
    _held: Rc<RefCell<Vec<Arc<Vec<u8>>>>>,
}

fn describe(ctx: &Ctx<'_>, err: rquickjs::Error) -> String {
    match CaughtError::from_error(ctx, err) {
        CaughtError::Exception(e) => {
            let msg = e.message().unwrap_or_default();
            let stack = e.stack().unwrap_or_default();
            format!("{msg}\n{stack}")
        }
        CaughtError::Value(v) => format!("{v:?}"),
        CaughtError::Error(e) => e.to_string(),
    }
}

/// The Web API glue compiled once per process; every isolate loads this bytecode instead of parsing the source.
fn glue_bytecode() -> Result<&'static [u8], String> {
    static GLUE: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    GLUE.get_or_init(|| {
        let rt = Runtime::new().map_err(|e| e.to_string())?;
        let ctx = Context::full(&rt).map_err(|e| e.to_string())?;
        ctx.with(|ctx| {
            let m = Module::declare(ctx.clone(), "nano:web", super::web::glue())
                .map_err(|e| format!("web glue: {}", describe(&ctx, e)))?;
            m.write(loader::little_endian())
                .map_err(|e| format!("web glue: {}", describe(&ctx, e)))
        })
    })
    .as_ref()
    .map(|v| v.as_slice())
    .map_err(|e| e.clone())
}

fn new_runtime(mem: Arc<MemMeter>) -> Result<Runtime, Fault> {
    let rt = Runtime::new_with_alloc(alloc::CountingAlloc::new(mem))
        .map_err(|e| Fault::Error(e.to_string()))?;
    rt.set_max_stack_size(1024 * 1024);
    rt.set_gc_threshold(4 * 1024 * 1024);
    Ok(rt)
}

impl Engine for QuickJs {
    const NAME: &'static str = "quickjs";
    const MAPS_PER_ISOLATE: usize = 0;
    type Isolate = QjsIsolate;
    type Spare = ();

    fn compile(app: &Arc<Loaded>, _spare: &mut ()) -> Result<(), String> {
        let rt = Runtime::new().map_err(|e| e.to_string())?;
        rt.set_loader(
            loader::AppResolver,
            loader::AppLoader {
                app: app.clone(),
                held: Rc::new(RefCell::new(Vec::new())),
            },
        );
        let ctx = Context::full(&rt).map_err(|e| e.to_string())?;
        let entry = app.version.spec.entry.as_str();
        ctx.with(|ctx| {
            // Declaring the entry compiles it and, through the loader, every module it imports.
            loader::compile_into(&ctx, app, entry)
                .map(|_| ())
                .map_err(|e| format!("{entry}: {}", describe(&ctx, e)))
        })
    }

    fn create(
        app: &Arc<Loaded>,
        host: Rc<IsolateState>,
        cpu: Rc<CpuMeter>,
        mem: Arc<MemMeter>,
        _spare: &mut (),
    ) -> Result<QjsIsolate, Fault> {
        let rt = new_runtime(mem.clone())?;
        let meter = cpu.clone();
        rt.set_interrupt_handler(Some(Box::new(move || meter.expired())));
        let rejections: Rejections = Rc::default();
        let tracked = rejections.clone();
        rt.set_host_promise_rejection_tracker(Some(Box::new(
            move |ctx: Ctx<'_>, promise: Value<'_>, reason: Value<'_>, handled: bool| {
                if handled {
                    let mut list = tracked.borrow_mut();
                    let before = list.unhandled.len();
                    list.unhandled.retain(|(p, _, _)| {
                        p.clone()
                            .restore(&ctx)
                            .map(|v| v != promise)
                            .unwrap_or(false)
                    });
                    if list.unhandled.len() == before && list.handled.len() < HANDLED_PER_TURN {
                        list.handled.push(Persistent::save(&ctx, promise));
                    }
                } else {
                    let text = match reason
                        .as_object()
                        .and_then(|o| rquickjs::Exception::from_object(o.clone()))
                    {
                        Some(e) => format!(
                            "{}\n{}",
                            e.message().unwrap_or_default(),
                            e.stack().unwrap_or_default()
                        ),
                        None => format!("{reason:?}"),
                    };
                    let entry = (
                        Persistent::save(&ctx, promise),
                        Persistent::save(&ctx, reason),
                        text,
                    );
                    tracked.borrow_mut().unhandled.push(entry);
                }
            },
        )));
        let held = Rc::new(RefCell::new(Vec::new()));
        rt.set_loader(
            loader::AppResolver,
            loader::AppLoader {
                app: app.clone(),
                held: held.clone(),
            },
        );
        let ctx = Context::full(&rt).map_err(|e| Fault::Error(e.to_string()))?;
        let entry = app.version.spec.entry.clone();
        let host_fns = ctx.with(|ctx| -> Result<_, String> {
            let glue = glue_bytecode()?;
            // SAFETY: the bytes come from `Module::write` of this QuickJS build and live for the whole process.
            let module = unsafe { Module::load(ctx.clone(), glue) }
                .map_err(|e| format!("web glue: {}", describe(&ctx, e)))?;
            let (module, _) = module
                .eval()
                .map_err(|e| format!("web glue: {}", describe(&ctx, e)))?;
            let glue: Function = module
                .get("default")
                .map_err(|e| format!("web glue: {}", describe(&ctx, e)))?;
            let ops =
                bind::ops_object(&ctx, host.clone(), cpu.clone()).map_err(|e| e.to_string())?;
            let host_obj: Object = glue
                .call((ops,))
                .map_err(|e| format!("web glue: {}", describe(&ctx, e)))?;
            Ok(Persistent::save(&ctx, host_obj))
        });
        let host_fns = host_fns.map_err(Fault::Error)?;
        let mut iso = QjsIsolate {
            rejections,
            host: host.clone(),
            host_fns,
            ctx,
            rt,
            _held: held,
        };
        // Evaluate the entry module, then give the glue its default export and the env.
        let promise = iso
            .ctx
            .with(|ctx| -> Result<_, String> {
                let p = Module::import(&ctx, entry.as_str()).map_err(|e| describe(&ctx, e))?;
                Ok(Persistent::save(&ctx, p))
            })
            .map_err(Fault::Error)?;
        iso.drain()?;
        let env = app.env_json.clone();
        let name = app.version.spec.name.to_string();
        iso.ctx
            .with(|ctx| -> Result<(), String> {
                let p: Promise = promise.restore(&ctx).map_err(|e| e.to_string())?;
                let ns: Object = match p.state() {
                    PromiseState::Resolved => p
                        .result::<Object>()
                        .unwrap()
                        .map_err(|e| describe(&ctx, e))?,
                    PromiseState::Rejected => {
                        let e = p.result::<Value>().unwrap().map_err(|e| describe(&ctx, e));
                        return Err(match e {
                            Err(e) => format!("app {name}: module evaluation threw: {e}"),
                            Ok(_) => format!("app {name}: module evaluation failed"),
                        });
                    }
                    PromiseState::Pending => {
                        return Err(format!(
                            "app {name}: module evaluation did not finish (top-level await on I/O)"
                        ))
                    }
                };
                let default: Value = ns.get("default").map_err(|e| describe(&ctx, e))?;
                if !default.is_object() {
                    return Err(format!(
                        "app {name}: entry module has no default export object"
                    ));
                }
                let host: Object = iso
                    .host_fns
                    .clone()
                    .restore(&ctx)
                    .map_err(|e| e.to_string())?;
                let init: Function = host.get("init").map_err(|e| e.to_string())?;
                init.call::<_, ()>((default, env))
                    .map_err(|e| format!("app {name}: {}", describe(&ctx, e)))
            })
            .map_err(Fault::Error)?;
        iso.drain()?;
        iso.settle_rejections()?;
        iso.report_rejections();
        Ok(iso)
    }
}

impl QjsIsolate {
    /// Runs every pending job (promise reactions).
    fn drain(&mut self) -> Result<(), Fault> {
        loop {
            match self.rt.execute_pending_job() {
                Ok(true) => continue,
                Ok(false) => return Ok(()),
                Err(e) => {
                    let msg = e.0.with(|ctx| describe(&ctx, rquickjs::Error::Exception));
                    return Err(Fault::Error(msg));
                }
            }
        }
    }

    /// Calls one of the glue's host functions, then drains microtasks.
    fn call<A>(&mut self, name: &str, args: A) -> Result<(), Fault>
    where
        A: for<'js> FnOnce(&Ctx<'js>) -> rquickjs::Result<Vec<Value<'js>>>,
    {
        let host_fns = self.host_fns.clone();
        let r = self.ctx.with(|ctx| -> Result<(), String> {
            let host: Object = host_fns.restore(&ctx).map_err(|e| e.to_string())?;
            let f: Function = host.get(name).map_err(|e| e.to_string())?;
            let args = args(&ctx).map_err(|e| describe(&ctx, e))?;
            let mut a = rquickjs::function::Args::new(ctx.clone(), args.len());
            for v in args {
                a.push_arg(v).map_err(|e| e.to_string())?;
            }
            f.call_arg::<()>(a).map_err(|e| describe(&ctx, e))
        });
        let drained = self.drain().and_then(|()| self.settle_rejections());
        self.report_rejections();
        r.map_err(Fault::Error)?;
        drained
    }

    /// HTML's rejection tracking at a turn's end: each promise still rejected with no handler goes to the glue's
    /// `rejection` (an `unhandledrejection` event) and is logged unless a listener cancelled it; each promise handled
    /// after that goes to `handled` (a `rejectionhandled` event). Listeners may reject more: a few rounds, then
    /// `report_rejections` logs what is left.
    fn settle_rejections(&mut self) -> Result<(), Fault> {
        for _ in 0..SETTLE_ROUNDS {
            let (unhandled, handled) = {
                let mut list = self.rejections.borrow_mut();
                (
                    std::mem::take(&mut list.unhandled),
                    std::mem::take(&mut list.handled),
                )
            };
            if unhandled.is_empty() && handled.is_empty() {
                return Ok(());
            }
            let host_fns = self.host_fns.clone();
            let host = self.host.clone();
            self.ctx.with(|ctx| {
                let Ok(fns) = host_fns.restore(&ctx) else {
                    return;
                };
                let rejection: Option<Function> = fns.get("rejection").ok();
                let on_handled: Option<Function> = fns.get("handled").ok();
                for (promise, reason, text) in unhandled {
                    let (Ok(p), Ok(r)) = (promise.restore(&ctx), reason.restore(&ctx)) else {
                        continue;
                    };
                    let cancelled = rejection
                        .as_ref()
                        .and_then(|f| f.call::<_, bool>((p, r)).ok())
                        .unwrap_or(false);
                    if !cancelled {
                        host.log("error", &format!("unhandled promise rejection: {text}"));
                    }
                }
                for promise in handled {
                    if let (Some(f), Ok(p)) = (&on_handled, promise.restore(&ctx)) {
                        let _ = f.call::<_, ()>((p,));
                    }
                }
            });
            self.drain()?;
        }
        Ok(())
    }

    /// Logs the rejections a turn could not settle (it was stopped, or its listeners kept rejecting).
    fn report_rejections(&mut self) {
        let unhandled = {
            let mut list = self.rejections.borrow_mut();
            list.handled.clear();
            std::mem::take(&mut list.unhandled)
        };
        for (_, _, text) in unhandled {
            self.host
                .log("error", &format!("unhandled promise rejection: {text}"));
        }
    }
}

impl Drop for QjsIsolate {
    fn drop(&mut self) {
        // Persistent values must go before the runtime they live in.
        self.rejections.borrow_mut().clear();
    }
}

impl Isolate for QjsIsolate {
    fn dispatch(
        &mut self,
        req: u64,
        head: &RequestHead,
        body_rid: Option<u64>,
    ) -> Result<(), Fault> {
        let flat: Vec<String> = head
            .headers
            .iter()
            .flat_map(|(k, v)| [k.clone(), v.clone()])
            .collect();
        self.call("dispatch", |ctx| {
            Ok(vec![
                (req as f64).into_js(ctx)?,
                head.method.as_str().into_js(ctx)?,
                head.url.as_str().into_js(ctx)?,
                flat.into_js(ctx)?,
                body_rid.map(|r| r as f64).into_js(ctx)?,
            ])
        })
    }

    fn complete(&mut self, op: u64, value: Result<OpValue, String>) -> Result<(), Fault> {
        self.call("complete", |ctx| {
            let (ok, v) = match value {
                Err(e) => (false, e.into_js(ctx)?),
                Ok(OpValue::Undefined) => (true, Value::new_undefined(ctx.clone())),
                Ok(OpValue::Null) => (true, Value::new_null(ctx.clone())),
                Ok(OpValue::Bytes(b)) => {
                    (true, TypedArray::<u8>::new(ctx.clone(), b)?.into_value())
                }
                Ok(OpValue::Response {
                    status,
                    status_text,
                    headers,
                    rid,
                    url,
                }) => {
                    let flat: Vec<String> = headers.into_iter().flat_map(|(k, v)| [k, v]).collect();
                    let arr = rquickjs::Array::new(ctx.clone())?;
                    arr.set(0, status)?;
                    arr.set(1, status_text)?;
                    arr.set(2, flat)?;
                    arr.set(3, rid as f64)?;
                    if let Some(url) = url {
                        arr.set(4, url)?;
                    }
                    (true, arr.into_value())
                }
            };
            Ok(vec![(op as f64).into_js(ctx)?, ok.into_js(ctx)?, v])
        })
    }

    fn fire_timer(&mut self, id: u64) -> Result<(), Fault> {
        self.call("timer", |ctx| Ok(vec![(id as f64).into_js(ctx)?]))
    }

    fn abort(&mut self, req: u64, reason: &str) -> Result<(), Fault> {
        self.call("abort", |ctx| {
            Ok(vec![(req as f64).into_js(ctx)?, reason.into_js(ctx)?])
        })
    }
}
