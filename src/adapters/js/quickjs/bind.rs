//! The ops object QuickJS hands to the Web API glue: the engine-neutral `op_table`, read through `QjsArgs`, one
//! rquickjs function per row.

use crate::adapters::js::isolate_state::IsolateState;
use crate::adapters::js::meter::CpuMeter;
use crate::adapters::js::op_table::{self, Args, OpCtx, Ret, Throw};
use rquickjs::function::{IntoJsFunc, ParamRequirement, Params};
use rquickjs::{Ctx, Exception, FromJs, Function, IntoJs, Object, Result, TypedArray, Value};
use std::rc::Rc;

/// One op call's arguments, read with rquickjs's own conversions (a string, number, boolean or `Uint8Array` only,
/// none coerced). A conversion that fails keeps rquickjs's error, so the op throws it as a typed closure would.
struct QjsArgs<'a, 'js> {
    params: Params<'a, 'js>,
    failed: Option<rquickjs::Error>,
}

impl<'js> QjsArgs<'_, 'js> {
    fn arg(&self, i: usize) -> Value<'js> {
        self.params
            .arg(i)
            .unwrap_or_else(|| Value::new_undefined(self.params.ctx().clone()))
    }

    fn absent(&self, i: usize) -> bool {
        self.params
            .arg(i)
            .is_none_or(|v| v.is_undefined() || v.is_null())
    }

    fn fail(&mut self, e: rquickjs::Error) -> Throw {
        let t = Throw::Type(e.to_string());
        self.failed = Some(e);
        t
    }

    fn get<T: FromJs<'js>>(&mut self, i: usize) -> std::result::Result<T, Throw> {
        let v = self.arg(i);
        T::from_js(self.params.ctx(), v).map_err(|e| self.fail(e))
    }
}

/// A string from QuickJS's UTF-8, where a lone surrogate is the 3-byte sequence `ED A0..BF xx`: each becomes one
/// U+FFFD, as a USVString conversion has it.
fn usv(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    let mut rest = b;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (ok, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(ok).unwrap_or_default());
                out.push('\u{FFFD}');
                let surrogate = bad.len() >= 3 && bad[0] == 0xED && (0xA0..=0xBF).contains(&bad[1]);
                rest = &bad[if surrogate {
                    3
                } else {
                    e.error_len().unwrap_or(bad.len())
                }..];
            }
        }
    }
}

/// Copies a typed array's bytes out of the engine's memory (an empty vector when detached).
fn bytes(v: &TypedArray<'_, u8>) -> Vec<u8> {
    // SAFETY: the slice is copied at once; no JavaScript runs while it is borrowed.
    unsafe { v.as_bytes() }
        .map(|b| b.to_vec())
        .unwrap_or_default()
}

type Read<T> = std::result::Result<T, Throw>;

impl Args for QjsArgs<'_, '_> {
    fn str(&mut self, i: usize) -> Read<String> {
        match self.arg(i).as_string() {
            Some(s) => s
                .clone()
                .to_cstring()
                .map(|c| usv(c.as_str().as_bytes()))
                .map_err(|e| self.fail(e)),
            None => self.get(i),
        }
    }

    fn opt_str(&mut self, i: usize) -> Read<Option<String>> {
        if self.absent(i) {
            return Ok(None);
        }
        self.str(i).map(Some)
    }

    fn num(&mut self, i: usize) -> Read<f64> {
        self.get(i)
    }

    /// An argument left out reads as false (as an optional one did); one passed must be a boolean.
    fn bool(&mut self, i: usize) -> Read<bool> {
        if i >= self.params.len() {
            return Ok(false);
        }
        self.get(i)
    }

    fn bytes(&mut self, i: usize) -> Read<Vec<u8>> {
        self.get::<TypedArray<u8>>(i).map(|a| bytes(&a))
    }

    fn opt_bytes(&mut self, i: usize) -> Read<Option<Vec<u8>>> {
        if self.absent(i) {
            return Ok(None);
        }
        self.bytes(i).map(Some)
    }

    /// A string's UTF-8 bytes, a `Uint8Array`'s bytes, or None for anything else.
    fn opt_body(&mut self, i: usize) -> Read<Option<Vec<u8>>> {
        let v = self.arg(i);
        if let Some(s) = v.as_string() {
            return match s.to_string() {
                Ok(s) => Ok(Some(s.into_bytes())),
                Err(e) => Err(self.fail(e)),
            };
        }
        Ok(TypedArray::<u8>::from_value(v).ok().map(|b| bytes(&b)))
    }

    fn pairs(&mut self, i: usize) -> Read<Vec<(String, String)>> {
        self.get::<Vec<String>>(i).map(op_table::pairs_of)
    }
}

fn to_js<'js>(ctx: &Ctx<'js>, r: Ret) -> Result<Value<'js>> {
    Ok(match r {
        Ret::Undefined => Value::new_undefined(ctx.clone()),
        Ret::Null => Value::new_null(ctx.clone()),
        Ret::Bool(b) => Value::new_bool(ctx.clone(), b),
        Ret::Num(n) => Value::new_float(ctx.clone(), n),
        Ret::Str(s) => rquickjs::String::from_str(ctx.clone(), &s)?.into_value(),
        Ret::Bytes(b) => TypedArray::<u8>::new(ctx.clone(), b)?.into_value(),
        Ret::Strings(v) => v.into_js(ctx)?,
    })
}

/// One op function: its row in the op table, and the isolate's `OpCtx`.
struct QjsOp {
    row: usize,
    cx: Rc<OpCtx>,
}

impl<'js> IntoJsFunc<'js, QjsOp> for QjsOp {
    fn param_requirements() -> ParamRequirement {
        ParamRequirement::any()
    }

    fn call<'a>(&self, params: Params<'a, 'js>) -> Result<Value<'js>> {
        let ctx = params.ctx().clone();
        let Some(op) = op_table::op::<QjsArgs<'a, 'js>>(self.row) else {
            return Ok(Value::new_undefined(ctx));
        };
        let mut args = QjsArgs {
            params,
            failed: None,
        };
        match op_table::call(op_table::NAMES[self.row], op, &mut args, &self.cx) {
            Ok(r) => to_js(&ctx, r),
            Err(t) => Err(match (args.failed, t) {
                (Some(e), _) => e,
                (None, Throw::Type(m)) => Exception::throw_type(&ctx, &m),
                (None, Throw::Error(m)) => Exception::throw_message(&ctx, &m),
            }),
        }
    }
}

/// Builds the ops object: one function per row of the op table.
pub fn ops_object<'js>(
    ctx: &Ctx<'js>,
    host: Rc<IsolateState>,
    cpu: Rc<CpuMeter>,
) -> Result<Object<'js>> {
    let o = Object::new(ctx.clone())?;
    let cx = Rc::new(OpCtx::new(host, cpu));
    for (row, name) in op_table::NAMES.iter().enumerate() {
        let f = Function::new(
            ctx.clone(),
            QjsOp {
                row,
                cx: cx.clone(),
            },
        )?;
        o.set(*name, f)?;
    }
    Ok(o)
}
