//! Reading and writing stored app settings (`appSettings/get`, `appSettings/set`).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::{Core, CoreError};
use crate::config::{self, Resolver, Source};

/// A setting's effective value and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct SettingView {
    pub value: String,
    pub source: Source,
}

/// How a secret setting's stored value starts: the rest is the sealed value, base64.
const SEALED: &str = "sealed:";

impl Core {
    /// Every setting with its effective value (secrets masked) and where it came from.
    pub fn settings(&self) -> HashMap<String, SettingView> {
        self.config()
            .settings
            .iter()
            .map(|(key, value, source)| {
                let value = if config::SECRET_SETTINGS.contains(key) { mask_secret(value) } else { value.clone() };
                (key.to_string(), SettingView { value, source: *source })
            })
            .collect()
    }

    /// Validates every value first (the error names the setting), then stores them all in
    /// one transaction and re-resolves the configuration.
    pub async fn set_settings(
        &self,
        patch: serde_json::Map<String, Value>,
    ) -> Result<HashMap<String, SettingView>, CoreError> {
        let mut values = Vec::with_capacity(patch.len());
        for (key, value) in patch {
            let spec = config::setting_spec(&key).ok_or_else(|| {
                let known: Vec<&str> = config::SETTINGS.iter().map(|s| s.key).collect();
                CoreError::Invalid(format!("unknown setting `{key}`; known settings: {}", known.join(", ")))
            })?;
            let text = match value {
                Value::String(s) => s,
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(CoreError::Invalid(format!(
                        "setting `{key}` must be a string, number or boolean; got {other}"
                    )));
                }
            };
            let mut text = config::validate_setting(spec, &text).map_err(CoreError::Invalid)?;
            if config::SECRET_SETTINGS.contains(&spec.key) && !text.is_empty() {
                text = self.seal_setting(spec.key, &text);
            }
            values.push((key, text));
        }
        let stored = self.store().put_settings(values).await?;
        self.apply_stored_settings(stored);
        Ok(self.settings())
    }

    /// Resolves the configuration again from `stored` (sealed values still sealed).
    pub(super) fn apply_stored_settings(&self, mut stored: HashMap<String, String>) {
        self.open_secret_settings(&mut stored);
        let current = self.config();
        let (config, warnings) = Resolver::new(self.env(), &stored).resolve(current.paths.clone());
        for warning in warnings {
            tracing::warn!("{warning}");
        }
        self.inner.config.store(std::sync::Arc::new(config));
    }
}

impl Core {
    fn seal_setting(&self, key: &str, value: &str) -> String {
        use base64::Engine;
        let sealed = self.vault().seal(&setting_purpose(key), value.as_bytes());
        format!("{SEALED}{}", base64::engine::general_purpose::STANDARD.encode(sealed))
    }

    /// Replaces the sealed values of secret settings in `stored` by their plain text; one that
    /// does not open is left out (and logged), so its default applies.
    pub(super) fn open_secret_settings(&self, stored: &mut HashMap<String, String>) {
        use base64::Engine;
        for key in config::SECRET_SETTINGS {
            let Some(value) = stored.get(key) else { continue };
            let Some(sealed) = value.strip_prefix(SEALED) else { continue };
            let opened = base64::engine::general_purpose::STANDARD
                .decode(sealed)
                .ok()
                .and_then(|blob| self.vault().open(&setting_purpose(key), &blob).ok())
                .and_then(|plain| String::from_utf8(plain).ok());
            match opened {
                Some(plain) => {
                    stored.insert(key.to_string(), plain);
                }
                None => {
                    tracing::error!("the stored setting `{key}` does not open with this master key; it is ignored");
                    stored.remove(key);
                }
            }
        }
    }
}

fn setting_purpose(key: &str) -> String {
    format!("setting:{key}")
}

/// A secret setting as shown: a proxy URL with its password masked.
fn mask_secret(value: &str) -> String {
    crate::egress::ProxyUrl::parse(value)
        .map(|url| url.masked())
        .unwrap_or_else(|_| if value.is_empty() { String::new() } else { "***".into() })
}
