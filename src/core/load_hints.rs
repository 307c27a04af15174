//! Hints for the mistakes newcomers make most when an app does not load or throws: each names the fix, appended to
//! the engine's own message.

/// The hint for a load error, if it is one of the common mistakes.
pub fn hint(error: &str) -> Option<&'static str> {
    let has = |needle: &str| error.contains(needle);
    if has("is not among the app's files") && (has(".ts ") || has(".tsx ") || has(".mts ")) {
        return Some(
            "nano runs JavaScript: bundle TypeScript first (for example `npx esbuild src/index.ts --bundle \
             --format=esm --outfile=dist/index.js`) and point the app's entry (`main`) at the output",
        );
    }
    if has("addEventListener is not defined") || has("is the service-worker syntax") {
        return Some(
            "nano runs ES module Workers: write `export default { async fetch(request, env, ctx) { ... } }` instead \
             of the service-worker `addEventListener('fetch', ...)` syntax",
        );
    }
    if has("Intl is not defined") {
        return Some(
            "QuickJS has no `Intl`: run this app on V8 (`engine = \"v8\"` in its nano.toml), or avoid `Intl`",
        );
    }
    if has("require is not defined")
        || has("module is not defined")
        || has("exports is not defined")
    {
        return Some(
            "this is CommonJS: nano loads ES modules (`import`/`export`); bundle it with `npx esbuild <entry> \
             --bundle --format=esm`",
        );
    }
    if has("Cannot find module") || has("could not resolve") || has("not among the app's files") {
        return Some(
            "imports must name files of the app (`./lib.js`); bundle npm packages into the app with `npx esbuild \
             <entry> --bundle --format=esm`",
        );
    }
    None
}

/// `error`, with its hint on a line of its own when there is one.
pub fn with_hint(error: String) -> String {
    match hint(&error) {
        Some(h) => format!("{}\n    hint: {h}", error.trim_end()),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_mistakes_get_their_fix() {
        let ts = with_hint("entry module index.ts is not among the app's files".into());
        assert!(
            ts.contains("hint: nano runs JavaScript: bundle TypeScript"),
            "{ts}"
        );
        let sw = with_hint("ReferenceError: addEventListener is not defined".into());
        assert!(sw.contains("export default { async fetch"), "{sw}");
        let intl = with_hint("ReferenceError: Intl is not defined".into());
        assert!(intl.contains("engine = \"v8\""), "{intl}");
        let cjs = with_hint("ReferenceError: require is not defined".into());
        assert!(cjs.contains("this is CommonJS"), "{cjs}");
        let bare = with_hint("index.js: Cannot find module 'hono'".into());
        assert!(bare.contains("bundle npm packages"), "{bare}");
        assert_eq!(
            with_hint("index.js: Unexpected token ';'".into()),
            "index.js: Unexpected token ';'"
        );
    }
}
