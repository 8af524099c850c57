//! Bar grids the user knows (`--bar-lines FILE`): a tab-separated list of songs, a time at
//! which a bar starts in each and optionally its tempo, for songs whose bar lines (or tempo)
//! the detector got wrong (listen with `dataset-info --clicks`). Such a song is cut on the bar
//! grid through that time, at the tempo given (refined by the audio, as a tag's is) or else
//! found as usual (tag, file name or detector).
//!
//! Format: one song per line, `path<TAB>seconds[<TAB>bpm]`; the path is relative to the songs
//! folder (or absolute), the seconds are any bar line's time from the start of the file (the
//! grid extends both ways). Empty lines and lines starting with `#` are skipped, and so is a
//! first line that reads `path<TAB>...` (a header).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What the user knows of one song's bar grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GivenGrid {
    /// A bar line (seconds from the start of the file).
    pub bar_line: f64,
    /// The tempo (BPM), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpm: Option<f32>,
}

/// Given bar grids by song (canonical path).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BarLines {
    by_song: HashMap<PathBuf, GivenGrid>,
    /// Lines naming files that do not exist, as `FILE:LINE: path` messages.
    pub missing: Vec<String>,
}

impl BarLines {
    /// Read `file`, paths relative to `songs`. A line that is not `path<TAB>seconds[<TAB>bpm]`
    /// (seconds finite and not negative, a tempo a tag could declare:
    /// [`dsp::decode::TAG_BPM_RANGE`]) is an error naming the file and the line.
    pub fn read(file: &Path, songs: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("{}: cannot read the bar lines: {e}", file.display()))?;
        Self::parse(&text, file, songs)
    }

    fn parse(text: &str, file: &Path, songs: &Path) -> anyhow::Result<Self> {
        let mut out = BarLines::default();
        for (i, line) in text.lines().enumerate() {
            let at = format!("{}:{}", file.display(), i + 1);
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty()
                || line.starts_with('#')
                || (i == 0 && line.starts_with("path\t"))
            {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
            let (path, seconds, bpm) = match fields[..] {
                [p, s] => (p, s, None),
                [p, s, b] => (p, s, Some(b)),
                _ => anyhow::bail!("{at}: expected 'path<TAB>seconds[<TAB>bpm]', got '{line}'"),
            };
            let bar_line: f64 = seconds
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| {
                    anyhow::anyhow!("{at}: '{seconds}' is not a time in seconds (0 or more)")
                })?;
            let bpm = bpm
                .map(|b| {
                    b.parse::<f32>()
                        .ok()
                        .filter(|b| dsp::decode::TAG_BPM_RANGE.contains(b))
                        .ok_or_else(|| {
                            let r = dsp::decode::TAG_BPM_RANGE;
                            anyhow::anyhow!(
                                "{at}: '{b}' is not a tempo in {}..={} BPM",
                                r.start(),
                                r.end()
                            )
                        })
                })
                .transpose()?;
            match songs.join(path).canonicalize() {
                Ok(song) => {
                    if out
                        .by_song
                        .insert(song, GivenGrid { bar_line, bpm })
                        .is_some()
                    {
                        anyhow::bail!("{at}: {path} is listed twice");
                    }
                }
                Err(_) => out.missing.push(format!("{at}: no such file {path}")),
            }
        }
        Ok(out)
    }

    /// Grids saved with a model ([`super::split::SavedSplit::bar_lines`]): keys are paths
    /// relative to `songs` with `/` separators; songs no longer there are left out.
    pub fn from_saved(songs: &Path, saved: &BTreeMap<String, GivenGrid>) -> Self {
        BarLines {
            by_song: saved
                .iter()
                .filter_map(|(key, &g)| Some((songs.join(key).canonicalize().ok()?, g)))
                .collect(),
            missing: Vec::new(),
        }
    }

    /// The grid given for `song`, if any.
    pub fn get(&self, song: &Path) -> Option<GivenGrid> {
        if self.by_song.is_empty() {
            return None;
        }
        self.by_song.get(&song.canonicalize().ok()?).copied()
    }

    /// Songs listed.
    pub fn len(&self) -> usize {
        self.by_song.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_song.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_and_bad_ones_named() {
        let tmp = tempfile::tempdir().unwrap();
        let songs = tmp.path().join("songs");
        std::fs::create_dir_all(songs.join("house")).unwrap();
        for f in ["house/a.mp3", "house/b c.wav"] {
            std::fs::write(songs.join(f), b"x").unwrap();
        }
        let file = tmp.path().join("bars.tsv");
        let text = "path\tseconds\tbpm\n# a comment\n\nhouse/a.mp3\t1.25\r\nhouse/b c.wav\t0\t92.5\nhouse/gone.mp3\t2\n";
        let b = BarLines::parse(text, &file, &songs).unwrap();
        assert_eq!(b.len(), 2);
        let grid = |bar_line, bpm| Some(GivenGrid { bar_line, bpm });
        assert_eq!(b.get(&songs.join("house/a.mp3")), grid(1.25, None));
        assert_eq!(
            b.get(&songs.join("house/../house/b c.wav")),
            grid(0.0, Some(92.5))
        );
        assert_eq!(b.get(&songs.join("house/other.mp3")), None);
        assert_eq!(b.missing.len(), 1);
        assert!(
            b.missing[0].ends_with("bars.tsv:6: no such file house/gone.mp3"),
            "{:?}",
            b.missing
        );
        for (bad, what) in [
            (
                "house/a.mp3 1.25\n",
                "bars.tsv:1: expected 'path<TAB>seconds[<TAB>bpm]'",
            ),
            ("house/a.mp3\t1\t90\textra\n", "bars.tsv:1: expected"),
            ("\nhouse/a.mp3\t-1\n", "bars.tsv:2: '-1' is not a time"),
            ("house/a.mp3\tNaN\n", "'NaN' is not a time"),
            ("house/a.mp3\t1\t1000\n", "'1000' is not a tempo"),
            ("house/a.mp3\t1\tfast\n", "'fast' is not a tempo"),
            (
                "house/a.mp3\t1\nhouse/a.mp3\t2\n",
                "bars.tsv:2: house/a.mp3 is listed twice",
            ),
        ] {
            let e = BarLines::parse(bad, &file, &songs).unwrap_err().to_string();
            assert!(e.contains(what), "{e}");
        }
        let e = BarLines::read(&tmp.path().join("none.tsv"), &songs).unwrap_err();
        assert!(
            e.to_string()
                .contains("none.tsv: cannot read the bar lines"),
            "{e}"
        );
    }
}
