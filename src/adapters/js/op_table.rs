//! The native ops the Web API glue (`web/*.js`) calls as `ops.<name>(...)`, declared once for every engine.
//!
//! Each row of `op_table!` reads its arguments through `Args` and returns an engine-neutral `OpResult`; an
//! engine supplies one `Args` reader over its call arguments and one converter of `Ret`/`Throw` into its values, and
//! registers the whole table in a loop. The table is generic over the reader, so each engine gets its own
//! monomorphized copy: reading an argument is a direct call, never a virtual one.
//!
//! To add an op: write one row in `op_table!` (read arguments with `str`, `num`, `id`, `bool`, `bytes`, `opt_*`, `pairs`;
//! return anything that converts into `Ret`; throw with `Throw::Type`/`Throw::Error`), over `ops.rs` or
//! `IsolateState`.

use crate::adapters::js::cache_api;
use crate::adapters::js::crypto::{aes, ec, hash, rsa};
use crate::adapters::js::isolate_state::IsolateState;
use crate::adapters::js::meter::CpuMeter;
use crate::adapters::js::ops;
use crate::services::response_cache::Cached;
use std::rc::Rc;
use std::time::Instant;

/// What an op hands back to JS.
pub enum Ret {
    Undefined,
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    /// A `Uint8Array` over these bytes.
    Bytes(Vec<u8>),
    /// An array of strings.
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

/// An exception an op throws: a `TypeError` or a plain `Error`, with its message.
pub enum Throw {
    Type(String),
    Error(String),
}

pub type OpResult = Result<Ret, Throw>;

fn type_err<T: Into<Ret>>(r: Result<T, String>) -> OpResult {
    r.map(Into::into).map_err(Throw::Type)
}

fn plain_err<T: Into<Ret>>(r: Result<T, String>) -> OpResult {
    r.map(Into::into).map_err(Throw::Error)
}

fn curve(name: String) -> Result<ec::Curve, String> {
    ec::Curve::parse(&name)
}

/// What every op of one isolate shares: the host it serves, its thread's CPU meter, and the origin of `ops.now()`.
pub struct OpCtx {
    pub host: Rc<IsolateState>,
    pub cpu: Rc<CpuMeter>,
    pub origin: Instant,
}

impl OpCtx {
    pub fn new(host: Rc<IsolateState>, cpu: Rc<CpuMeter>) -> Self {
        OpCtx {
            host,
            cpu,
            origin: Instant::now(),
        }
    }
}

/// One op call's arguments as an engine reads them, by position. Each engine keeps its own coercions (V8 converts
/// as JS does, QuickJS takes only values of the named type); a missing argument reads as `undefined`.
pub trait Args {
    /// A string, as a USVString: a lone surrogate reads as U+FFFD on every engine.
    fn str(&mut self, i: usize) -> Result<String, Throw>;
    /// A string, or None when the argument is absent, `undefined` or `null`.
    fn opt_str(&mut self, i: usize) -> Result<Option<String>, Throw>;
    /// A number.
    fn num(&mut self, i: usize) -> Result<f64, Throw>;
    /// A boolean (false when absent).
    fn bool(&mut self, i: usize) -> Result<bool, Throw>;
    /// The bytes of a `Uint8Array` (or, on V8, of any view or `ArrayBuffer`).
    fn bytes(&mut self, i: usize) -> Result<Vec<u8>, Throw>;
    /// Bytes, or None when the argument is absent, `undefined` or `null`.
    fn opt_bytes(&mut self, i: usize) -> Result<Option<Vec<u8>>, Throw>;
    /// A body: bytes, or a (well-formed) string taken as its UTF-8 bytes.
    fn opt_body(&mut self, i: usize) -> Result<Option<Vec<u8>>, Throw>;
    /// A flat `[name, value, name, value, ...]` array of strings as pairs.
    fn pairs(&mut self, i: usize) -> Result<Vec<(String, String)>, Throw>;

    /// A numeric id (request, op, resource, timer).
    fn id(&mut self, i: usize) -> Result<u64, Throw> {
        self.num(i).map(|n| n as u64)
    }
}

/// Pairs up a flat `[name, value, ...]` list (an odd last item is dropped).
pub fn pairs_of(flat: Vec<String>) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// One op: reads its arguments, does its work for the isolate's host.
pub type Op<A> = fn(&mut A, &OpCtx) -> OpResult;

/// Runs the op `name` for an engine. A panic inside it (a bug) becomes a plain `Error` naming the op, so that no
/// engine lets one cross into JS: V8 would abort, and rquickjs would throw an unprintable value.
pub fn call<A: Args>(name: &str, op: Op<A>, args: &mut A, cx: &OpCtx) -> OpResult {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(args, cx))).unwrap_or_else(
        |panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(Throw::Error(format!(
                "internal error in ops.{name}: {what}"
            )))
        },
    )
}

/// Declares the table: `NAMES`, the op names in row order, and `op`, a row's body for one engine's reader.
macro_rules! op_table {
    ($($name:literal => $body:expr,)*) => {
        /// Every native op the glue in `web/*.js` calls, by the name it calls it; an op's row is its index here.
        pub const NAMES: &[&str] = &[$($name),*];

        /// The op in `row` of `NAMES`, for the reader `A` (a jump on the row, then direct calls).
        pub fn op<A: Args>(row: usize) -> Option<Op<A>> {
            let mut at = 0;
            $(
                if row == at {
                    let op: Op<A> = $body;
                    return Some(op);
                }
                at += 1;
            )*
            let _ = at;
            None
        }
    };
}

op_table! {
    "log" => |c, x| {
        let (level, msg) = (c.str(0)?, c.str(1)?);
        x.host.log(&level, &msg);
        Ok(Ret::Undefined)
    },
    "cpuExpired" => |_, x| Ok(Ret::Bool(x.cpu.expired_recent())),
    "now" => |_, x| {
        Ok(Ret::Num(x.origin.elapsed().as_secs_f64() * 1000.0))
    },
    "randomBytes" => |c, _| {
        let n = c.num(0)?.max(0.0) as usize;
        Ok(ops::random_bytes(n.min(65536)).into())
    },
    "randomUUID" => |_, _| Ok(ops::random_uuid().into()),
    "digest" => |c, _| {
        let (alg, data) = (c.str(0)?, c.bytes(1)?);
        plain_err(hash::digest(&alg, &data))
    },
    "hmac" => |c, _| {
        let (alg, key, data) = (c.str(0)?, c.bytes(1)?, c.bytes(2)?);
        plain_err(hash::hmac(&alg, &key, &data))
    },
    "hmacVerify" => |c, _| {
        let (alg, key, data, sig) = (c.str(0)?, c.bytes(1)?, c.bytes(2)?, c.bytes(3)?);
        plain_err(hash::hmac_verify(&alg, &key, &data, &sig))
    },
    "pbkdf2" => |c, _| {
        let (hash, pw, salt) = (c.str(0)?, c.bytes(1)?, c.bytes(2)?);
        let (iterations, bits) = (c.num(3)? as u32, c.num(4)? as usize);
        type_err(hash::pbkdf2(&hash, &pw, &salt, iterations, bits))
    },
    "hkdf" => |c, _| {
        let (hash, ikm, salt, info) = (c.str(0)?, c.bytes(1)?, c.bytes(2)?, c.bytes(3)?);
        type_err(hash::hkdf(&hash, &ikm, &salt, &info, c.num(4)? as usize))
    },
    "aesGcm" => |c, _| {
        let (encrypt, key, iv, tag) = (c.bool(0)?, c.bytes(1)?, c.bytes(2)?, c.num(3)? as u32);
        let (data, aad) = (c.bytes(4)?, c.bytes(5)?);
        type_err(aes::gcm(encrypt, &key, &iv, tag, &data, &aad))
    },
    "aesCbc" => |c, _| {
        let encrypt = c.bool(0)?;
        let (key, iv, data) = (c.bytes(1)?, c.bytes(2)?, c.bytes(3)?);
        type_err(aes::cbc(encrypt, &key, &iv, &data))
    },
    "aesCtr" => |c, _| {
        let (key, counter, length, data) = (c.bytes(0)?, c.bytes(1)?, c.num(2)?, c.bytes(3)?);
        type_err(aes::ctr(&key, &counter, length as u32, &data))
    },
    "aesKw" => |c, _| {
        let (wrap, key, data) = (c.bool(0)?, c.bytes(1)?, c.bytes(2)?);
        type_err(aes::kw(wrap, &key, &data))
    },
    "ecGenerate" => |c, _| type_err(curve(c.str(0)?).and_then(ec::generate)),
    "ecPublic" => |c, _| {
        let (crv, d) = (curve(c.str(0)?), c.bytes(1)?);
        type_err(crv.and_then(|crv| ec::public_of(crv, &d)))
    },
    "ecCheckPublic" => |c, _| {
        let (crv, raw) = (curve(c.str(0)?), c.bytes(1)?);
        type_err(crv.and_then(|crv| ec::check_public(crv, &raw)))
    },
    "ecFromDer" => |c, _| {
        let (crv, format, der) = (curve(c.str(0)?), c.str(1)?, c.bytes(2)?);
        type_err(crv.and_then(|crv| ec::from_der(crv, &format, &der)))
    },
    "ecToDer" => |c, _| {
        let (crv, format, key) = (curve(c.str(0)?), c.str(1)?, c.bytes(2)?);
        type_err(crv.and_then(|crv| ec::to_der(crv, &format, &key)))
    },
    "ecSign" => |c, _| {
        let (crv, hash, d, data) = (curve(c.str(0)?), c.str(1)?, c.bytes(2)?, c.bytes(3)?);
        type_err(crv.and_then(|crv| ec::sign(crv, &hash, &d, &data)))
    },
    "ecVerify" => |c, _| {
        let (crv, hash) = (curve(c.str(0)?), c.str(1)?);
        let (public, sig, data) = (c.bytes(2)?, c.bytes(3)?, c.bytes(4)?);
        type_err(crv.and_then(|crv| ec::verify(crv, &hash, &public, &sig, &data)))
    },
    "ecDerive" => |c, _| {
        let (crv, d, public) = (curve(c.str(0)?), c.bytes(1)?, c.bytes(2)?);
        type_err(crv.and_then(|crv| ec::derive(crv, &d, &public)))
    },
    "rsaGenerate" => |c, _| {
        let (bits, exponent) = (c.num(0)? as usize, c.bytes(1)?);
        type_err(rsa::generate(bits, &exponent))
    },
    "rsaImport" => |c, _| {
        let (format, der) = (c.str(0)?, c.bytes(1)?);
        type_err(rsa::import(&format, &der))
    },
    "rsaFromJwk" => |c, _| type_err(rsa::from_jwk(&c.pairs(0)?)),
    "rsaPublic" => |c, _| type_err(rsa::public_of(&c.bytes(0)?)),
    "rsaInfo" => |c, _| {
        let (der, private) = (c.bytes(0)?, c.bool(1)?);
        type_err(rsa::info(&der, private))
    },
    "rsaExport" => |c, _| {
        let (format, der, private) = (c.str(0)?, c.bytes(1)?, c.bool(2)?);
        type_err(rsa::export(&format, &der, private))
    },
    "rsaJwk" => |c, _| {
        let (der, private) = (c.bytes(0)?, c.bool(1)?);
        type_err(rsa::jwk(&der, private))
    },
    "rsaSign" => |c, _| {
        let (scheme, hash, der) = (c.str(0)?, c.str(1)?, c.bytes(2)?);
        let (salt, data) = (c.num(3)? as usize, c.bytes(4)?);
        type_err(rsa::sign(&scheme, &hash, &der, salt, &data))
    },
    "rsaVerify" => |c, _| {
        let (scheme, hash, der) = (c.str(0)?, c.str(1)?, c.bytes(2)?);
        let (salt, sig, data) = (c.num(3)? as usize, c.bytes(4)?, c.bytes(5)?);
        type_err(rsa::verify(&scheme, &hash, &der, salt, &sig, &data))
    },
    "rsaOaep" => |c, _| {
        let (encrypt, hash, der) = (c.bool(0)?, c.str(1)?, c.bytes(2)?);
        let (label, data) = (c.bytes(3)?, c.bytes(4)?);
        type_err(rsa::oaep(encrypt, &hash, &der, &label, &data))
    },
    "codecNew" => |c, x| {
        let (format, compress) = (c.str(0)?, c.bool(1)?);
        type_err(x.host.codec_new(&format, compress))
    },
    "codecPush" => |c, x| {
        let (id, data, finish) = (c.id(0)?, c.bytes(1)?, c.bool(2)?);
        type_err(x.host.codec_push(id, &data, finish))
    },
    "codecFree" => |c, x| {
        x.host.codec_free(c.id(0)?);
        Ok(Ret::Undefined)
    },
    "encodeUtf8" => |c, _| Ok(c.str(0)?.into_bytes().into()),
    "decodeUtf8" => |c, _| {
        let data = c.bytes(0)?;
        if c.bool(1)? {
            match String::from_utf8(data) {
                Ok(s) => Ok(s.into()),
                Err(_) => Err(Throw::Type(
                    "The encoded data was not valid for encoding utf-8".into(),
                )),
            }
        } else {
            Ok(String::from_utf8_lossy(&data).into_owned().into())
        }
    },
    "b64encode" => |c, _| Ok(ops::base64_encode(&c.bytes(0)?).into()),
    "b64decode" => |c, _| Ok(ops::base64_decode(&c.str(0)?).into()),
    "urlParse" => |c, _| {
        let (input, base) = (c.str(0)?, c.opt_str(1)?);
        Ok(ops::url_parse(&input, base.as_deref()).into())
    },
    "urlSet" => |c, _| {
        let (href, part, value, strict) = (c.str(0)?, c.str(1)?, c.str(2)?, c.bool(3)?);
        type_err(ops::url_set(&href, &part, &value, strict))
    },
    "timerStart" => |c, x| {
        let (id, ms) = (c.id(0)?, c.num(1)?);
        x.host.timer_start(id, ms);
        Ok(Ret::Undefined)
    },
    "timerCancel" => |c, x| {
        x.host.timer_cancel(c.id(0)?);
        Ok(Ret::Undefined)
    },
    "respond" => |c, x| {
        let (req, status, headers) = (c.id(0)?, c.num(1)? as u16, c.pairs(2)?);
        let (body, streaming) = (c.opt_body(3)?, c.bool(4)?);
        type_err(x.host.respond(req, status, headers, body, streaming))
    },
    "write" => |c, x| {
        let (req, chunk) = (c.id(0)?, c.bytes(1)?);
        Ok(x.host.write(req, chunk).into())
    },
    "close" => |c, x| {
        let (req, error) = (c.id(0)?, c.opt_str(1)?);
        x.host.close(req, error);
        Ok(Ret::Undefined)
    },
    "fail" => |c, x| {
        let (req, msg) = (c.id(0)?, c.str(1)?);
        x.host.fail(req, &msg);
        Ok(Ret::Undefined)
    },
    "finish" => |c, x| {
        x.host.finish(c.id(0)?);
        Ok(Ret::Undefined)
    },
    "bodyRead" => |c, x| Ok(x.host.body_read(c.id(0)?).into()),
    "sinkWrite" => |c, x| {
        let (fetch, chunk) = (c.id(0)?, c.bytes(1)?);
        Ok(x.host.sink_write(fetch, chunk).into())
    },
    "sinkClose" => |c, x| {
        let (fetch, error) = (c.id(0)?, c.opt_str(1)?);
        x.host.sink_close(fetch, error);
        Ok(Ret::Undefined)
    },
    "bodyCancel" => |c, x| {
        x.host.body_cancel(c.id(0)?);
        Ok(Ret::Undefined)
    },
    "bindingNames" => |_, x| Ok(x.host.binding_names().into()),
    "binding" => |c, x| {
        let (name, method, args) = (c.str(0)?, c.str(1)?, c.str(2)?);
        let streaming = c.bool(3)?;
        type_err(x.host.binding(&name, &method, &args, streaming))
    },
    "cacheMatch" => |c, x| {
        let (name, url) = (c.opt_str(0)?, c.str(1)?);
        Ok(x.host.cache_api(name, url, cache_api::Call::Match).into())
    },
    "cachePut" => |c, x| {
        let (name, url, status) = (c.opt_str(0)?, c.str(1)?, c.num(2)? as u16);
        let (status_text, headers, body) = (c.str(3)?, c.pairs(4)?, c.bytes(5)?);
        let response = Cached { status, status_text, headers, body };
        Ok(x.host.cache_api(name, url, cache_api::Call::Put(response)).into())
    },
    "cacheDelete" => |c, x| {
        let (name, url) = (c.opt_str(0)?, c.str(1)?);
        Ok(x.host.cache_api(name, url, cache_api::Call::Delete).into())
    },
    "respondWebSocket" => |c, x| {
        let (req, headers) = (c.id(0)?, c.pairs(1)?);
        plain_err(x.host.respond_websocket(req, headers))
    },
    "wsSend" => |c, x| {
        let (rid, text, data) = (c.id(0)?, c.bool(1)?, c.bytes(2)?);
        plain_err(x.host.ws_send(rid, text, data))
    },
    "wsClose" => |c, x| {
        let (rid, code, reason) = (c.id(0)?, c.num(1)? as u16, c.str(2)?);
        x.host.ws_close(rid, code, reason);
        Ok(Ret::Undefined)
    },
    "wsRecv" => |c, x| plain_err(x.host.ws_recv(c.id(0)?)),
    "wsConnect" => |c, x| type_err(x.host.ws_connect(&c.str(0)?, c.pairs(1)?)),
    "fetch" => |c, x| {
        let (method, url, headers) = (c.str(0)?, c.str(1)?, c.pairs(2)?);
        let (body, streaming, redirect) = (c.opt_bytes(3)?, c.bool(4)?, c.opt_str(5)?);
        let redirect = redirect.as_deref().unwrap_or("follow");
        type_err(x.host.fetch(&method, &url, headers, body, streaming, redirect))
    },
}
