//! The ops object QuickJS hands to the Web API glue: thin conversions onto `IsolateState` and the engine-neutral `ops`.

use crate::adapters::js::isolate_state::IsolateState;
use crate::adapters::js::ops;
use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, Function, Object, Result, TypedArray, Value};
use std::rc::Rc;
use std::time::Instant;

/// Copies a typed array's bytes out of the engine's memory (an empty vector when detached).
fn bytes(v: &TypedArray<'_, u8>) -> Vec<u8> {
    // SAFETY: the slice is copied at once; no JavaScript runs while it is borrowed.
    unsafe { v.as_bytes() }
        .map(|b| b.to_vec())
        .unwrap_or_default()
}

/// A body: a typed array's bytes, or a (well-formed) string's UTF-8 bytes; None for anything else.
fn body_bytes(v: &Value<'_>) -> Result<Option<Vec<u8>>> {
    if let Some(s) = v.as_string() {
        return Ok(Some(s.to_string()?.into_bytes()));
    }
    Ok(TypedArray::<u8>::from_value(v.clone())
        .ok()
        .map(|b| bytes(&b)))
}

fn u8array<'js>(ctx: &Ctx<'js>, v: Vec<u8>) -> Result<TypedArray<'js, u8>> {
    TypedArray::new(ctx.clone(), v)
}

fn ok_bytes<'js>(
    ctx: &Ctx<'js>,
    r: std::result::Result<Vec<u8>, String>,
) -> Result<TypedArray<'js, u8>> {
    match r {
        Ok(v) => u8array(ctx, v),
        Err(e) => Err(Exception::throw_type(ctx, &e)),
    }
}

fn pairs(flat: Vec<String>) -> Vec<(String, String)> {
    flat.chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect()
}

pub fn ops_object<'js>(ctx: &Ctx<'js>, host: Rc<IsolateState>) -> Result<Object<'js>> {
    let o = Object::new(ctx.clone())?;
    let c = ctx.clone();
    macro_rules! op {
        ($name:literal, $f:expr) => {
            o.set($name, Function::new(c.clone(), $f)?)?;
        };
    }
    let h = host.clone();
    op!("log", move |level: String, msg: String| h.log(&level, &msg));
    let origin = Instant::now();
    op!("now", move || origin.elapsed().as_secs_f64() * 1000.0);
    op!("randomBytes", |ctx: Ctx<'js>, n: usize| u8array(
        &ctx,
        ops::random_bytes(n.min(65536))
    ));
    op!("randomUUID", ops::random_uuid);
    op!("digest", |ctx: Ctx<'js>,
                   alg: String,
                   data: TypedArray<'js, u8>| {
        match ops::digest(&alg, &bytes(&data)) {
            Ok(v) => u8array(&ctx, v),
            Err(e) => Err(Exception::throw_message(&ctx, &e)),
        }
    });
    op!("hmac", |ctx: Ctx<'js>,
                 alg: String,
                 key: TypedArray<'js, u8>,
                 data: TypedArray<'js, u8>| {
        match ops::hmac(&alg, &bytes(&key), &bytes(&data)) {
            Ok(v) => u8array(&ctx, v),
            Err(e) => Err(Exception::throw_message(&ctx, &e)),
        }
    });
    op!("pbkdf2", |ctx: Ctx<'js>,
                   hash: String,
                   pw: TypedArray<'js, u8>,
                   salt: TypedArray<'js, u8>,
                   iterations: u32,
                   bits: usize| {
        match ops::pbkdf2(&hash, &bytes(&pw), &bytes(&salt), iterations, bits) {
            Ok(v) => u8array(&ctx, v),
            Err(e) => Err(Exception::throw_type(&ctx, &e)),
        }
    });
    op!("hkdf", |ctx: Ctx<'js>,
                 hash: String,
                 ikm: TypedArray<'js, u8>,
                 salt: TypedArray<'js, u8>,
                 info: TypedArray<'js, u8>,
                 bits: usize| {
        match ops::hkdf(&hash, &bytes(&ikm), &bytes(&salt), &bytes(&info), bits) {
            Ok(v) => u8array(&ctx, v),
            Err(e) => Err(Exception::throw_type(&ctx, &e)),
        }
    });
    op!("aesGcm", |ctx: Ctx<'js>,
                   encrypt: bool,
                   key: TypedArray<'js, u8>,
                   iv: TypedArray<'js, u8>,
                   data: TypedArray<'js, u8>,
                   aad: TypedArray<'js, u8>| {
        match ops::aes_gcm(
            encrypt,
            &bytes(&key),
            &bytes(&iv),
            &bytes(&data),
            &bytes(&aad),
        ) {
            Ok(v) => u8array(&ctx, v),
            Err(e) => Err(Exception::throw_type(&ctx, &e)),
        }
    });
    op!("ecGenerate", |ctx: Ctx<'js>, alg: String| ok_bytes(
        &ctx,
        ops::ec::generate(&alg)
    ));
    op!("ecPublic", |ctx: Ctx<'js>,
                     alg: String,
                     d: TypedArray<'js, u8>| {
        ok_bytes(&ctx, ops::ec::public_of(&alg, &bytes(&d)))
    });
    op!(
        "ecCheckPublic",
        |ctx: Ctx<'js>, alg: String, raw: TypedArray<'js, u8>| ok_bytes(
            &ctx,
            ops::ec::check_public(&alg, &bytes(&raw))
        )
    );
    op!(
        "ecFromDer",
        |ctx: Ctx<'js>, alg: String, format: String, der: TypedArray<'js, u8>| ok_bytes(
            &ctx,
            ops::ec::from_der(&alg, &format, &bytes(&der))
        )
    );
    op!("ecToDer", |ctx: Ctx<'js>,
                    alg: String,
                    format: String,
                    key: TypedArray<'js, u8>| {
        ok_bytes(&ctx, ops::ec::to_der(&alg, &format, &bytes(&key)))
    });
    op!("ecSign", |ctx: Ctx<'js>,
                   alg: String,
                   hash: String,
                   d: TypedArray<'js, u8>,
                   data: TypedArray<'js, u8>| {
        ok_bytes(&ctx, ops::ec::sign(&alg, &hash, &bytes(&d), &bytes(&data)))
    });
    op!("ecVerify", |ctx: Ctx<'js>,
                     alg: String,
                     hash: String,
                     public: TypedArray<'js, u8>,
                     sig: TypedArray<'js, u8>,
                     data: TypedArray<'js, u8>| {
        ops::ec::verify(&alg, &hash, &bytes(&public), &bytes(&sig), &bytes(&data))
            .map_err(|e| Exception::throw_type(&ctx, &e))
    });
    let h = host.clone();
    op!("codecNew", move |ctx: Ctx<'js>,
                          format: String,
                          compress: bool| {
        h.codec_new(&format, compress)
            .map(|id| id as f64)
            .map_err(|e| Exception::throw_type(&ctx, &e))
    });
    let h = host.clone();
    op!("codecPush", move |ctx: Ctx<'js>,
                           id: f64,
                           data: TypedArray<'js, u8>,
                           finish: bool| {
        match h.codec_push(id as u64, &bytes(&data), finish) {
            Ok(v) => u8array(&ctx, v),
            Err(e) => Err(Exception::throw_type(&ctx, &e)),
        }
    });
    let h = host.clone();
    op!("codecFree", move |id: f64| h.codec_free(id as u64));
    op!("encodeUtf8", |ctx: Ctx<'js>, s: String| u8array(
        &ctx,
        s.into_bytes()
    ));
    op!("decodeUtf8", |ctx: Ctx<'js>,
                       data: TypedArray<'js, u8>,
                       fatal: Opt<bool>| {
        let b = &bytes(&data);
        if fatal.0.unwrap_or(false) {
            match std::str::from_utf8(b) {
                Ok(s) => Ok(s.to_string()),
                Err(_) => Err(Exception::throw_type(
                    &ctx,
                    "The encoded data was not valid for encoding utf-8",
                )),
            }
        } else {
            Ok(String::from_utf8_lossy(b).into_owned())
        }
    });
    op!("b64encode", |data: TypedArray<'js, u8>| ops::base64_encode(
        &bytes(&data)
    ));
    op!("b64decode", |ctx: Ctx<'js>, s: String| {
        match ops::base64_decode(&s) {
            Some(v) => u8array(&ctx, v).map(|a| a.into_value()),
            None => Ok(Value::new_null(ctx)),
        }
    });
    op!("urlParse", |input: String, base: Opt<String>| {
        ops::url_parse(&input, base.0.as_deref())
    });
    op!("urlSet", |href: String, part: String, value: String| {
        ops::url_set(&href, &part, &value)
    });
    let h = host.clone();
    op!("timerStart", move |id: f64, ms: f64| h
        .timer_start(id as u64, ms));
    let h = host.clone();
    op!("timerCancel", move |id: f64| h.timer_cancel(id as u64));
    let h = host.clone();
    op!("respond", move |ctx: Ctx<'js>,
                         req: f64,
                         status: u16,
                         headers: Vec<String>,
                         body: Value<'js>,
                         streaming: bool| {
        h.respond(
            req as u64,
            status,
            pairs(headers),
            body_bytes(&body)?,
            streaming,
        )
        .map_err(|e| Exception::throw_type(&ctx, &e))
    });
    let h = host.clone();
    op!("write", move |req: f64, chunk: TypedArray<'js, u8>| {
        h.write(req as u64, bytes(&chunk)) as f64
    });
    let h = host.clone();
    op!("close", move |req: f64, error: Opt<String>| h
        .close(req as u64, error.0));
    let h = host.clone();
    op!("fail", move |req: f64, msg: String| h
        .fail(req as u64, &msg));
    let h = host.clone();
    op!("finish", move |req: f64| h.finish(req as u64));
    let h = host.clone();
    op!("bodyRead", move |rid: f64| h.body_read(rid as u64) as f64);
    let h = host.clone();
    op!(
        "sinkWrite",
        move |fetch: f64, chunk: TypedArray<'js, u8>| {
            h.sink_write(fetch as u64, bytes(&chunk)) as f64
        }
    );
    let h = host.clone();
    op!("sinkClose", move |fetch: f64, error: Opt<String>| h
        .sink_close(fetch as u64, error.0));
    let h = host.clone();
    op!("bodyCancel", move |rid: f64| h.body_cancel(rid as u64));
    let h = host.clone();
    op!("bindingNames", move || h.binding_names());
    let h = host.clone();
    op!("binding", move |ctx: Ctx<'js>,
                         name: String,
                         method: String,
                         args: String,
                         streaming: Opt<bool>| {
        h.binding(&name, &method, &args, streaming.0.unwrap_or(false))
            .map(|op| op as f64)
            .map_err(|e| Exception::throw_type(&ctx, &e))
    });
    let h = host;
    op!("fetch", move |ctx: Ctx<'js>,
                       method: String,
                       url: String,
                       headers: Vec<String>,
                       body: Option<TypedArray<'js, u8>>,
                       streaming: Opt<bool>,
                       redirect: Opt<String>| {
        h.fetch(
            &method,
            &url,
            pairs(headers),
            body.map(|b| bytes(&b)),
            streaming.0.unwrap_or(false),
            redirect.0.as_deref().unwrap_or("follow"),
        )
        .map(|op| op as f64)
        .map_err(|e| Exception::throw_type(&ctx, &e))
    });
    Ok(o)
}
