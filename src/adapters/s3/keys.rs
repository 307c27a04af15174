//! Where things live in the S3 bucket: `<prefix>/<tenant>/<bucket>` is a bucket's marker object and
//! `<prefix>/<tenant>/<bucket>/<object>` its objects, so a tenant's keys share one prefix and a bucket's objects
//! another; `<prefix>/.nano/signing-key` is the signed-URL key every node shares. Each segment is percent-encoded
//! by `object_store`, and decoded back when listed.

use crate::core::{DomainName, TenantScope};
use crate::ports::storage::ObjectKey;
use object_store::path::{Path, PathPart};
use percent_encoding::percent_decode_str;

/// The configured key prefix, split into segments.
#[derive(Debug, Clone)]
pub struct Layout {
    prefix: Vec<String>,
}

impl Layout {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    fn path<'a>(&'a self, rest: impl IntoIterator<Item = &'a str>) -> Path {
        Path::from_iter(
            self.prefix
                .iter()
                .map(String::as_str)
                .chain(rest)
                .map(PathPart::from),
        )
    }

    /// Every key of the tenant: its bucket markers and objects.
    pub fn tenant(&self, scope: &TenantScope) -> Path {
        self.path([scope.as_str()])
    }

    /// The bucket's marker object, and the prefix of its objects.
    pub fn bucket(&self, scope: &TenantScope, bucket: &DomainName) -> Path {
        self.path([scope.as_str(), bucket.as_str()])
    }

    pub fn object(&self, scope: &TenantScope, bucket: &DomainName, object: &ObjectKey) -> Path {
        self.path(
            [scope.as_str(), bucket.as_str()]
                .into_iter()
                .chain(object.segments()),
        )
    }

    /// The object at `segments` below the bucket (a parent folder of an object, for clash checks).
    pub fn object_at(&self, scope: &TenantScope, bucket: &DomainName, segments: &[&str]) -> Path {
        self.path(
            [scope.as_str(), bucket.as_str()]
                .into_iter()
                .chain(segments.iter().copied()),
        )
    }

    pub fn signing_key(&self) -> Path {
        self.path([".nano", "signing-key"])
    }
}

/// The name, relative to `dir` and decoded, of a key listed under it (`None` for a key outside it).
pub fn name_below(dir: &Path, location: &Path) -> Option<String> {
    let parts: Vec<String> = location
        .prefix_match(dir)?
        .map(|p| {
            percent_decode_str(p.as_ref())
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::TenantId;

    #[test]
    fn keys_are_namespaced_and_round_trip() {
        let layout = Layout::new("/nano/test/");
        let scope = TenantScope::resolved(TenantId::parse("acme").unwrap());
        let bucket = DomainName::parse("photos").unwrap();
        let object = ObjectKey::parse("a b/#1%.png").unwrap();
        let path = layout.object(&scope, &bucket, &object);
        assert_eq!(path.as_ref(), "nano/test/acme/photos/a b/%231%25.png");
        let dir = layout.bucket(&scope, &bucket);
        assert_eq!(dir.as_ref(), "nano/test/acme/photos");
        assert_eq!(name_below(&dir, &path).as_deref(), Some("a b/#1%.png"));
        assert_eq!(name_below(&dir, &dir), None);
        assert_eq!(Layout::new("").tenant(&scope).as_ref(), "acme");
    }
}
