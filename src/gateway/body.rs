//! Reading a client's request body: the size limit
//! (`CODEXMANAGER_FRONT_PROXY_MAX_BODY_BYTES`, 413 beyond it), `gzip`/`deflate`/`zstd`
//! request encodings (Codex CLI compresses its bodies), and JSON with a precise error.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use serde_json::{Map, Value};

use super::errors::GatewayError;
use super::protocol::fields::{Fields, RawObject};

fn too_large(limit: usize) -> GatewayError {
    GatewayError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_too_large",
        format!("the request body is larger than {limit} bytes (CODEXMANAGER_FRONT_PROXY_MAX_BODY_BYTES)"),
    )
}

/// A body the gateway can read a request into: a `serde_json` tree, or a [`RawObject`]
/// whose values stay bytes.
pub trait ObjectBody: Fields + Sized {
    fn parse(bytes: &[u8]) -> Result<Self, GatewayError>;
}

impl ObjectBody for Map<String, Value> {
    fn parse(bytes: &[u8]) -> Result<Self, GatewayError> {
        parse_object(bytes)
    }
}

impl ObjectBody for RawObject {
    fn parse(bytes: &[u8]) -> Result<Self, GatewayError> {
        if !bytes.trim_ascii_start().starts_with(b"{") && serde_json::from_slice::<Value>(bytes).is_ok() {
            return Err(not_an_object());
        }
        RawObject::parse(bytes)
            .map_err(|err| GatewayError::bad_request(None, format!("the request body is not valid JSON: {err}")))
    }
}

/// Reads, decodes and parses a JSON object body.
pub async fn read_object<B: ObjectBody>(body: Body, headers: &HeaderMap, limit: usize) -> Result<B, GatewayError> {
    let raw = crate::server::read_body(body, limit).await.map_err(|_| too_large(limit))?;
    let decoded = decode(raw, headers, limit)?;
    B::parse(&decoded)
}

fn not_an_object() -> GatewayError {
    GatewayError::bad_request(None, "the request body must be a JSON object")
}

/// Undoes the `Content-Encoding` of a request body, never expanding past `limit`.
pub fn decode(raw: Bytes, headers: &HeaderMap, limit: usize) -> Result<Bytes, GatewayError> {
    let encoding =
        headers.get("content-encoding").and_then(|v| v.to_str().ok()).unwrap_or("").trim().to_ascii_lowercase();
    let reader: Box<dyn Read> = match encoding.as_str() {
        "" | "identity" => return Ok(raw),
        "gzip" | "x-gzip" => Box::new(flate2::read::GzDecoder::new(&raw[..])),
        "deflate" => Box::new(flate2::read::ZlibDecoder::new(&raw[..])),
        "zstd" => Box::new(
            ruzstd::decoding::StreamingDecoder::new(&raw[..])
                .map_err(|e| GatewayError::bad_request(None, format!("the request body is not valid zstd: {e}")))?,
        ),
        other => {
            return Err(GatewayError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_encoding",
                format!("Content-Encoding {other:?} is not supported (use gzip, deflate, zstd or none)"),
            ));
        }
    };
    let mut decoded = Vec::with_capacity(raw.len() * 4);
    reader.take(limit as u64 + 1).read_to_end(&mut decoded).map_err(|e| {
        GatewayError::bad_request(None, format!("the request body could not be decoded as {encoding}: {e}"))
    })?;
    if decoded.len() > limit {
        return Err(too_large(limit));
    }
    Ok(Bytes::from(decoded))
}

fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(not_an_object()),
        Err(err) => Err(GatewayError::bad_request(None, format!("the request body is not valid JSON: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn headers(encoding: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("content-encoding", encoding.parse().unwrap());
        headers
    }

    #[test]
    fn gzip_bodies_are_decoded_and_bombs_are_refused() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(br#"{"model":"m"}"#).unwrap();
        let gz = Bytes::from(encoder.finish().unwrap());
        let decoded = decode(gz, &headers("gzip"), 1024).unwrap();
        assert_eq!(parse_object(&decoded).unwrap()["model"], "m");

        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![b' '; 1 << 20]).unwrap();
        let bomb = Bytes::from(encoder.finish().unwrap());
        let err = decode(bomb, &headers("gzip"), 4096).unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn malformed_json_names_the_problem() {
        let err = parse_object(b"{\"model\": ").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("not valid JSON"), "{}", err.message);
        assert!(parse_object(b"[1]").unwrap_err().message.contains("JSON object"));
    }
}
