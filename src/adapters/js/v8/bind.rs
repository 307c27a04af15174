//! The ops object V8 hands to the Web API glue: one table of `(name, op)` rows, each a thin conversion onto `IsolateState`
//! and the engine-neutral `ops`, all reached through one trampoline. An op function carries only its row's index,
//! and the isolate's `OpCtx` sits in an isolate slot, so the ops object can live in the startup snapshot.
//!
//! To add an op: write one row in `OPS` reading its arguments with `Call`'s readers (`str`, `num`, `id`, `bool`,
//! `bytes`, `opt_*`, `pairs`) and returning anything that converts into `Ret`; throw with `Throw::Type`/`Throw::Error`.

use crate::adapters::js::isolate_state::IsolateState;
use crate::adapters::js::ops;
use std::rc::Rc;
use std::time::Instant;

/// What an op hands back to JS.
pub enum Ret {
    Undefined,
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Bytes(Vec<u8>),
    Strings(Vec<String>),
}

impl From<()> for Ret {
    fn from(_: ()) -> Self {
        Ret::Undefined
    }
}
impl From<bool> for Ret {
    fn from(v: bool) -> Self {
        Ret::Bool(v)
    }
}
impl From<f64> for Ret {
    fn from(v: f64) -> Self {
        Ret::Num(v)
    }
}
impl From<u64> for Ret {
    fn from(v: u64) -> Self {
        Ret::Num(v as f64)
    }
}
impl From<String> for Ret {
    fn from(v: String) -> Self {
        Ret::Str(v)
    }
}
impl From<Vec<u8>> for Ret {
    fn from(v: Vec<u8>) -> Self {
        Ret::Bytes(v)
    }
}
impl<T: Into<Ret>> From<Option<T>> for Ret {
    fn from(v: Option<T>) -> Self {
        v.map_or(Ret::Null, Into::into)
    }
}
impl From<Vec<String>> for Ret {
    fn from(v: Vec<String>) -> Self {
        Ret::Strings(v)
    }
}

/// An exception an op throws.
pub enum Throw {
    Type(String),
    Error(String),
}

type OpResult = Result<Ret, Throw>;

fn type_err<T: Into<Ret>>(r: Result<T, String>) -> OpResult {
    r.map(Into::into).map_err(Throw::Type)
}

fn plain_err<T: Into<Ret>>(r: Result<T, String>) -> OpResult {
    r.map(Into::into).map_err(Throw::Error)
}

/// What every op of one isolate shares; kept in the isolate's slot by `bind_isolate`.
pub struct OpCtx {
    pub host: Rc<IsolateState>,
    pub origin: Instant,
}

/// One op call: its arguments, read on demand.
pub struct Call<'a, 's, 'i> {
    scope: &'a mut v8::PinScope<'s, 'i>,
    args: &'a v8::FunctionCallbackArguments<'s>,
    pub ctx: &'a OpCtx,
}

impl<'s> Call<'_, 's, '_> {
    fn arg(&self, i: i32) -> v8::Local<'s, v8::Value> {
        self.args.get(i)
    }

    fn absent(&self, i: i32) -> bool {
        self.arg(i).is_null_or_undefined()
    }

    pub fn str(&mut self, i: i32) -> Result<String, Throw> {
        let v = self.arg(i);
        let s = v
            .to_string(self.scope)
            .ok_or_else(|| Throw::Type(format!("argument {i} is not a string")))?;
        Ok(s.to_rust_string_lossy(self.scope))
    }

    pub fn opt_str(&mut self, i: i32) -> Result<Option<String>, Throw> {
        if self.absent(i) {
            return Ok(None);
        }
        self.str(i).map(Some)
    }

    pub fn num(&mut self, i: i32) -> f64 {
        self.arg(i).number_value(self.scope).unwrap_or(f64::NAN)
    }

    /// A numeric id (request, op, resource, timer).
    pub fn id(&mut self, i: i32) -> u64 {
        self.num(i) as u64
    }

    pub fn bool(&mut self, i: i32) -> bool {
        self.arg(i).boolean_value(self.scope)
    }

    pub fn bytes(&mut self, i: i32) -> Result<Vec<u8>, Throw> {
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

    /// A body: bytes, or a (well-formed) string taken as its UTF-8 bytes.
    pub fn opt_body(&mut self, i: i32) -> Result<Option<Vec<u8>>, Throw> {
        let v = self.arg(i);
        if v.is_string() {
            return Ok(Some(v.to_rust_string_lossy(self.scope).into_bytes()));
        }
        self.opt_bytes(i)
    }

    pub fn opt_bytes(&mut self, i: i32) -> Result<Option<Vec<u8>>, Throw> {
        if self.absent(i) {
            return Ok(None);
        }
        self.bytes(i).map(Some)
    }

    /// A flat `[name, value, name, value, ...]` array of strings as pairs.
    pub fn pairs(&mut self, i: i32) -> Result<Vec<(String, String)>, Throw> {
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
        Ok(flat
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[0].clone(), c[1].clone()))
            .collect())
    }
}

pub type Op = fn(&mut Call<'_, '_, '_>) -> OpResult;

/// Every native op the glue in `web/*.js` calls, by the name it calls it.
pub const OPS: &[(&str, Op)] = &[
    ("log", |c| {
        let (level, msg) = (c.str(0)?, c.str(1)?);
        c.ctx.host.log(&level, &msg);
        Ok(Ret::Undefined)
    }),
    ("now", |c| {
        Ok(Ret::Num(c.ctx.origin.elapsed().as_secs_f64() * 1000.0))
    }),
    ("randomBytes", |c| {
        let n = c.num(0).max(0.0) as usize;
        Ok(ops::random_bytes(n.min(65536)).into())
    }),
    ("randomUUID", |_| Ok(ops::random_uuid().into())),
    ("digest", |c| {
        let (alg, data) = (c.str(0)?, c.bytes(1)?);
        plain_err(ops::digest(&alg, &data))
    }),
    ("hmac", |c| {
        let (alg, key, data) = (c.str(0)?, c.bytes(1)?, c.bytes(2)?);
        plain_err(ops::hmac(&alg, &key, &data))
    }),
    ("pbkdf2", |c| {
        let (hash, pw, salt) = (c.str(0)?, c.bytes(1)?, c.bytes(2)?);
        let (iterations, bits) = (c.num(3) as u32, c.num(4) as usize);
        type_err(ops::pbkdf2(&hash, &pw, &salt, iterations, bits))
    }),
    ("hkdf", |c| {
        let (hash, ikm, salt, info) = (c.str(0)?, c.bytes(1)?, c.bytes(2)?, c.bytes(3)?);
        type_err(ops::hkdf(&hash, &ikm, &salt, &info, c.num(4) as usize))
    }),
    ("aesGcm", |c| {
        let encrypt = c.bool(0);
        let (key, iv, data, aad) = (c.bytes(1)?, c.bytes(2)?, c.bytes(3)?, c.bytes(4)?);
        type_err(ops::aes_gcm(encrypt, &key, &iv, &data, &aad))
    }),
    ("ecGenerate", |c| type_err(ops::ec::generate(&c.str(0)?))),
    ("ecPublic", |c| {
        let (alg, d) = (c.str(0)?, c.bytes(1)?);
        type_err(ops::ec::public_of(&alg, &d))
    }),
    ("ecCheckPublic", |c| {
        let (alg, raw) = (c.str(0)?, c.bytes(1)?);
        type_err(ops::ec::check_public(&alg, &raw))
    }),
    ("ecFromDer", |c| {
        let (alg, format, der) = (c.str(0)?, c.str(1)?, c.bytes(2)?);
        type_err(ops::ec::from_der(&alg, &format, &der))
    }),
    ("ecToDer", |c| {
        let (alg, format, key) = (c.str(0)?, c.str(1)?, c.bytes(2)?);
        type_err(ops::ec::to_der(&alg, &format, &key))
    }),
    ("ecSign", |c| {
        let (alg, hash, d, data) = (c.str(0)?, c.str(1)?, c.bytes(2)?, c.bytes(3)?);
        type_err(ops::ec::sign(&alg, &hash, &d, &data))
    }),
    ("ecVerify", |c| {
        let (alg, hash) = (c.str(0)?, c.str(1)?);
        let (public, sig, data) = (c.bytes(2)?, c.bytes(3)?, c.bytes(4)?);
        type_err(ops::ec::verify(&alg, &hash, &public, &sig, &data))
    }),
    ("codecNew", |c| {
        let (format, compress) = (c.str(0)?, c.bool(1));
        type_err(c.ctx.host.codec_new(&format, compress))
    }),
    ("codecPush", |c| {
        let (id, data, finish) = (c.id(0), c.bytes(1)?, c.bool(2));
        type_err(c.ctx.host.codec_push(id, &data, finish))
    }),
    ("codecFree", |c| {
        let id = c.id(0);
        c.ctx.host.codec_free(id);
        Ok(Ret::Undefined)
    }),
    ("encodeUtf8", |c| Ok(c.str(0)?.into_bytes().into())),
    ("decodeUtf8", |c| {
        let data = c.bytes(0)?;
        if c.bool(1) {
            match String::from_utf8(data) {
                Ok(s) => Ok(s.into()),
                Err(_) => Err(Throw::Type(
                    "The encoded data was not valid for encoding utf-8".into(),
                )),
            }
        } else {
            Ok(String::from_utf8_lossy(&data).into_owned().into())
        }
    }),
    ("b64encode", |c| Ok(ops::base64_encode(&c.bytes(0)?).into())),
    ("b64decode", |c| Ok(ops::base64_decode(&c.str(0)?).into())),
    ("urlParse", |c| {
        let (input, base) = (c.str(0)?, c.opt_str(1)?);
        Ok(ops::url_parse(&input, base.as_deref()).into())
    }),
    ("urlSet", |c| {
        let (href, part, value) = (c.str(0)?, c.str(1)?, c.str(2)?);
        Ok(ops::url_set(&href, &part, &value).into())
    }),
    ("timerStart", |c| {
        let (id, ms) = (c.id(0), c.num(1));
        c.ctx.host.timer_start(id, ms);
        Ok(Ret::Undefined)
    }),
    ("timerCancel", |c| {
        let id = c.id(0);
        c.ctx.host.timer_cancel(id);
        Ok(Ret::Undefined)
    }),
    ("respond", |c| {
        let (req, status, headers) = (c.id(0), c.num(1) as u16, c.pairs(2)?);
        let (body, streaming) = (c.opt_body(3)?, c.bool(4));
        type_err(c.ctx.host.respond(req, status, headers, body, streaming))
    }),
    ("write", |c| {
        let (req, chunk) = (c.id(0), c.bytes(1)?);
        Ok(c.ctx.host.write(req, chunk).into())
    }),
    ("close", |c| {
        let (req, error) = (c.id(0), c.opt_str(1)?);
        c.ctx.host.close(req, error);
        Ok(Ret::Undefined)
    }),
    ("fail", |c| {
        let (req, msg) = (c.id(0), c.str(1)?);
        c.ctx.host.fail(req, &msg);
        Ok(Ret::Undefined)
    }),
    ("finish", |c| {
        let req = c.id(0);
        c.ctx.host.finish(req);
        Ok(Ret::Undefined)
    }),
    ("bodyRead", |c| {
        let rid = c.id(0);
        Ok(c.ctx.host.body_read(rid).into())
    }),
    ("sinkWrite", |c| {
        let (fetch, chunk) = (c.id(0), c.bytes(1)?);
        Ok(c.ctx.host.sink_write(fetch, chunk).into())
    }),
    ("sinkClose", |c| {
        let (fetch, error) = (c.id(0), c.opt_str(1)?);
        c.ctx.host.sink_close(fetch, error);
        Ok(Ret::Undefined)
    }),
    ("bodyCancel", |c| {
        let rid = c.id(0);
        c.ctx.host.body_cancel(rid);
        Ok(Ret::Undefined)
    }),
    ("bindingNames", |c| Ok(c.ctx.host.binding_names().into())),
    ("binding", |c| {
        let (name, method, args) = (c.str(0)?, c.str(1)?, c.str(2)?);
        let streaming = c.bool(3);
        type_err(
            c.ctx
                .host
                .binding(&name, &method, &args, streaming)
                .map(|op| op as f64),
        )
    }),
    ("fetch", |c| {
        let (method, url, headers) = (c.str(0)?, c.str(1)?, c.pairs(2)?);
        let (body, streaming, redirect) = (c.opt_bytes(3)?, c.bool(4), c.opt_str(5)?);
        let redirect = redirect.as_deref().unwrap_or("follow");
        type_err(
            c.ctx
                .host
                .fetch(&method, &url, headers, body, streaming, redirect),
        )
    }),
];

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
/// is its row in `OPS`, the isolate's slot holds the `OpCtx`.
pub fn trampoline<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    args: v8::FunctionCallbackArguments<'s>,
    mut rv: v8::ReturnValue<'s, v8::Value>,
) {
    let Some((name, op)) = v8::Local::<v8::Integer>::try_from(args.data())
        .ok()
        .and_then(|i| OPS.get(i.value() as usize))
    else {
        return;
    };
    let result = match scope.get_slot::<Rc<OpCtx>>().cloned() {
        Some(ctx) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut call = Call {
                scope,
                args: &args,
                ctx: &ctx,
            };
            op(&mut call)
        })),
        // Only while the snapshot is made: the glue must not call ops when it is evaluated.
        None => Ok(Err(Throw::Error(format!(
            "ops.{name} called while the Web API glue is evaluated"
        )))),
    };
    let result = match result {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(Throw::Error(format!(
                "internal error in a native op: {what}"
            )))
        }
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
pub fn bind_isolate(isolate: &mut v8::Isolate, host: Rc<IsolateState>) {
    isolate.set_slot(Rc::new(OpCtx {
        host,
        origin: Instant::now(),
    }));
}

/// Builds the ops object: one function per row of `OPS`, its data the row's index.
pub fn ops_object<'s>(scope: &mut v8::PinScope<'s, '_>) -> Option<v8::Local<'s, v8::Object>> {
    let obj = v8::Object::new(scope);
    for (i, (name, _)) in OPS.iter().enumerate() {
        let data = v8::Integer::new_from_unsigned(scope, i as u32);
        let f = v8::Function::builder(trampoline)
            .data(data.into())
            .build(scope)?;
        let key = v8::String::new(scope, name)?;
        obj.set(scope, key.into(), f.into())?;
    }
    Some(obj)
}
