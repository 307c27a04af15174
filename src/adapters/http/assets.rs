//! An app's static assets served before its code: GET and HEAD go to the app assets port, whose response is
//! bridged to a hyper body.

use super::body::Body;
use crate::ports::AppAssets;
use http::{Request, Response};

/// The answer for a GET or HEAD that names an asset; `None` when no file matches (the app's code runs then).
pub async fn serve<B>(
    assets: &dyn AppAssets,
    host: &str,
    req: &Request<B>,
) -> Option<Response<Body>> {
    let res = assets
        .serve(req.method(), req.uri().path(), host, req.headers())
        .await?;
    Some(super::apps::to_hyper(res).await)
}
