//! `nano new`: scaffolds an app folder from one of the templates under `templates/` (embedded in the binary): a
//! TypeScript app with a `package.json` whose `npm run build` bundles `src/index.ts` with esbuild into the entry
//! `nano.toml` names, then installs its packages with npm. `{{name}}` in a template stands for the app's name.

use crate::core::{AppName, Hostname};
use std::path::{Path, PathBuf};

/// The templates, each as its files: path in the app folder, then text.
pub const TEMPLATES: [(&str, &[(&str, &str)]); 3] = [
    (
        "hono",
        &[
            (
                "package.json",
                include_str!("../../templates/hono/package.json"),
            ),
            ("nano.toml", include_str!("../../templates/hono/nano.toml")),
            (
                "tsconfig.json",
                include_str!("../../templates/hono/tsconfig.json"),
            ),
            (
                "src/index.ts",
                include_str!("../../templates/hono/src/index.ts"),
            ),
            (".gitignore", include_str!("../../templates/hono/gitignore")),
        ],
    ),
    (
        "plain",
        &[
            (
                "package.json",
                include_str!("../../templates/plain/package.json"),
            ),
            ("nano.toml", include_str!("../../templates/plain/nano.toml")),
            (
                "tsconfig.json",
                include_str!("../../templates/plain/tsconfig.json"),
            ),
            (
                "src/index.ts",
                include_str!("../../templates/plain/src/index.ts"),
            ),
            (
                ".gitignore",
                include_str!("../../templates/plain/gitignore"),
            ),
        ],
    ),
    (
        "wrangler",
        &[
            (
                "package.json",
                include_str!("../../templates/wrangler/package.json"),
            ),
            (
                "wrangler.toml",
                include_str!("../../templates/wrangler/wrangler.toml"),
            ),
            (
                "nano.toml",
                include_str!("../../templates/wrangler/nano.toml"),
            ),
            (
                "tsconfig.json",
                include_str!("../../templates/wrangler/tsconfig.json"),
            ),
            (
                "src/index.ts",
                include_str!("../../templates/wrangler/src/index.ts"),
            ),
            (
                ".gitignore",
                include_str!("../../templates/wrangler/gitignore"),
            ),
        ],
    ),
];

/// Writes the app folder `<apps_dir>/<name>` from `template`; returns the folder. Refuses a name that is not a valid
/// app name (or whose `<name>.localhost` is no hostname), an unknown template and a folder that already exists.
pub fn scaffold(apps_dir: &Path, name: &str, template: &str) -> Result<PathBuf, String> {
    AppName::parse(name).map_err(|e| format!("{e}: the name is the app's folder and hostname"))?;
    Hostname::parse(&format!("{name}.localhost")).map_err(|e| {
        format!("{e}: the app answers at <name>.localhost, so the name must be a hostname label (no `_`)")
    })?;
    let files = TEMPLATES
        .iter()
        .find(|(t, _)| *t == template)
        .map(|(_, files)| *files)
        .ok_or_else(|| {
            let names: Vec<&str> = TEMPLATES.iter().map(|(t, _)| *t).collect();
            format!(
                "unknown template {template}: choose one of {}",
                names.join(", ")
            )
        })?;
    let folder = apps_dir.join(name);
    if folder.exists() {
        return Err(format!(
            "{} already exists: choose another name, or remove the folder first",
            folder.display()
        ));
    }
    for (path, text) in files {
        let path = folder.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text.replace("{{name}}", name))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(folder)
}

/// Runs `npm install` in `folder`, its output going to this terminal. `Err` says what failed and what to do.
pub fn npm_install(folder: &Path) -> Result<(), String> {
    let status = std::process::Command::new("npm")
        .arg("install")
        .current_dir(folder)
        .status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!(
            "`npm install` failed ({s}) in {}: fix what npm printed above, then run `npm install` there again",
            folder.display()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "npm was not found: install Node.js (https://nodejs.org), then run `npm install` in {}",
            folder.display()
        )),
        Err(e) => Err(format!("cannot run npm in {}: {e}", folder.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaffolds_each_template_once_and_refuses_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        for (template, files) in TEMPLATES {
            let name = format!("app-{template}");
            let folder = scaffold(dir.path(), &name, template).unwrap();
            for (path, _) in files {
                let text = std::fs::read_to_string(folder.join(path)).unwrap();
                assert!(!text.contains("{{"), "{template}/{path}: {text}");
            }
            let again = scaffold(dir.path(), &name, template).unwrap_err();
            assert!(again.contains("already exists"), "{again}");
        }
        let bad = scaffold(dir.path(), "My App", "hono").unwrap_err();
        assert!(bad.contains("must match"), "{bad}");
        let underscore = scaffold(dir.path(), "my_app", "hono").unwrap_err();
        assert!(underscore.contains("no `_`"), "{underscore}");
        let unknown = scaffold(dir.path(), "ok", "react").unwrap_err();
        assert!(
            unknown.contains("choose one of hono, plain, wrangler"),
            "{unknown}"
        );
    }
}
