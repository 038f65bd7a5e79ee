//! Where CodexManager keeps its data: the database and, beside it, the key file, the RPC
//! token file, the logs and the gateway trace.
//!
//! Resolution order: `CODEXMANAGER_DB_PATH`; else portable mode (a file named `portable`
//! beside the executable keeps everything beside it); else the OS data directory; else,
//! when the OS reports no home directory, beside the executable.

use std::path::{Path, PathBuf};

/// File names that live beside the database.
pub const DB_FILE: &str = "codexmanager.db";
pub const KEY_FILE: &str = "codexmanager.key";
pub const RPC_TOKEN_FILE: &str = "codexmanager.rpc-token";
pub const TRACE_FILE: &str = "gateway-trace.log";
pub const PORTABLE_MARKER: &str = "portable";

/// Why the data directory is where it is; shown in Settings and `--help` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataLocation {
    /// `CODEXMANAGER_DB_PATH` names the database.
    Explicit,
    /// A `portable` file sits beside the executable.
    Portable,
    /// The operating system's per-user data directory.
    OsDataDir,
    /// No home directory: beside the executable.
    BesideExecutable,
}

#[derive(Debug, Clone)]
pub struct DataPaths {
    pub db: PathBuf,
    pub dir: PathBuf,
    pub location: DataLocation,
}

impl DataPaths {
    /// Resolves the data location from the (merged) environment and the executable's folder.
    pub fn resolve(db_path_var: Option<&str>, exe_dir: &Path) -> DataPaths {
        if let Some(db) = db_path_var.map(str::trim).filter(|v| !v.is_empty()) {
            return DataPaths::for_db(PathBuf::from(db), DataLocation::Explicit);
        }
        if exe_dir.join(PORTABLE_MARKER).is_file() {
            return DataPaths::for_db(exe_dir.join(DB_FILE), DataLocation::Portable);
        }
        match directories::ProjectDirs::from("", "", "CodexManager") {
            Some(dirs) => DataPaths::for_db(dirs.data_dir().join(DB_FILE), DataLocation::OsDataDir),
            None => DataPaths::for_db(exe_dir.join(DB_FILE), DataLocation::BesideExecutable),
        }
    }

    pub fn for_db(db: PathBuf, location: DataLocation) -> DataPaths {
        let dir = match db.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        DataPaths { db, dir, location }
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }

    pub fn rpc_token_file(&self) -> PathBuf {
        self.dir.join(RPC_TOKEN_FILE)
    }

    pub fn trace_file(&self) -> PathBuf {
        self.dir.join(TRACE_FILE)
    }

    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }
}

/// The folder holding the running executable (where env files and the portable marker live).
pub fn exe_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Makes the data folder's files readable by their owner only (0600 on Unix; the folder
/// 0700 when it is CodexManager's own, not a folder named by `CODEXMANAGER_DB_PATH` that
/// other programs may share): files written by older versions were left 0644. Files created
/// from now on are private from the start (the process's umask).
pub fn make_private(paths: &DataPaths) {
    let db = paths.db.display().to_string();
    let mut files: Vec<PathBuf> =
        ["", "-wal", "-shm"].iter().map(|suffix| PathBuf::from(format!("{db}{suffix}"))).collect();
    files.push(paths.trace_file());
    if let Ok(entries) = std::fs::read_dir(paths.log_dir()) {
        files.extend(entries.filter_map(|e| e.ok()).map(|e| e.path()));
    }
    for file in files {
        restrict(&file, 0o600);
    }
    restrict(&paths.log_dir(), 0o700);
    if paths.location != DataLocation::Explicit {
        restrict(&paths.dir, 0o700);
    }
}

/// Removes the group and other permission bits of an existing file or folder.
#[cfg(unix)]
fn restrict(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else { return };
    if meta.file_type().is_symlink() || meta.permissions().mode() & 0o077 == 0 {
        return;
    }
    if let Err(err) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        tracing::warn!("cannot make {} private: {err}", path.display());
    }
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) {}

/// Writes a file readable only by its owner (0600 on Unix), replacing any previous content.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_db_path_wins_over_portable_marker() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PORTABLE_MARKER), "").unwrap();
        let paths = DataPaths::resolve(Some("/tmp/x/my.db"), dir.path());
        assert_eq!(paths.location, DataLocation::Explicit);
        assert_eq!(paths.dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn portable_marker_keeps_data_beside_the_executable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PORTABLE_MARKER), "").unwrap();
        let paths = DataPaths::resolve(None, dir.path());
        assert_eq!(paths.location, DataLocation::Portable);
        assert_eq!(paths.db, dir.path().join(DB_FILE));
        assert_eq!(paths.key_file(), dir.path().join(KEY_FILE));
    }

    #[test]
    fn without_marker_the_os_data_dir_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let paths = DataPaths::resolve(None, dir.path());
        assert_ne!(paths.location, DataLocation::Portable);
        assert!(paths.db.ends_with(DB_FILE));
    }
}
