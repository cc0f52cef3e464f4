//! `GET /admin/ui`: the operators' web UI, embedded in the binary (no CDN, strict CSP).
//!
//! The page and its assets live in `shared/ui/` and are compiled in with `include_bytes!`;
//! they are served at `/admin/ui` and `/admin/ui/{file}` without credentials: they hold no
//! data, and a credential challenge here would make the browser prompt and then cache an
//! ambient credential. The page signs in with its own form and talks only to the JSON admin
//! API (`fetch` with an `Authorization` header on every call).

use std::sync::Arc;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::App;
use crate::error::Error;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// One embedded file.
pub(crate) struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    pub etag: &'static str,
}

macro_rules! asset {
    ($name:literal, $ct:literal) => {{
        const BODY: &[u8] = include_bytes!(concat!("../../../ui/", $name));
        const HASH: [u8; 18] = etag_of(BODY);
        Asset {
            name: $name,
            content_type: $ct,
            body: BODY,
            // A `"` + 16 hex digits + `"` string computed at compile time.
            etag: match std::str::from_utf8(&HASH) {
                Ok(s) => s,
                Err(_) => panic!("etag is ASCII"),
            },
        }
    }};
}

/// `"<fnv1a-64 hex>"`: a strong validator that changes with the file.
const fn etag_of(bytes: &[u8]) -> [u8; 18] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    let hex = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut j = 0;
    while j < 16 {
        out[1 + j] = hex[((h >> (60 - 4 * j)) & 0xf) as usize];
        j += 1;
    }
    out
}

const INDEX: Asset = asset!("index.html", "text/html; charset=utf-8");

/// Everything under `/admin/ui/`.
pub(crate) const ASSETS: &[Asset] = &[
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("lib.js", "text/javascript; charset=utf-8"),
    asset!("incoming.js", "text/javascript; charset=utf-8"),
    asset!("outgoing.js", "text/javascript; charset=utf-8"),
    asset!("formats.js", "text/javascript; charset=utf-8"),
    asset!("catalog.js", "text/javascript; charset=utf-8"),
    asset!("members.js", "text/javascript; charset=utf-8"),
    asset!("access.js", "text/javascript; charset=utf-8"),
    asset!("sources.js", "text/javascript; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
];

/// The page, the page with a trailing slash (redirected), and its assets.
pub const PATHS: [&str; 3] = ["/admin/ui", "/admin/ui/", "/admin/ui/{file}"];

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(PATHS[0], get(index))
        // Relative asset URLs need the page without a trailing slash.
        .route(PATHS[1], get(|| async { redirect_to_index() }))
        .route(PATHS[2], get(file))
}

async fn index(headers: HeaderMap) -> Response {
    serve(&INDEX, &headers)
}

async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match find(&name) {
        Some(asset) => serve(asset, &headers),
        None => Error::NotFound("No route was found matching the URL and request method.".into())
            .into_response(),
    }
}

pub(crate) fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

fn redirect_to_index() -> Response {
    let mut resp = StatusCode::PERMANENT_REDIRECT.into_response();
    resp.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("../ui"));
    secure(&mut resp);
    resp
}

/// The security headers of every UI response.
fn secure(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
}

pub(crate) fn serve(asset: &Asset, req: &HeaderMap) -> Response {
    let fresh = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    // Revalidate every time (cheap with the ETag), and keep the page out of shared caches.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    secure(&mut resp);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(a: &Asset) -> &'static str {
        std::str::from_utf8(a.body).expect("UI assets are UTF-8")
    }

    fn all() -> impl Iterator<Item = &'static Asset> {
        std::iter::once(&INDEX).chain(ASSETS.iter())
    }

    #[test]
    fn index_references_only_embedded_assets() {
        let html = text(&INDEX);
        let mut refs = 0;
        for attr in ["src=\"", "href=\""] {
            for part in html.split(attr).skip(1) {
                let target = part.split('"').next().unwrap();
                if target.starts_with('#') {
                    continue;
                }
                let name = target
                    .strip_prefix("ui/")
                    .unwrap_or_else(|| panic!("{target} is not an embedded asset"));
                assert!(find(name).is_some(), "{name} is not embedded");
                refs += 1;
            }
        }
        assert!(refs >= 3);
        // Every ES module import names an embedded file.
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            for part in text(a).split(" from './").skip(1) {
                let name = part.split('\'').next().unwrap();
                assert!(find(name).is_some(), "{} imports missing {name}", a.name);
            }
        }
    }

    /// ` onclick=`-style attributes.
    fn has_inline_handler(html: &str) -> bool {
        html.match_indices(" on").any(|(i, _)| {
            let rest = &html[i + 3..];
            let name_len = rest.chars().take_while(char::is_ascii_lowercase).count();
            name_len > 0 && rest[name_len..].starts_with('=')
        })
    }

    #[test]
    fn nothing_inline_external_or_html_parsing() {
        let html = text(&INDEX);
        assert!(!html.contains("<script>"), "inline script");
        assert!(!html.contains("<style"), "inline style element");
        assert!(!html.contains(" style="), "inline style attribute");
        assert!(!has_inline_handler(html), "inline event handler");
        for a in all() {
            // The SVG namespace is a name, not a URL that is fetched.
            let t = text(a).replace("http://www.w3.org/2000/svg", "");
            if !a.name.ends_with(".js") {
                for bad in ["http://", "https://", "//", "@import", "url("] {
                    assert!(!t.contains(bad), "{} contains {bad}", a.name);
                }
            } else {
                // Scripts load only sibling modules and call only the admin API (and, for a
                // provider sample, an incoming webhook URL of the same origin: `postToWebhook`).
                assert!(!t.contains("import("), "{} imports dynamically", a.name);
                assert_eq!(
                    t.matches("fetch(").count(),
                    t.matches("fetch(API_BASE + path").count()
                        + t.matches("fetch(target.href").count(),
                    "{} fetches something else than the API",
                    a.name
                );
                assert!(!t.contains("XMLHttpRequest") && !t.contains("WebSocket"));
                for bad in [
                    ".innerHTML",
                    ".outerHTML",
                    "insertAdjacentHTML",
                    "document.write",
                    "eval(",
                    "new Function",
                    ".style =",
                    "setAttribute('style'",
                ] {
                    assert!(!t.contains(bad), "{} uses {bad}", a.name);
                }
            }
        }
    }

    #[test]
    fn headers_and_revalidation() {
        let resp = serve(find("app.js").unwrap(), &HeaderMap::new());
        assert_eq!(resp.status(), StatusCode::OK);
        let h = resp.headers();
        assert_eq!(h[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("default-src 'none'"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let etag = h[header::ETAG].clone();
        assert_eq!(etag.len(), 18);

        let mut req = HeaderMap::new();
        req.insert(header::IF_NONE_MATCH, etag);
        let again = serve(find("app.js").unwrap(), &req);
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

        assert_eq!(
            serve(&INDEX, &HeaderMap::new()).headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(
            serve(find("app.css").unwrap(), &HeaderMap::new()).headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        assert!(find("../Cargo.toml").is_none());
        assert!(find("index.html").is_none());
    }

    #[test]
    fn etags_differ_per_file() {
        let mut tags: Vec<&str> = all().map(|a| a.etag).collect();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len() + 1);
    }
}
