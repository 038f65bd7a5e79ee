//! `codexmanager migrate`: the embedded SQLite database copied into an empty PostgreSQL
//! database for a team's instances, with the master key its sealed secrets need written to a
//! private file (unless the key already comes from the environment).

use std::path::Path;

use super::{Core, CoreError};
use crate::store::{self, CopyReport};

impl Core {
    /// Copies this core's SQLite database into the empty PostgreSQL database at `url` (one
    /// transaction; request-log rows too with `with_logs`). With `key_out`, first writes the
    /// master key in base64 to that new file (0600), for CODEXMANAGER_MASTER_KEY_FILE.
    pub async fn migrate_to(
        &self,
        url: &str,
        with_logs: bool,
        key_out: Option<&Path>,
    ) -> Result<CopyReport, CoreError> {
        if !store::is_postgres_url(url) {
            return Err(CoreError::Invalid(format!(
                "--to must be a postgres:// or postgresql:// URL; got {}",
                store::redact(url)
            )));
        }
        let given = matches!(self.vault().source(), crate::vault::KeySource::Given(_));
        if key_out.is_none() && !given {
            return Err(CoreError::Invalid(format!(
                "the copied secrets will open only with this database's master key, now in {}: pass \
                 --master-key-out FILE to write it to a private file for the instances (or start migrate with that \
                 key in CODEXMANAGER_MASTER_KEY)",
                self.vault().source().describe()
            )));
        }
        if let Some(path) = key_out {
            if path.exists() {
                return Err(CoreError::Invalid(format!(
                    "{} exists already; --master-key-out writes a new file and never replaces one",
                    path.display()
                )));
            }
            let key = format!("{}\n", self.vault().export_key());
            crate::paths::write_private_file(path, key.as_bytes()).map_err(|err| {
                CoreError::Invalid(format!("cannot write the master key to {}: {err}", path.display()))
            })?;
        }
        self.logs().flush().await;
        let report = self.store().copy_to_postgres(url, with_logs).await?;
        tracing::info!(target = %store::redact(url), accounts = report.accounts, keys = report.keys, "database copied");
        Ok(report)
    }
}
