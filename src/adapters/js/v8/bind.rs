//! The ops object V8 hands to the Web API glue: the engine-neutral `op_table` read through `Call`, all reached
//! through one trampoline. An op function carries only its row's index, and the isolate's `OpCtx` sits in an isolate
//! slot, so the ops object can live in the startup snapshot.

use crate::adapters::js::isolate_state::IsolateState;
use crate::adapters::js::meter::CpuMeter;
use crate::adapters::js::op_table::{self, Args, OpCtx, Throw};
use std::rc::Rc;

pub use crate::adapters::js::op_table::Ret;

/// One op call's arguments, read on demand.
pub struct Call<'a, 's, 'i> {
    scope: &'a mut v8::PinScope<'s, 'i>,
    args: &'a v8::FunctionCallbackArguments<'s>,
}

impl<'s> Call<'_, 's, '_> {
    fn arg(&self, i: usize) -> v8::Local<'s, v8::Value> {
        self.args.get(i as i32)
    }

    fn absent(&self, i: usize) -> bool {
        self.arg(i).is_null_or_undefined()
    }
}

impl<'s> Args for Call<'_, 's, '_> {
    fn str(&mut self, i: usize) -> Result<String, Throw> {
        let v = self.arg(i);
        let s = v
            .to_string(self.scope)
            .ok_or_else(|| Throw::Type(format!("argument {i} is not a string")))?;
        Ok(s.to_rust_string_lossy(self.scope))
    }

    fn opt_str(&mut self, i: usize) -> Result<Option<String>, Throw> {
        if self.absent(i) {
            return Ok(None);
        }
        self.str(i).map(Some)
    }

    fn num(&mut self, i: usize) -> Result<f64, Throw> {
        Ok(self.arg(i).number_value(self.scope).unwrap_or(f64::NAN))
    }

    fn bool(&mut self, i: usize) -> Result<bool, Throw> {
        Ok(self.arg(i).boolean_value(self.scope))
    }

    fn bytes(&mut self, i: usize) -> Result<Vec<u8>, Throw> {
        let v = self.arg(i);
        if let Ok(view) = v8::Local::<v8::ArrayBufferView>::try_from(v) {
            let mut out = vec![0u8; view.byte_length()];
            view.copy_contents(&mut out);
            return Ok(out);
        }
        if let Ok(buf) = v8::Local::<v8::ArrayBuffer>::try_from(v) {
            let len = buf.byte_length();
            return Ok(match buf.data() {
                // SAFETY: the buffer is alive for this call and `len` bytes long.
                Some(p) if len > 0 => {
                    unsafe { std::slice::from_raw_parts(p.as_ptr() as *const u8, len) }.to_vec()
                }
                _ => Vec::new(),
            });
        }
        Err(Throw::Type(format!("argument {i} is not a Uint8Array")))
    }

    fn opt_body(&mut self, i: usize) -> Result<Option<Vec<u8>>, Throw> {
        let v = self.arg(i);
        if v.is_string() {
            return Ok(Some(v.to_rust_string_lossy(self.scope).into_bytes()));
        }
        self.opt_bytes(i)
    }

    fn opt_bytes(&mut self, i: usize) -> Result<Option<Vec<u8>>, Throw> {
        if self.absent(i) {
            return Ok(None);
        }
        self.bytes(i).map(Some)
    }

    fn pairs(&mut self, i: usize) -> Result<Vec<(String, String)>, Throw> {
        let v = self.arg(i);
        let arr = v8::Local::<v8::Array>::try_from(v)
            .map_err(|_| Throw::Type(format!("argument {i} is not an array")))?;
        let mut flat = Vec::with_capacity(arr.length() as usize);
        for k in 0..arr.length() {
            let item = arr
                .get_index(self.scope, k)
                .ok_or_else(|| Throw::Type("bad array".into()))?;
            flat.push(item.to_rust_string_lossy(self.scope));
        }
        Ok(op_table::pairs_of(flat))
    }
}

pub fn to_js<'s>(scope: &mut v8::PinScope<'s, '_>, r: Ret) -> v8::Local<'s, v8::Value> {
    match r {
        Ret::Undefined => v8::undefined(scope).into(),
        Ret::Null => v8::null(scope).into(),
        Ret::Bool(b) => v8::Boolean::new(scope, b).into(),
        Ret::Num(n) => v8::Number::new(scope, n).into(),
        Ret::Str(s) => js_str(scope, &s),
        Ret::Bytes(b) => u8array(scope, b).into(),
        Ret::Strings(v) => {
            let items: Vec<v8::Local<v8::Value>> = v.iter().map(|s| js_str(scope, s)).collect();
            v8::Array::new_with_elements(scope, &items).into()
        }
    }
}

/// A JS string (undefined when too long for V8).
pub fn js_str<'s>(scope: &mut v8::PinScope<'s, '_>, s: &str) -> v8::Local<'s, v8::Value> {
    v8::String::new(scope, s)
        .map(Into::into)
        .unwrap_or_else(|| v8::undefined(scope).into())
}

pub fn u8array<'s>(scope: &mut v8::PinScope<'s, '_>, b: Vec<u8>) -> v8::Local<'s, v8::Uint8Array> {
    let len = b.len();
    let store = v8::ArrayBuffer::new_backing_store_from_vec(b).make_shared();
    let buf = v8::ArrayBuffer::with_backing_store(scope, &store);
    v8::Uint8Array::new(scope, buf, 0, len).expect("Uint8Array over a fresh buffer")
}

/// The one native callback of every op function (so the snapshot's only external reference): the function's data
/// is its row in the op table, the isolate's slot holds the `OpCtx`.
pub fn trampoline<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<'s, v8::Value>,
) {
    let Some((row, name)) = v8::Local::<v8::Integer>::try_from(args.data())
        .ok()
        .and_then(|i| {
            let row = i.value() as usize;
            op_table::NAMES.get(row).map(|name| (row, name))
        })
    else {
        return;
    };
    let result = match scope.get_slot::<Rc<OpCtx>>().cloned() {
        Some(ctx) => {
            let mut call = Call { scope, args: &args };
            match op_table::op(row) {
                Some(op) => op_table::call(name, op, &mut call, &ctx),
                None => Ok(Ret::Undefined),
            }
        }
        // Only while the snapshot is made: the glue must not call ops when it is evaluated.
        None => Err(Throw::Error(format!(
            "ops.{name} called while the Web API glue is evaluated"
        ))),
    };
    match result {
        Ok(r) => rv.set(to_js(scope, r)),
        Err(t) => {
            let (typed, msg) = match t {
                Throw::Type(m) => (true, m),
                Throw::Error(m) => (false, m),
            };
            let msg = v8::String::new(scope, &msg).unwrap_or_else(|| v8::String::empty(scope));
            let exc = if typed {
                v8::Exception::type_error(scope, msg)
            } else {
                v8::Exception::error(scope, msg)
            };
            scope.throw_exception(exc);
        }
    }
}

/// Gives the isolate's op functions their context: the host they serve, and the origin of `ops.now()`.
pub fn bind_isolate(isolate: &mut v8::Isolate, host: Rc<IsolateState>, cpu: Rc<CpuMeter>) {
    isolate.set_slot(Rc::new(OpCtx::new(host, cpu)));
}

/// Builds the ops object: one function per row of the op table, its data the row's index.
pub fn ops_object<'s>(scope: &mut v8::PinScope<'s, '_>) -> Option<v8::Local<'s, v8::Object>> {
    let obj = v8::Object::new(scope);
    for (i, name) in op_table::NAMES.iter().enumerate() {
        let data = v8::Integer::new_from_unsigned(scope, i as u32);
        let f = v8::Function::builder(trampoline)
            .data(data.into())
            .build(scope)?;
        let key = v8::String::new(scope, name)?;
        obj.set(scope, key.into(), f.into())?;
    }
    Some(obj)
}
