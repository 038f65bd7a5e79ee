//! Reading and writing stored app settings (`appSettings/get`, `appSettings/set`).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::{Core, CoreError};
use crate::config::{self, Resolver, Source};
use crate::store;

/// A setting's effective value and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct SettingView {
    pub value: String,
    pub source: Source,
}

impl Core {
    pub fn settings(&self) -> HashMap<String, SettingView> {
        self.config()
            .settings
            .iter()
            .map(|(key, value, source)| (key.to_string(), SettingView { value: value.clone(), source: *source }))
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
            let text = config::validate_setting(spec, &text).map_err(CoreError::Invalid)?;
            values.push((key, text));
        }
        let stored = self
            .store()
            .call(move |conn| {
                store::settings::put_many(conn, &values)?;
                store::settings::all(conn)
            })
            .await?;
        let current = self.config();
        let (config, warnings) = Resolver::new(self.env(), &stored).resolve(current.paths.clone());
        for warning in warnings {
            tracing::warn!("{warning}");
        }
        self.inner.config.store(std::sync::Arc::new(config));
        Ok(self.settings())
    }
}
