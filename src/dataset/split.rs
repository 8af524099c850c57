//! Train/validation split BY SONG (never by clip: clips of one song overlap and share the kit,
//! so splitting clips would leak), stratified by genre and seeded.

use rand::seq::SliceRandom;
use rand::SeedableRng;
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
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ fnv1a(g.as_bytes()));
        idx.shuffle(&mut rng);
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
