//! A request body as the gateway edits it: a few top-level fields read and changed, the rest
//! left alone. [`Fields`] is what the pass-through steps need (`responses::normalize_request`,
//! model binding, the session, a key's policy); a `serde_json` object implements it for the
//! translated routes, and [`RawObject`] for `/v1/responses`, where the body is not turned into
//! a tree: each top-level value stays the exact bytes the client sent, and the outgoing body
//! is those bytes spliced back together. A late Codex turn is hundreds of KiB of history
//! that the gateway never needs to look inside.

use std::collections::BTreeMap;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Top-level fields of a JSON object body.
pub trait Fields {
    /// The field's value when it is a string.
    fn text(&self, key: &str) -> Option<String>;
    /// The field's value, parsed (for small fields: `reasoning`, `include`, …).
    fn value(&self, key: &str) -> Option<Value>;
    fn contains(&self, key: &str) -> bool;
    fn set(&mut self, key: &str, value: Value);
    fn remove(&mut self, key: &str);
    /// The body as JSON bytes.
    fn to_bytes(&self) -> Vec<u8>;
}

impl Fields for Map<String, Value> {
    fn text(&self, key: &str) -> Option<String> {
        self.get(key).and_then(Value::as_str).map(str::to_string)
    }

    fn value(&self, key: &str) -> Option<Value> {
        self.get(key).cloned()
    }

    fn contains(&self, key: &str) -> bool {
        self.contains_key(key)
    }

    fn set(&mut self, key: &str, value: Value) {
        self.insert(key.to_string(), value);
    }

    fn remove(&mut self, key: &str) {
        Map::remove(self, key);
    }

    fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A JSON object whose top-level values are kept as the raw bytes they were sent as.
#[derive(Debug, Default)]
pub struct RawObject {
    fields: BTreeMap<String, Box<RawValue>>,
}

impl RawObject {
    /// Parses an object's top level; every value is checked to be valid JSON but not built.
    pub fn parse(bytes: &[u8]) -> Result<RawObject, serde_json::Error> {
        Ok(RawObject { fields: serde_json::from_slice(bytes)? })
    }

    /// The whole object as a tree (for the rare path that needs one: an Azure key's
    /// forwarding).
    pub fn into_map(self) -> Map<String, Value> {
        self.fields
            .into_iter()
            .map(|(key, raw)| {
                let value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
                (key, value)
            })
            .collect()
    }
}

impl Fields for RawObject {
    fn text(&self, key: &str) -> Option<String> {
        let raw = self.fields.get(key)?.get();
        raw.starts_with('"').then(|| serde_json::from_str(raw).ok()).flatten()
    }

    fn value(&self, key: &str) -> Option<Value> {
        serde_json::from_str(self.fields.get(key)?.get()).ok()
    }

    fn contains(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    fn set(&mut self, key: &str, value: Value) {
        if let Ok(raw) = serde_json::value::to_raw_value(&value) {
            self.fields.insert(key.to_string(), raw);
        }
    }

    fn remove(&mut self, key: &str) {
        self.fields.remove(key);
    }

    fn to_bytes(&self) -> Vec<u8> {
        let size: usize = self.fields.iter().map(|(key, raw)| key.len() + raw.get().len() + 4).sum();
        let mut out = Vec::with_capacity(size + 2);
        out.push(b'{');
        for (n, (key, raw)) in self.fields.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            // A `String` always serializes.
            let _ = serde_json::to_writer(&mut out, key);
            out.push(b':');
            out.extend_from_slice(raw.get().as_bytes());
        }
        out.push(b'}');
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn untouched_values_go_out_as_they_came_in() {
        let sent = br#"{"model":"gpt-5.5","input":[{"type":"message","content":[{"type":"input_text","text":"caf\u00e9  1.50e1"}]}],"n":1.50e1}"#;
        let mut body = RawObject::parse(sent).unwrap();
        assert_eq!(body.text("model").as_deref(), Some("gpt-5.5"));
        assert_eq!(body.text("n"), None, "not a string");
        body.set("stream", json!(true));
        body.remove("n");
        let out = String::from_utf8(body.to_bytes()).unwrap();
        assert!(out.contains(r#""text":"caf\u00e9  1.50e1""#), "escapes and spacing kept: {out}");
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["stream"], true);
        assert!(parsed.get("n").is_none());
        assert_eq!(parsed["input"][0]["content"][0]["text"], "café  1.50e1");
    }

    #[test]
    fn both_kinds_of_body_read_and_write_alike() {
        let text = r#"{"a":"x\"y","b":{"effort":"low"},"c":[1,2]}"#;
        let mut raw = RawObject::parse(text.as_bytes()).unwrap();
        let Value::Object(mut tree) = serde_json::from_str::<Value>(text).unwrap() else { panic!() };
        for body in [&mut raw as &mut dyn Fields, &mut tree as &mut dyn Fields] {
            assert_eq!(body.text("a").as_deref(), Some("x\"y"));
            assert_eq!(body.value("b"), Some(json!({"effort": "low"})));
            assert!(body.contains("c") && !body.contains("d"));
            body.set("d", json!(null));
            let out: Value = serde_json::from_slice(&body.to_bytes()).unwrap();
            assert_eq!(out, json!({"a": "x\"y", "b": {"effort": "low"}, "c": [1, 2], "d": null}));
        }
        let expected = json!({"a": "x\"y", "b": {"effort": "low"}, "c": [1, 2], "d": null});
        assert_eq!(Value::Object(raw.into_map()), expected);
    }

    #[test]
    fn what_is_not_a_json_object_is_refused() {
        assert!(RawObject::parse(b"[1]").is_err());
        assert!(RawObject::parse(br#"{"a": [1,}"#).is_err());
        assert!(RawObject::parse(b"").is_err());
    }
}
