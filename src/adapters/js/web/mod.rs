//! The Web API glue, written once in JS for every engine; it reaches the host only through the `ops` object.

/// The glue as one script evaluating to `function(ops) -> host`, `host` being `{ init, dispatch, complete, timer }`.
pub fn glue() -> &'static str {
    concat!(
        "(function (ops) {\n'use strict';\n",
        include_str!("core.js"),
        include_str!("events.js"),
        include_str!("encoding.js"),
        include_str!("url.js"),
        include_str!("streams.js"),
        include_str!("blob.js"),
        include_str!("fetch.js"),
        include_str!("crypto.js"),
        include_str!("host.js"),
        "\nreturn host;\n})"
    )
}
