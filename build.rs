//! Build script: embeds the git commit the binary was built from (shown by `--version` and in
//! Settings) and, when the target is Windows, the application icon, version information and
//! manifest in the `.exe`. The Windows resources are compiled with the target's resource compiler:
//! `rc.exe` for MSVC, `windres` for GNU (`x86_64-w64-mingw32-windres` when cross-building
//! from Linux; the `WINDRES` variable overrides it).

use std::path::PathBuf;
use std::process::Command;

/// The multi-size icon embedded in the Windows executable (made from `assets/icon.png`; see
/// `docs/packaging.md` for the command that regenerates it).
const WINDOWS_ICON: &str = "assets/icon.ico";

/// The application manifest: runs as the invoking user (no elevation prompt), declares
/// Windows 10/11, and asks for Common Controls 6 so file dialogs and menus get the current look.
const WINDOWS_MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0">
  <dependency>
    <dependentAssembly>
      <assemblyIdentity type="win32" name="Microsoft.Windows.Common-Controls" version="6.0.0.0"
        processorArchitecture="*" publicKeyToken="6595b64144ccf1df" language="*"/>
    </dependentAssembly>
  </dependency>
  <compatibility xmlns="urn:schemas-microsoft-com:compatibility.v1">
    <application>
      <supportedOS Id="{8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a}"/>
    </application>
  </compatibility>
  <trustInfo xmlns="urn:schemas-microsoft-com:asm.v3">
    <security>
      <requestedPrivileges>
        <requestedExecutionLevel level="asInvoker" uiAccess="false"/>
      </requestedPrivileges>
    </security>
  </trustInfo>
</assembly>
"#;

fn main() {
    let commit = git(&["rev-parse", "--short=10", "HEAD"]).unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=CODEXMANAGER_GIT_COMMIT={commit}");
    watch_git_head();

    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        println!("cargo:rerun-if-changed={WINDOWS_ICON}");
        if let Err(err) = embed_windows_resources(&commit) {
            // Without the resources the program still works; the build must not hide why the
            // icon is missing, so it stops with the reason.
            panic!("cannot embed the Windows icon and version info: {err} (is the resource compiler installed?)");
        }
    }
}

/// Runs git in the crate folder; `None` when git or the repository is missing.
fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Re-runs this script when the checked-out commit changes: HEAD, the branch it names and
/// `packed-refs`. Asks git where they live, so it also works in a worktree (where `.git` is a
/// file), and commits on other branches do not trigger a rebuild.
fn watch_git_head() {
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    let paths = ["HEAD", "packed-refs"]
        .into_iter()
        .chain(branch.as_deref())
        .filter_map(|name| git(&["rev-parse", "--path-format=absolute", "--git-path", name]))
        .map(PathBuf::from)
        .filter(|path| path.exists())
        .collect::<Vec<_>>();
    for path in &paths {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    if paths.is_empty() {
        println!("cargo:rerun-if-changed=build.rs");
    }
}

fn embed_windows_resources(commit: &str) -> std::io::Result<()> {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let mut res = winresource::WindowsResource::new();
    res.set_icon(WINDOWS_ICON)
        .set_manifest(WINDOWS_MANIFEST)
        .set("ProductName", "CodexManager")
        .set("FileDescription", "CodexManager")
        .set("InternalName", "codexmanager")
        .set("OriginalFilename", "codexmanager.exe")
        .set("ProductVersion", &format!("{version} ({commit})"))
        .set("Comments", "Manages a pool of ChatGPT (Codex) accounts and serves them through a local gateway")
        .set("LegalCopyright", "MIT License");
    res.compile_for("codexmanager")
}
