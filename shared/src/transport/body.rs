//! Incoming bodies: multipart, url-encoded or a JSON object, strictly decoded.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::app::incoming::ErrorKind;
use crate::domain::incoming::Payload;

/// Parses a body by its content type. An empty body without a content type is an empty payload
/// (so the caller answers "missing email").
pub async fn parse(
    content_type: Option<&str>,
    body: &[u8],
    max_bytes: usize,
) -> Result<Payload, ErrorKind> {
    if body.len() > max_bytes {
        return Err(ErrorKind::TooLarge(format!(
            "The body is larger than {max_bytes} bytes."
        )));
    }
    let ct = content_type.map(str::trim).filter(|c| !c.is_empty());
    let Some(ct) = ct else {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Payload::default());
        }
        return Err(unsupported());
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "multipart/form-data" => multipart(ct, body, max_bytes).await,
        "application/x-www-form-urlencoded" => urlencoded(body),
        "application/json" => json(body),
        m if m.ends_with("+json") => json(body),
        _ => Err(unsupported()),
    }
}

fn unsupported() -> ErrorKind {
    ErrorKind::UnsupportedType(
        "Send multipart/form-data, application/x-www-form-urlencoded or application/json.".into(),
    )
}

fn malformed(what: &str) -> ErrorKind {
    ErrorKind::Malformed(what.to_string())
}

async fn multipart(ct: &str, body: &[u8], max_bytes: usize) -> Result<Payload, ErrorKind> {
    let boundary =
        multer::parse_boundary(ct).map_err(|_| malformed("multipart body without a boundary"))?;
    let data = bytes::Bytes::copy_from_slice(body);
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(data) });
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(max_bytes as u64)
            .per_field(64 * 1024),
    );
    let mut mp = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut fields = BTreeMap::new();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return Err(malformed("truncated or malformed multipart body")),
        };
        let name = field.name().map(str::to_string);
        let is_file = field.file_name().is_some();
        let bytes = field
            .bytes()
            .await
            .map_err(|_| malformed("truncated or malformed multipart body"))?;
        let (Some(name), false) = (name, is_file) else {
            continue;
        };
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| malformed("a form field is not valid UTF-8"))?;
        fields.entry(name).or_insert(text);
    }
    Ok(Payload { fields })
}

fn urlencoded(body: &[u8]) -> Result<Payload, ErrorKind> {
    let mut fields = BTreeMap::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut it = pair.splitn(2, |b| *b == b'=');
        let name = decode_component(it.next().unwrap_or_default())?;
        let value = decode_component(it.next().unwrap_or_default())?;
        fields.entry(name).or_insert(value);
    }
    Ok(Payload { fields })
}

/// Strict form decoding: `+` is a space, every `%` is followed by two hex digits, and the
/// result is valid UTF-8.
fn decode_component(raw: &[u8]) -> Result<String, ErrorKind> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let mut i = 0;
    while i < spaced.len() {
        if spaced[i] == b'%' {
            let ok = spaced.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && spaced.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return Err(malformed("bad percent-encoding in a form body"));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_encoding::percent_decode(&spaced)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| malformed("a form field is not valid UTF-8"))
}

fn json(body: &[u8]) -> Result<Payload, ErrorKind> {
    let text =
        std::str::from_utf8(body).map_err(|_| malformed("the JSON body is not valid UTF-8"))?;
    if text.trim().is_empty() {
        return Ok(Payload::default());
    }
    let value: Value =
        serde_json::from_str(text).map_err(|_| malformed("the body is not valid JSON"))?;
    let Value::Object(map) = value else {
        return Err(malformed("the JSON body must be an object"));
    };
    let fields = map
        .into_iter()
        .filter_map(|(k, v)| {
            let s = match v {
                Value::Null => return None,
                Value::String(s) => s,
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                other => other.to_string(),
            };
            Some((k, s))
        })
        .collect();
    Ok(Payload { fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn forms() {
        let p = run(parse(
            Some("application/x-www-form-urlencoded"),
            b"email=a%40b.co&first_name=J+D&x",
            100,
        ))
        .unwrap();
        assert_eq!(p.get("email"), Some("a@b.co"));
        assert_eq!(p.get("first_name"), Some("J D"));
        for bad in [&b"email=%zz"[..], b"email=%4", b"email=%ff"] {
            assert!(matches!(
                run(parse(Some("application/x-www-form-urlencoded"), bad, 100)),
                Err(ErrorKind::Malformed(_))
            ));
        }
    }

    #[test]
    fn json_bodies() {
        let p = run(parse(
            Some("application/json; charset=utf-8"),
            br#"{"email":"a@b.co","n":5,"x":null}"#,
            100,
        ))
        .unwrap();
        assert_eq!(p.get("n"), Some("5"));
        assert_eq!(p.get("x"), None);
        for bad in [&b"[1]"[..], b"{", b"\"s\"", b"\xff"] {
            assert!(matches!(
                run(parse(Some("application/json"), bad, 100)),
                Err(ErrorKind::Malformed(_))
            ));
        }
    }

    #[test]
    fn types_and_sizes() {
        assert!(run(parse(None, b"", 10)).unwrap().fields.is_empty());
        assert!(matches!(
            run(parse(None, b"x", 10)),
            Err(ErrorKind::UnsupportedType(_))
        ));
        assert!(matches!(
            run(parse(Some("text/plain"), b"x", 10)),
            Err(ErrorKind::UnsupportedType(_))
        ));
        assert!(matches!(
            run(parse(Some("application/json"), b"{}{}{}{}{}{}", 10)),
            Err(ErrorKind::TooLarge(_))
        ));
    }

    #[test]
    fn multipart_bodies() {
        let body = b"--X\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nu@example.com\r\n--X--\r\n";
        let p = run(parse(Some("multipart/form-data; boundary=X"), body, 1000)).unwrap();
        assert_eq!(p.get("email"), Some("u@example.com"));
        let truncated = &body[..body.len() - 12];
        assert!(matches!(
            run(parse(
                Some("multipart/form-data; boundary=X"),
                truncated,
                1000
            )),
            Err(ErrorKind::Malformed(_))
        ));
        assert!(matches!(
            run(parse(Some("multipart/form-data"), body, 1000)),
            Err(ErrorKind::Malformed(_))
        ));
    }
}
