//! Train/validation split BY SONG (never by clip: clips of one song overlap and share the kit,
//! so splitting clips would leak), stratified by genre and seeded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::features::fnv1a;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Validation,
}

/// For songs given as (genre, path) pairs, assign each a split: per genre, a seeded shuffle and
/// `round(n * validation_fraction)` songs for validation (at least one when the genre has two
/// or more songs, none when it has one). Returns the splits, in input order, and the genres
/// that had a single song.
pub fn split_by_song(
    songs: &[(String, String)],
    validation_fraction: f32,
    seed: u64,
) -> (Vec<Split>, Vec<String>) {
    let mut out = vec![Split::Train; songs.len()];
    let mut single = Vec::new();
    let mut genres: Vec<&String> = songs.iter().map(|s| &s.0).collect();
    genres.sort();
    genres.dedup();
    for g in genres {
        let mut idx: Vec<usize> = (0..songs.len()).filter(|&i| &songs[i].0 == g).collect();
        // Shuffle a canonical order (by path), so the split does not depend on scan order.
        idx.sort_by(|&a, &b| songs[a].1.cmp(&songs[b].1));
        dsp::rng::SplitMix64::new(seed ^ fnv1a(g.as_bytes())).shuffle(&mut idx);
        let n = idx.len();
        if n == 1 {
            single.push(g.clone());
            continue;
        }
        let n_val = ((n as f32 * validation_fraction).round() as usize)
            .clamp(usize::from(validation_fraction > 0.0), n - 1);
        for &i in &idx[..n_val] {
            out[i] = Split::Validation;
        }
    }
    (out, single)
}

/// A split as saved with a model: the songs of each side, as paths relative to the songs folder
/// with `/` separators (`trap/beat-01.mp3`), so that the folder may move. Read back, it decides
/// what counts as held out, whatever has been added to or removed from the folder since. It
/// also keeps the bar lines the user gave (`--bar-lines`), so that the model's songs are cut
/// the same way when it is evaluated or its training resumes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedSplit {
    pub train: BTreeSet<String>,
    pub validation: BTreeSet<String>,
    /// The bar grids the user gave (`--bar-lines`), by the same keys: the grid's first bar
    /// line and the tempo, if given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bar_lines: BTreeMap<String, super::bar_lines::GivenGrid>,
}

impl SavedSplit {
    /// The key of `path` inside `root`: its components below `root`, joined by `/`.
    pub fn key(root: &Path, path: &Path) -> String {
        let rel = path.strip_prefix(root).unwrap_or(path);
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The saved side of a song, `None` for a song the model never saw listed.
    pub fn get(&self, key: &str) -> Option<Split> {
        if self.validation.contains(key) {
            Some(Split::Validation)
        } else if self.train.contains(key) {
            Some(Split::Train)
        } else {
            None
        }
    }

    pub fn insert(&mut self, key: String, split: Split) {
        match split {
            Split::Train => self.train.insert(key),
            Split::Validation => self.validation.insert(key),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn songs() -> Vec<(String, String)> {
        let mut v = Vec::new();
        for (g, n) in [("trap", 10), ("house", 5), ("solo", 1)] {
            for i in 0..n {
                v.push((g.to_string(), format!("{g}/{i}.mp3")));
            }
        }
        v
    }

    #[test]
    fn stratified_seeded_and_single_song_genres_train_only() {
        let s = songs();
        let (a, single) = split_by_song(&s, 0.2, 7);
        let count = |g: &str, sp: Split| {
            s.iter()
                .zip(&a)
                .filter(|(x, y)| x.0 == g && **y == sp)
                .count()
        };
        assert_eq!(count("trap", Split::Validation), 2);
        assert_eq!(count("house", Split::Validation), 1);
        assert_eq!(count("solo", Split::Train), 1);
        assert_eq!(single, vec!["solo".to_string()]);
        // Same seed, same split, whatever the input order; another seed, another split.
        let mut rev = s.clone();
        rev.reverse();
        let (b, _) = split_by_song(&rev, 0.2, 7);
        let mut b_fwd = b.clone();
        b_fwd.reverse();
        assert_eq!(a, b_fwd);
        let (c, _) = split_by_song(&s, 0.2, 8);
        assert_ne!(a, c);
    }
}
