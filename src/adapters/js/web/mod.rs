//! The Web API glue, written once in JS for every engine; it reaches the host only through the `ops` object.
//!
//! The files, concatenated in this order: `core.js`, `events.js`, `encoding.js`, `url.js`, `urlpattern.js` (URLPattern:
//! tokenizer, pattern and constructor-string parsers, per-component regexps), `streams.js`, `compression.js`,
//! `blob.js`, `fetch.js`, `cache.js` (the Cache API), `websocket.js` (`WebSocketPair`, server-side WebSockets),
//! `crypto.js` (Crypto, CryptoKey and SubtleCrypto's argument checks), `crypto_algs.js` (one entry per WebCrypto
//! algorithm), `cloudflare.js` (KV, R2, Queues and service bindings), `bindings.js` (the `env.*` bindings over the one
//! `binding` op), `host.js`, and `guard.js` (long builtins under the CPU limit; last, so the glue's own evaluation
//! never meets it).
//! `host.js` holds the entry points and runs the `fetch`, `queue` and `scheduled` handlers; an event is answered with a
//! JSON report (per-message outcomes, the handler's error).

/// The glue as one ES module whose default export is `function(ops) -> host`, `host` being
/// `{ init, dispatch, complete, timer, abort }`. Engines may compile it once and reuse the bytecode.
pub fn glue() -> &'static str {
    concat!(
        "export default function (ops) {\n",
        include_str!("core.js"),
        include_str!("events.js"),
        include_str!("encoding.js"),
        include_str!("url.js"),
        include_str!("urlpattern.js"),
        include_str!("streams.js"),
        include_str!("compression.js"),
        include_str!("blob.js"),
        include_str!("fetch.js"),
        include_str!("cache.js"),
        include_str!("websocket.js"),
        include_str!("crypto.js"),
        include_str!("crypto_algs.js"),
        include_str!("cloudflare.js"),
        include_str!("bindings.js"),
        include_str!("host.js"),
        include_str!("guard.js"),
        "\nreturn host;\n}\n"
    )
}
