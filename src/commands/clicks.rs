//! `dataset-info --clicks DIR`: every song with a metronome on the bar grid it was cut on, so
//! that its tempo and bar lines can be checked by ear (a high click on each bar line, a lower
//! one on the other beats; see [`dsp::metronome`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::dataset::features::{bar_samples, FeatureConfig};
use crate::dataset::{Dataset, Skipped, Song};
use crate::listen_page::{Entry, Page, Section};
use dsp::metronome::{BeatGrid, Metronome};

/// What `--clicks` wrote.
#[derive(Debug, serde::Serialize)]
pub struct ClicksWritten {
    pub dir: PathBuf,
    /// Files written, one per song with a bar grid.
    pub files: Vec<PathBuf>,
    /// Songs not written, with the reason.
    pub failed: Vec<Skipped>,
    /// The listening page.
    pub page: PathBuf,
}

/// Refuse what `--clicks dir` cannot do, before any song is read (fixed clips have no bar
/// grid, and the songs folder is never written to), and create `dir`.
pub fn check(cfg: &FeatureConfig, dir: &Path, songs: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        cfg.grid.is_some(),
        "--clicks needs the bar grid (--representation bars)"
    );
    anyhow::ensure!(
        !is_within(dir, songs),
        "--clicks {}: inside the songs folder {}, which beatgen never writes to",
        dir.display(),
        songs.display()
    );
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("--clicks {}: cannot create the folder: {e}", dir.display()))
}

/// Write each song of `ds` that has a bar grid, with its metronome, to
/// `dir/<genre>/<file stem>.clicks.<ext>` (`ext`: `mp3` or `wav`), at the model's sample rate
/// ([`check`] first), and a listening page, `dir/index.html`, with every song's grid under
/// its player.
pub fn write(
    ds: &Dataset,
    cfg: &FeatureConfig,
    dir: &Path,
    ext: &str,
) -> anyhow::Result<ClicksWritten> {
    check(cfg, dir, &ds.root)?;
    let jobs = output_paths(&ds.songs, cfg, dir, ext);
    let bar = crate::progress::bar(jobs.len() as u64, "click tracks");
    let results: Vec<anyhow::Result<()>> = jobs
        .par_iter()
        .map(|(song, grid, out)| {
            let r = write_one(song, grid, cfg.sample_rate, out);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let (mut files, mut failed) = (Vec::new(), Vec::new());
    let mut sections: Vec<Section> = Vec::new();
    for ((song, _, out), r) in jobs.into_iter().zip(results) {
        if let Err(e) = r {
            log::warn!("{}: no click track: {e:#}", song.path.display());
            failed.push(Skipped {
                path: song.path.clone(),
                reason: format!("{e:#}"),
            });
            continue;
        }
        let entry = Entry {
            audio: out.clone(),
            image: None,
            caption: caption(song),
            midi: None,
        };
        match sections.iter_mut().find(|s| s.title == song.genre) {
            Some(s) => s.entries.push(entry),
            None => sections.push(Section {
                title: song.genre.clone(),
                entries: vec![entry],
            }),
        }
        files.push(out);
    }
    let page = Page {
        title: format!("beatgen: the bar grids of {}", ds.root.display()),
        summary: vec![format!(
            "Each song with a metronome ({}) on the bar grid where beatgen cuts its examples. \
             The high click should fall on the \"one\" of each bar, the low ones on the other \
             beats.",
            pitches()
        )],
        preformatted: None,
        sections,
    };
    Ok(ClicksWritten {
        dir: dir.to_path_buf(),
        files,
        failed,
        page: page.write(dir)?,
    })
}

/// The metronome's pitches, for messages: "2 kHz on each bar line, 1 kHz on the other beats".
pub fn pitches() -> String {
    let m = Metronome::default();
    format!(
        "{} kHz on each bar line, {} kHz on the other beats",
        m.bar_hz / 1000.0,
        m.beat_hz / 1000.0
    )
}

/// One song's grid, for the listening page.
fn caption(s: &Song) -> String {
    let mut c = format!(
        "{:.1} BPM ({}), first bar line at {:.3} s (confidence {:.2})",
        s.meta.tempo_bpm.unwrap_or(f32::NAN),
        s.tempo_source.name(),
        s.meta.downbeat_seconds.unwrap_or(f64::NAN),
        s.meta.downbeat_confidence
    );
    if s.tempo_unsure() {
        c.push_str("; tempo unsure");
    }
    if s.bar_lines_unsure() {
        c.push_str("; bar lines unsure");
    }
    c
}

/// A song's bar grid in samples at `sample_rate`, when it has one.
fn beat_grid(song: &Song, sample_rate: u32) -> Option<BeatGrid> {
    let (bpm, first) = (song.meta.tempo_bpm?, song.meta.downbeat_seconds?);
    let beats_per_bar = dsp::downbeat::BEATS_PER_BAR;
    Some(BeatGrid {
        bar_line: first * sample_rate as f64,
        beat: bar_samples(bpm, sample_rate) / beats_per_bar as f64,
        beats_per_bar,
    })
}

/// Each song with a bar grid, its grid and its output file: `<stem>.clicks.<ext>` in its
/// genre's folder, or `<file name>.clicks.<ext>` when another song of the genre has the same
/// stem.
fn output_paths<'a>(
    songs: &'a [Song],
    cfg: &FeatureConfig,
    dir: &Path,
    ext: &str,
) -> Vec<(&'a Song, BeatGrid, PathBuf)> {
    let mut used = HashSet::new();
    songs
        .iter()
        .filter_map(|s| Some((s, beat_grid(s, cfg.sample_rate)?)))
        .map(|(s, grid)| {
            let folder = dir.join(&s.genre);
            let name = |base: &std::ffi::OsStr| {
                let mut n = base.to_os_string();
                n.push(format!(".clicks.{ext}"));
                folder.join(n)
            };
            let mut out = name(s.path.file_stem().unwrap_or_default());
            if !used.insert(out.clone()) {
                out = name(s.path.file_name().unwrap_or_default());
                used.insert(out.clone());
            }
            (s, grid, out)
        })
        .collect()
}

/// Decode `song` again at `sample_rate`, add the metronome of `grid`, limit the peaks and
/// write `out`.
fn write_one(song: &Song, grid: &BeatGrid, sample_rate: u32, out: &Path) -> anyhow::Result<()> {
    let opts = dsp::DecodeOptions {
        sample_rate,
        ..Default::default()
    };
    let mut x = dsp::decode_file(&song.path, &opts)?.samples;
    Metronome::default().add_to(&mut x, sample_rate, grid);
    dsp::limiter::Limiter::default().apply(&mut x, sample_rate, false);
    if let Some(folder) = out.parent() {
        std::fs::create_dir_all(folder)
            .map_err(|e| anyhow::anyhow!("{}: {e}", folder.display()))?;
    }
    dsp::write_audio(out, &x, sample_rate, &dsp::EncodeOptions::default())?;
    Ok(())
}

/// Whether `path` (which need not exist yet) lies inside the existing folder `root`: links in
/// the part that exists are resolved, `.` and `..` in the rest are applied as written (what
/// creating the folders would do).
fn is_within(path: &Path, root: &Path) -> bool {
    let (Ok(root), Ok(mut existing)) = (root.canonicalize(), std::path::absolute(path)) else {
        return false;
    };
    // The components past the longest part that exists, last first.
    let mut rest = Vec::new();
    while !existing.exists() {
        let Some(last) = existing.components().next_back() else {
            return false;
        };
        rest.push(last.as_os_str().to_owned());
        if !existing.pop() {
            return false;
        }
    }
    let Ok(mut resolved) = existing.canonicalize() else {
        return false;
    };
    for part in rest.iter().rev() {
        if part == ".." {
            resolved.pop();
        } else {
            resolved.push(part);
        }
    }
    resolved.starts_with(&root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::cache::SongMeta;
    use crate::dataset::split::Split;
    use crate::dataset::tempo_choice::TempoSource;

    fn song(path: &str, grid: bool) -> Song {
        Song {
            path: PathBuf::from(path),
            genre: path.split('/').nth(1).unwrap().to_string(),
            split: Split::Train,
            meta: SongMeta {
                tempo_bpm: grid.then_some(90.0),
                downbeat_seconds: grid.then_some(0.5),
                ..SongMeta::new(0)
            },
            tempo_source: TempoSource::Detector,
            tempo_margin: 1.0,
            cache_file: PathBuf::new(),
            data_offset: 0,
        }
    }

    #[test]
    fn each_song_with_a_grid_gets_its_own_file() {
        let songs = [
            song("songs/house/a.mp3", true),
            song("songs/house/a.wav", true),
            song("songs/trap/a.mp3", true),
            song("songs/trap/no grid.mp3", false),
        ];
        let cfg = FeatureConfig::default();
        let got: Vec<(String, PathBuf)> = output_paths(&songs, &cfg, Path::new("out"), "wav")
            .into_iter()
            .map(|(s, _, p)| (s.path.display().to_string(), p))
            .collect();
        let want = [
            ("songs/house/a.mp3", "out/house/a.clicks.wav"),
            ("songs/house/a.wav", "out/house/a.wav.clicks.wav"),
            ("songs/trap/a.mp3", "out/trap/a.clicks.wav"),
        ];
        assert_eq!(got, want.map(|(s, p)| (s.to_string(), PathBuf::from(p))));
    }

    #[test]
    fn paths_inside_the_songs_folder_are_recognised_however_written() {
        let tmp = tempfile::tempdir().unwrap();
        let songs = tmp.path().join("songs");
        std::fs::create_dir_all(songs.join("house")).unwrap();
        let out = tmp.path().join("out");
        assert!(is_within(&songs, &songs));
        assert!(is_within(&songs.join("house"), &songs));
        assert!(is_within(&songs.join("new/deeper"), &songs));
        assert!(is_within(&out.join("../songs/x"), &songs));
        assert!(is_within(&songs.join("house/../../songs/y"), &songs));
        assert!(!is_within(&out, &songs));
        assert!(!is_within(&songs.join("../out"), &songs));
        assert!(!is_within(&tmp.path().join("songs2"), &songs));
        #[cfg(unix)]
        {
            let link = tmp.path().join("link");
            std::os::unix::fs::symlink(&songs, &link).unwrap();
            assert!(is_within(&link.join("z"), &songs));
        }
    }
}
