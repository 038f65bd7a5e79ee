//! The vault: a 256-bit master key, kept in the OS keyring or in `codexmanager.key`, that
//! seals tokens and Azure API keys with XChaCha20-Poly1305 before they reach SQLite.
//!
//! Each sealed blob is `version (1) || nonce (24) || ciphertext+tag`, and its additional data
//! names what it belongs to (e.g. `account-tokens:<id>`), so a blob copied onto another row
//! does not open. The database holds a sealed check value; a key that cannot open it is
//! reported as the wrong key instead of producing garbage later.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::config::SecretStoreChoice;

const BLOB_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const KEYRING_SERVICE: &str = "CodexManager";
const CHECK_PURPOSE: &str = "vault-check";
const CHECK_PLAINTEXT: &[u8] = b"codexmanager vault check";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "the master key from {source_name} does not open this database's secrets. The database was \
         probably copied from another machine or user, or the key was replaced. Restore the original \
         key ({hint}), or start with a new database (CODEXMANAGER_DB_PATH) and import accounts again"
    )]
    WrongKey { source_name: String, hint: String },
    #[error(
        "this database holds sealed secrets but no master key was found (looked in {looked}). \
         Restore the key file or keyring entry, or set CODEXMANAGER_SECRET_STORE to where it is"
    )]
    KeyMissing { looked: String },
    #[error("the OS keyring is not available ({0}); set CODEXMANAGER_SECRET_STORE=file to keep the key in a file")]
    KeyringUnavailable(String),
    #[error("the key file {path} is unreadable or malformed: {reason}")]
    BadKeyFile { path: PathBuf, reason: String },
    #[error("cannot write the key file {path}: {source}")]
    WriteKeyFile { path: PathBuf, source: std::io::Error },
    #[error("a sealed value for {purpose} could not be opened (corrupt data or wrong key)")]
    Corrupt { purpose: String },
    #[error("{from} must hold a 256-bit master key in base64 (make one with `openssl rand -base64 32`): {reason}")]
    BadMasterKey { from: String, reason: String },
    #[error("set CODEXMANAGER_MASTER_KEY or CODEXMANAGER_MASTER_KEY_FILE, not both")]
    TwoMasterKeys,
}

/// Where the master key came from; shown in Settings and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Keyring,
    File(PathBuf),
    /// Given by the environment: `CODEXMANAGER_MASTER_KEY`, or the file
    /// `CODEXMANAGER_MASTER_KEY_FILE` names.
    Given(String),
}

impl KeySource {
    pub fn describe(&self) -> String {
        match self {
            KeySource::Keyring => "the OS keyring".to_string(),
            KeySource::File(path) => format!("the key file {}", path.display()),
            KeySource::Given(from) => from.clone(),
        }
    }
}

/// The master key the environment gives, if any: `key_base64` (CODEXMANAGER_MASTER_KEY) or
/// the contents of `key_file` (CODEXMANAGER_MASTER_KEY_FILE), 32 bytes in base64 either way.
pub fn given_key(
    key_base64: Option<&str>,
    key_file: Option<&Path>,
) -> Result<Option<([u8; 32], KeySource)>, VaultError> {
    let (text, from) = match (key_base64, key_file) {
        (Some(_), Some(_)) => return Err(VaultError::TwoMasterKeys),
        (Some(text), None) => (text.to_string(), "CODEXMANAGER_MASTER_KEY".to_string()),
        (None, Some(path)) => {
            let from = format!("CODEXMANAGER_MASTER_KEY_FILE ({})", path.display());
            let text = std::fs::read_to_string(path)
                .map_err(|err| VaultError::BadMasterKey { from: from.clone(), reason: err.to_string() })?;
            (text, from)
        }
        (None, None) => return Ok(None),
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|err| VaultError::BadMasterKey { from: from.clone(), reason: err.to_string() })?;
    let key: [u8; 32] = bytes.try_into().map_err(|bytes: Vec<u8>| VaultError::BadMasterKey {
        from: from.clone(),
        reason: format!("it decodes to {} bytes, not 32", bytes.len()),
    })?;
    Ok(Some((key, KeySource::Given(from))))
}

/// Seals and opens secrets. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    cipher: Arc<XChaCha20Poly1305>,
    key: Arc<[u8; 32]>,
    source: KeySource,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("source", &self.source).finish_non_exhaustive()
    }
}

/// A keyring the vault can keep its master key in. The OS keyring in production; tests can
/// pass `keyring_core::mock` or an unavailable one.
pub trait KeyringAccess {
    /// `Ok(None)` when there is no entry; `Err` when the keyring cannot be used at all.
    fn get(&self, name: &str) -> Result<Option<String>, String>;
    fn set(&self, name: &str, value: &str) -> Result<(), String>;
}

/// The platform's keyring through `keyring-core`.
pub struct OsKeyring {
    store: Result<Arc<keyring_core::CredentialStore>, String>,
}

impl OsKeyring {
    pub fn new() -> OsKeyring {
        OsKeyring { store: platform_store() }
    }

    fn entry(&self, name: &str) -> Result<keyring_core::Entry, String> {
        let store = self.store.as_ref().map_err(Clone::clone)?;
        keyring_core::Entry::new_in_store(store, KEYRING_SERVICE, name).map_err(|e| e.to_string())
    }
}

impl Default for OsKeyring {
    fn default() -> Self {
        OsKeyring::new()
    }
}

impl KeyringAccess for OsKeyring {
    fn get(&self, name: &str) -> Result<Option<String>, String> {
        match self.entry(name)?.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(err) => Err(err.to_string()),
        }
    }

    fn set(&self, name: &str, value: &str) -> Result<(), String> {
        self.entry(name)?.set_password(value).map_err(|e| e.to_string())
    }
}

#[cfg(target_os = "linux")]
fn platform_store() -> Result<Arc<keyring_core::CredentialStore>, String> {
    let store: Arc<keyring_core::CredentialStore> =
        zbus_secret_service_keyring_store::Store::new().map_err(|e| e.to_string())?;
    Ok(store)
}

#[cfg(windows)]
fn platform_store() -> Result<Arc<keyring_core::CredentialStore>, String> {
    let store: Arc<keyring_core::CredentialStore> =
        windows_native_keyring_store::Store::new().map_err(|e| e.to_string())?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn platform_store() -> Result<Arc<keyring_core::CredentialStore>, String> {
    let store: Arc<keyring_core::CredentialStore> =
        apple_native_keyring_store::keychain::Store::new().map_err(|e| e.to_string())?;
    Ok(store)
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
fn platform_store() -> Result<Arc<keyring_core::CredentialStore>, String> {
    Err("no keyring support on this platform".to_string())
}

/// What the database says about its vault.
pub struct VaultMeta<'a> {
    /// A random id naming this database's keyring entry.
    pub vault_id: &'a str,
    /// The sealed check value, once secrets have been stored.
    pub check: Option<&'a [u8]>,
}

impl Vault {
    /// Finds (or, for a database without secrets, creates) the master key.
    ///
    /// Order: a key file beside the database (unless the keyring is forced); the keyring entry
    /// for this database; a new key, in the keyring when one answers, else in the key file.
    pub fn unlock(
        choice: SecretStoreChoice,
        key_file: &Path,
        keyring: &dyn KeyringAccess,
        meta: &VaultMeta<'_>,
    ) -> Result<Vault, VaultError> {
        let entry_name = format!("master-key/{}", meta.vault_id);
        let mut looked = Vec::new();
        if choice != SecretStoreChoice::Keyring {
            looked.push(key_file.display().to_string());
            if key_file.exists() {
                let key = read_key_file(key_file)?;
                return Vault::checked(key, KeySource::File(key_file.to_path_buf()), meta);
            }
        }
        let mut keyring_error = None;
        if choice != SecretStoreChoice::File {
            looked.push(format!("OS keyring entry {KEYRING_SERVICE}/{entry_name}"));
            match keyring.get(&entry_name) {
                Ok(Some(hex_key)) => {
                    let key = decode_key(&hex_key).ok_or_else(|| VaultError::WrongKey {
                        source_name: "the OS keyring".into(),
                        hint: format!("the entry {KEYRING_SERVICE}/{entry_name} is not a 64-digit hex key"),
                    })?;
                    return Vault::checked(key, KeySource::Keyring, meta);
                }
                Ok(None) => {}
                Err(err) if choice == SecretStoreChoice::Keyring => return Err(VaultError::KeyringUnavailable(err)),
                Err(err) => keyring_error = Some(err),
            }
        }
        if meta.check.is_some() {
            return Err(VaultError::KeyMissing { looked: looked.join(", ") });
        }
        let key = new_key();
        if choice != SecretStoreChoice::File {
            match (keyring_error, keyring.set(&entry_name, &hex::encode(key))) {
                (None, Ok(())) => return Ok(Vault::from_key(key, KeySource::Keyring)),
                (_, Err(err)) if choice == SecretStoreChoice::Keyring => {
                    return Err(VaultError::KeyringUnavailable(err));
                }
                (Some(err), _) | (None, Err(err)) => {
                    tracing::warn!("OS keyring unavailable ({err}); keeping the master key in {}", key_file.display());
                }
            }
        }
        crate::paths::write_private_file(key_file, format!("{}\n", hex::encode(key)).as_bytes())
            .map_err(|source| VaultError::WriteKeyFile { path: key_file.to_path_buf(), source })?;
        Ok(Vault::from_key(key, KeySource::File(key_file.to_path_buf())))
    }

    /// A vault on a key given from outside (see [`given_key`]), refused when the database's
    /// check value says it seals with another.
    pub fn with_given_key(key: [u8; 32], source: KeySource, meta: &VaultMeta<'_>) -> Result<Vault, VaultError> {
        Vault::checked(key, source, meta)
    }

    fn checked(key: [u8; 32], source: KeySource, meta: &VaultMeta<'_>) -> Result<Vault, VaultError> {
        let vault = Vault::from_key(key, source);
        if let Some(check) = meta.check
            && vault.open(CHECK_PURPOSE, check).is_err()
        {
            let hint = match &vault.source {
                KeySource::File(path) => format!("the file {}", path.display()),
                KeySource::Keyring => format!("the keyring entry {KEYRING_SERVICE}/master-key/{}", meta.vault_id),
                KeySource::Given(_) => "give every instance the key this database was first sealed with".into(),
            };
            return Err(VaultError::WrongKey { source_name: vault.source.describe(), hint });
        }
        Ok(vault)
    }

    pub fn from_key(key: [u8; 32], source: KeySource) -> Vault {
        Vault { cipher: Arc::new(XChaCha20Poly1305::new(&key.into())), key: Arc::new(key), source }
    }

    /// The master key in base64, as CODEXMANAGER_MASTER_KEY takes it: for `migrate`, which
    /// writes it to a private file for the instances that will share the copied database.
    pub fn export_key(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(*self.key)
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// The check value to store in a database that has none yet.
    pub fn make_check(&self) -> Vec<u8> {
        self.seal(CHECK_PURPOSE, CHECK_PLAINTEXT)
    }

    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: purpose.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut blob = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        blob.push(BLOB_VERSION);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        blob
    }

    pub fn open(&self, purpose: &str, blob: &[u8]) -> Result<Vec<u8>, VaultError> {
        let corrupt = || VaultError::Corrupt { purpose: purpose.to_string() };
        if blob.len() < 1 + NONCE_LEN || blob[0] != BLOB_VERSION {
            return Err(corrupt());
        }
        let (nonce, ciphertext) = blob[1..].split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| corrupt())?;
        self.cipher.decrypt(&nonce, Payload { msg: ciphertext, aad: purpose.as_bytes() }).map_err(|_| corrupt())
    }
}

fn new_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}

fn decode_key(text: &str) -> Option<[u8; 32]> {
    hex::decode(text.trim()).ok()?.try_into().ok()
}

fn read_key_file(path: &Path) -> Result<[u8; 32], VaultError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| VaultError::BadKeyFile { path: path.to_path_buf(), reason: e.to_string() })?;
    decode_key(&text).ok_or_else(|| VaultError::BadKeyFile {
        path: path.to_path_buf(),
        reason: "expected 64 hexadecimal digits".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    #[derive(Default)]
    struct MemKeyring {
        entries: RefCell<HashMap<String, String>>,
        broken: bool,
    }

    impl KeyringAccess for MemKeyring {
        fn get(&self, name: &str) -> Result<Option<String>, String> {
            if self.broken {
                return Err("no D-Bus session".into());
            }
            Ok(self.entries.borrow().get(name).cloned())
        }
        fn set(&self, name: &str, value: &str) -> Result<(), String> {
            if self.broken {
                return Err("no D-Bus session".into());
            }
            self.entries.borrow_mut().insert(name.into(), value.into());
            Ok(())
        }
    }

    fn meta(check: Option<&[u8]>) -> VaultMeta<'_> {
        VaultMeta { vault_id: "v1", check }
    }

    #[test]
    fn seal_and_open_round_trip_bound_to_purpose() {
        let vault = Vault::from_key([7; 32], KeySource::Keyring);
        let blob = vault.seal("account-tokens:a", b"secret");
        assert_eq!(vault.open("account-tokens:a", &blob).unwrap(), b"secret");
        assert!(vault.open("account-tokens:b", &blob).is_err());
        assert!(!blob.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn new_key_goes_to_the_keyring_when_it_answers() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = MemKeyring::default();
        let vault = Vault::unlock(SecretStoreChoice::Auto, &dir.path().join("k"), &keyring, &meta(None)).unwrap();
        assert_eq!(vault.source(), &KeySource::Keyring);
        assert!(keyring.entries.borrow().contains_key("master-key/v1"));
        let check = vault.make_check();
        let again =
            Vault::unlock(SecretStoreChoice::Auto, &dir.path().join("k"), &keyring, &meta(Some(&check))).unwrap();
        assert_eq!(again.open("x", &vault.seal("x", b"1")).unwrap(), b"1");
    }

    #[test]
    fn broken_keyring_falls_back_to_a_private_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("codexmanager.key");
        let keyring = MemKeyring { broken: true, ..Default::default() };
        let vault = Vault::unlock(SecretStoreChoice::Auto, &file, &keyring, &meta(None)).unwrap();
        assert_eq!(vault.source(), &KeySource::File(file.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let forced = Vault::unlock(SecretStoreChoice::Keyring, &dir.path().join("other"), &keyring, &meta(None));
        assert!(matches!(forced, Err(VaultError::KeyringUnavailable(_))));
    }

    #[test]
    fn wrong_key_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("codexmanager.key");
        let keyring = MemKeyring::default();
        let first = Vault::unlock(SecretStoreChoice::File, &file, &keyring, &meta(None)).unwrap();
        let check = first.make_check();
        std::fs::write(&file, hex::encode([9u8; 32])).unwrap();
        let err = Vault::unlock(SecretStoreChoice::File, &file, &keyring, &meta(Some(&check))).unwrap_err();
        assert!(err.to_string().contains("does not open this database's secrets"), "{err}");
    }

    #[test]
    fn missing_key_for_a_database_with_secrets_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("codexmanager.key");
        let check = Vault::from_key([1; 32], KeySource::Keyring).make_check();
        let err =
            Vault::unlock(SecretStoreChoice::Auto, &file, &MemKeyring::default(), &meta(Some(&check))).unwrap_err();
        assert!(matches!(err, VaultError::KeyMissing { .. }));
        assert!(!file.exists());
    }
}
