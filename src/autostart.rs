//! Start at login: registers this executable with the OS so it starts, hidden in the tray,
//! when the user logs in — and removes it again. One entry per user:
//!
//! - Linux and the BSDs: `$XDG_CONFIG_HOME/autostart/codexmanager.desktop` (XDG autostart,
//!   `~/.config/autostart/` by default);
//! - macOS: `~/Library/LaunchAgents/com.codexmanager.app.plist` (a LaunchAgent, `RunAtLoad`);
//! - Windows: the value `CodexManager` under `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`
//!   (written with `reg.exe`).
//!
//! Each entry runs the executable as it is now with `--hidden`. These are blocking calls
//! (files, a child process): the window runs them on the runtime.

use std::path::{Path, PathBuf};

/// What went wrong, for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    #[error("the path of this program is unknown: {0}")]
    NoExecutable(std::io::Error),
    #[error("no home folder was found to register the program in")]
    NoHome,
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the Windows registry could not be changed: {0}")]
    Registry(String),
}

/// The argument that makes the app start hidden in the tray.
pub const HIDDEN_ARG: &str = "--hidden";

fn executable() -> Result<PathBuf, AutostartError> {
    std::env::current_exe().map_err(AutostartError::NoExecutable)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AutostartError + '_ {
    move |source| AutostartError::Io { path: path.display().to_string(), source }
}

/// Whether the app is registered to start at login.
pub fn is_enabled() -> Result<bool, AutostartError> {
    platform::is_enabled()
}

/// Registers (`true`) or unregisters the app to start at login.
pub fn set_enabled(enabled: bool) -> Result<(), AutostartError> {
    if enabled { platform::enable(&executable()?) } else { platform::disable() }
}

/// A desktop entry's `Exec` argument: quoted, with `"`, `` ` ``, `$` and `\` escaped as the
/// Desktop Entry spec asks, then every `\` doubled because the value is itself a string.
pub fn desktop_exec_arg(arg: &str) -> String {
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted.replace('\\', "\\\\")
}

/// The XDG autostart entry for `exe`.
pub fn desktop_entry(exe: &Path) -> String {
    format!(
        "[Desktop Entry]\nType=Application\nName=CodexManager\nComment=Account pool and local gateway for Codex\n\
         Exec={} {HIDDEN_ARG}\nIcon=codexmanager\nTerminal=false\nX-GNOME-Autostart-enabled=true\n",
        desktop_exec_arg(&exe.display().to_string())
    )
}

/// Text made safe inside an XML element.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The macOS LaunchAgent for `exe`.
pub fn launch_agent(exe: &Path) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n<dict>\n\
         \t<key>Label</key>\n\t<string>com.codexmanager.app</string>\n\
         \t<key>ProgramArguments</key>\n\t<array>\n\t\t<string>{}</string>\n\t\t<string>{HIDDEN_ARG}</string>\n\t</array>\n\
         \t<key>RunAtLoad</key>\n\t<true/>\n\
         </dict>\n</plist>\n",
        xml_escape(&exe.display().to_string())
    )
}

/// Writes `text` to `path`, making its folder first.
#[cfg(not(windows))]
fn write_entry(path: &Path, text: &str) -> Result<(), AutostartError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::write(path, text).map_err(io(path))
}

#[cfg(not(windows))]
fn remove_entry(path: &Path) -> Result<(), AutostartError> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(io(path)(err)),
        _ => Ok(()),
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
mod platform {
    use super::*;

    /// `$XDG_CONFIG_HOME/autostart/codexmanager.desktop`.
    pub fn entry_path() -> Result<PathBuf, AutostartError> {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
            .ok_or(AutostartError::NoHome)?;
        Ok(config.join("autostart").join("codexmanager.desktop"))
    }

    pub fn is_enabled() -> Result<bool, AutostartError> {
        Ok(entry_path()?.is_file())
    }

    pub fn enable(exe: &Path) -> Result<(), AutostartError> {
        write_entry(&entry_path()?, &desktop_entry(exe))
    }

    pub fn disable() -> Result<(), AutostartError> {
        remove_entry(&entry_path()?)
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::*;

    fn entry_path() -> Result<PathBuf, AutostartError> {
        let home = std::env::var_os("HOME").map(PathBuf::from).ok_or(AutostartError::NoHome)?;
        Ok(home.join("Library/LaunchAgents/com.codexmanager.app.plist"))
    }

    pub fn is_enabled() -> Result<bool, AutostartError> {
        Ok(entry_path()?.is_file())
    }

    pub fn enable(exe: &Path) -> Result<(), AutostartError> {
        write_entry(&entry_path()?, &launch_agent(exe))
    }

    pub fn disable() -> Result<(), AutostartError> {
        remove_entry(&entry_path()?)
    }
}

#[cfg(windows)]
mod platform {
    use std::process::Command;

    use super::*;

    const RUN_KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";
    const VALUE: &str = "CodexManager";

    fn reg(args: &[&str]) -> Result<std::process::Output, AutostartError> {
        Command::new("reg").args(args).output().map_err(|err| AutostartError::Registry(err.to_string()))
    }

    fn check(output: std::process::Output) -> Result<(), AutostartError> {
        if output.status.success() {
            Ok(())
        } else {
            Err(AutostartError::Registry(String::from_utf8_lossy(&output.stderr).trim().to_string()))
        }
    }

    pub fn is_enabled() -> Result<bool, AutostartError> {
        Ok(reg(&["query", RUN_KEY, "/v", VALUE])?.status.success())
    }

    pub fn enable(exe: &Path) -> Result<(), AutostartError> {
        let command = format!("\"{}\" {HIDDEN_ARG}", exe.display());
        check(reg(&["add", RUN_KEY, "/v", VALUE, "/t", "REG_SZ", "/d", &command, "/f"])?)
    }

    pub fn disable() -> Result<(), AutostartError> {
        if !is_enabled()? {
            return Ok(());
        }
        check(reg(&["delete", RUN_KEY, "/v", VALUE, "/f"])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desktop_exec_quotes_and_escapes_the_path() {
        assert_eq!(desktop_exec_arg("/opt/codex manager/codexmanager"), "\"/opt/codex manager/codexmanager\"");
        // `$` escaped by the Exec rules (\$), then the backslash doubled by the string rules.
        assert_eq!(desktop_exec_arg("/a$b"), "\"/a\\\\$b\"");
        let entry = desktop_entry(Path::new("/usr/bin/codexmanager"));
        assert!(entry.contains("Exec=\"/usr/bin/codexmanager\" --hidden\n"), "{entry}");
    }

    #[test]
    fn the_launch_agent_escapes_the_path() {
        let plist = launch_agent(Path::new("/Applications/A&B.app/Contents/MacOS/codexmanager"));
        assert!(plist.contains("<string>/Applications/A&amp;B.app/Contents/MacOS/codexmanager</string>"));
        assert!(plist.contains("<key>RunAtLoad</key>"));
    }

    #[cfg(not(windows))]
    #[test]
    fn an_entry_is_written_with_its_folder_and_removed_once_or_twice() {
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path().join("autostart/codexmanager.desktop");
        write_entry(&entry, &desktop_entry(Path::new("/usr/bin/codexmanager"))).unwrap();
        assert!(std::fs::read_to_string(&entry).unwrap().contains(" --hidden"));
        remove_entry(&entry).unwrap();
        assert!(!entry.exists());
        remove_entry(&entry).expect("removing what is gone is fine");
    }
}
