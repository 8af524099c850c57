//! Finding songs: `SONGS/<genre>/<file>` gives the genre from the sub-folder's name; files
//! directly in SONGS get the genre `unlabelled`. Only audio extensions are considered; anything
//! else (and hidden files and folders, such as the cache) is ignored silently.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// File extensions treated as audio (case-insensitive).
pub const AUDIO_EXTENSIONS: [&str; 10] = [
    "mp3", "wav", "flac", "ogg", "oga", "m4a", "aac", "aif", "aiff", "caf",
];

/// Genre of files placed directly in the songs folder.
pub const UNLABELLED: &str = "unlabelled";

/// An audio file and its genre label.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SongFile {
    pub genre: String,
    pub path: PathBuf,
}

fn is_audio(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn hidden(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// All audio files under `root` (one level of genre folders), sorted by genre then path.
pub fn scan(root: &Path) -> anyhow::Result<Vec<SongFile>> {
    let meta = std::fs::metadata(root)
        .with_context(|| format!("{}: cannot open the songs folder", root.display()))?;
    if !meta.is_dir() {
        anyhow::bail!(
            "{}: is not a folder (expected SONGS/<genre>/*.mp3)",
            root.display()
        );
    }
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(root).with_context(|| format!("{}: cannot list", root.display()))?;
    for entry in entries.flatten() {
        let p = entry.path();
        if hidden(&p) {
            continue;
        }
        // Anything named like audio counts, even a directory: decoding reports the problem.
        if is_audio(&p) {
            out.push(SongFile {
                genre: UNLABELLED.into(),
                path: p,
            });
        } else if p.is_dir() {
            let genre = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(UNLABELLED)
                .to_string();
            let Ok(files) = std::fs::read_dir(&p) else {
                continue;
            };
            for f in files.flatten() {
                let fp = f.path();
                if !hidden(&fp) && is_audio(&fp) {
                    out.push(SongFile {
                        genre: genre.clone(),
                        path: fp,
                    });
                }
            }
        }
    }
    out.sort();
    Ok(out)
}
