//! The pool's model list: served from memory, cached in the store, replaced when the gateway
//! fetches a fresh one from the upstream.

use std::sync::Arc;

use serde_json::Value;

use super::{Core, CoreError};
use crate::store::models::CachedModel;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub slug: String,
    pub display_name: Option<String>,
    /// The upstream's entry (visibility, context window, reasoning levels, ...).
    pub raw: Value,
}

pub(super) async fn load(store: &Store) -> Result<Vec<ModelInfo>, StoreError> {
    Ok(store
        .models()
        .await?
        .into_iter()
        .map(|m| ModelInfo {
            raw: serde_json::from_str(&m.raw).unwrap_or(Value::Null),
            slug: m.slug,
            display_name: m.display_name,
        })
        .collect())
}

impl Core {
    pub fn models(&self) -> Arc<Vec<ModelInfo>> {
        self.inner.models.load_full()
    }

    /// Replaces the model list in memory and in the cache table.
    pub async fn set_models(&self, models: Vec<ModelInfo>) -> Result<(), CoreError> {
        let cached: Vec<CachedModel> = models
            .iter()
            .map(|m| CachedModel { slug: m.slug.clone(), display_name: m.display_name.clone(), raw: m.raw.to_string() })
            .collect();
        self.store().replace_models(cached).await?;
        self.inner.models.store(Arc::new(models));
        Ok(())
    }
}
