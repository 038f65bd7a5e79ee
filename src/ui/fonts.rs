//! Fonts: egui's built-in fonts plus one CJK font found on the machine (Microsoft YaHei on
//! Windows, PingFang on macOS, Noto Sans CJK or WenQuanYi on Linux), so Chinese renders.
//! Nothing is bundled; when no CJK font is found the window still works and says so.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A font file to try, and the face to use inside a collection (`.ttc`).
struct Candidate {
    path: &'static str,
    index: u32,
}

const fn at(path: &'static str, index: u32) -> Candidate {
    Candidate { path, index }
}

#[cfg(windows)]
const CANDIDATES: &[Candidate] = &[
    at("Fonts/msyh.ttc", 0),
    at("Fonts/msyh.ttf", 0),
    at("Fonts/msyhl.ttc", 0),
    at("Fonts/simhei.ttf", 0),
    at("Fonts/simsun.ttc", 0),
];

#[cfg(target_os = "macos")]
const CANDIDATES: &[Candidate] = &[
    at("/System/Library/Fonts/PingFang.ttc", 0),
    at("/System/Library/Fonts/Hiragino Sans GB.ttc", 0),
    at("/System/Library/Fonts/STHeiti Light.ttc", 0),
    at("/System/Library/Fonts/STHeiti Medium.ttc", 0),
    at("/Library/Fonts/Arial Unicode.ttf", 0),
];

/// In a Noto Sans CJK collection the faces are JP, KR, SC, TC, HK: index 2 is Simplified.
#[cfg(not(any(windows, target_os = "macos")))]
const CANDIDATES: &[Candidate] = &[
    at("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    at("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    at("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    at("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", 0),
    at("/usr/share/fonts/noto-cjk/NotoSansSC-Regular.otf", 0),
    at("/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc", 2),
    at("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    at("/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc", 0),
    at("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", 0),
    at("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    at("/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc", 0),
    at("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    at("/usr/share/fonts/droid/DroidSansFallbackFull.ttf", 0),
];

fn resolve(candidate: &Candidate) -> PathBuf {
    #[cfg(windows)]
    {
        let root = std::env::var_os("WINDIR").map_or_else(|| PathBuf::from(r"C:\Windows"), PathBuf::from);
        root.join(candidate.path)
    }
    #[cfg(not(windows))]
    {
        PathBuf::from(candidate.path)
    }
}

/// The first CJK font found, read into memory; `None` when the machine has none we know.
pub fn find_cjk_font() -> Option<(PathBuf, Vec<u8>, u32)> {
    CANDIDATES.iter().find_map(|candidate| {
        let path = resolve(candidate);
        read(&path).map(|bytes| (path, bytes, candidate.index))
    })
}

fn read(path: &Path) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) if !bytes.is_empty() => Some(bytes),
        Ok(_) => None,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => {
            tracing::warn!("cannot read the font {}: {err}", path.display());
            None
        }
    }
}

/// Installs egui's fonts plus the CJK font as a fallback for both families. Returns the
/// path of the CJK font used, or `None` when Chinese text will show as boxes.
pub fn install(ctx: &egui::Context) -> Option<PathBuf> {
    let mut fonts = egui::FontDefinitions::default();
    let found = find_cjk_font();
    let path = found.map(|(path, bytes, index)| {
        let mut data = egui::FontData::from_owned(bytes);
        data.index = index;
        fonts.font_data.insert("cjk".to_owned(), Arc::new(data));
        for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
            fonts.families.entry(family).or_default().push("cjk".to_owned());
        }
        path
    });
    ctx.set_fonts(fonts);
    match &path {
        Some(path) => tracing::info!(font = %path.display(), "CJK font loaded"),
        None => tracing::warn!(
            "no Chinese font found (looked for Microsoft YaHei, PingFang, Noto Sans CJK, WenQuanYi); \
             Chinese text will not render — install one of them, e.g. fonts-noto-cjk"
        ),
    }
    path
}
