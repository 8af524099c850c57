//! How well a transcription matches a reference, per [`Part`]: a transcribed note is a hit
//! when it lies within a tolerance (default [`TOLERANCE_SECONDS`], the usual 30 ms of onset
//! evaluation) of a reference note of the same part that no other note has matched. Counts,
//! then precision, recall and F1.

use serde::Serialize;

use super::{Groove, Part};

/// Default matching tolerance (seconds).
pub const TOLERANCE_SECONDS: f64 = 0.03;

/// Matched, extra and missed notes of one part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Transcribed notes matched to a reference note.
    pub hits: usize,
    /// Transcribed notes with no reference note.
    pub extra: usize,
    /// Reference notes with no transcribed note.
    pub missed: usize,
}

impl Counts {
    pub fn add(&mut self, o: Counts) {
        self.hits += o.hits;
        self.extra += o.extra;
        self.missed += o.missed;
    }
    /// Matched over transcribed (1 when nothing was transcribed).
    pub fn precision(&self) -> f64 {
        ratio(self.hits, self.hits + self.extra)
    }
    /// Matched over reference (1 when the reference is empty).
    pub fn recall(&self) -> f64 {
        ratio(self.hits, self.hits + self.missed)
    }
    /// Harmonic mean of precision and recall (1 when both sides are empty).
    pub fn f1(&self) -> f64 {
        ratio(2 * self.hits, 2 * self.hits + self.extra + self.missed)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Counts of one part's onsets (seconds, each list in time order). Greedy in time order:
/// each reference onset takes the earliest unmatched transcribed onset within `tol` of it.
/// For onsets on a line with one tolerance this finds a largest matching.
pub fn match_onsets(reference: &[f64], transcribed: &[f64], tol: f64) -> Counts {
    let mut j = 0;
    let mut hits = 0;
    for &r in reference {
        while j < transcribed.len() && transcribed[j] < r - tol {
            j += 1;
        }
        if j < transcribed.len() && transcribed[j] <= r + tol {
            hits += 1;
            j += 1;
        }
    }
    Counts {
        hits,
        extra: transcribed.len() - hits,
        missed: reference.len() - hits,
    }
}

/// Counts per part of `transcribed` against `reference`, for notes starting before `until`
/// seconds (the end of the audio). Reference notes of one part closer than `tol` count as one
/// onset (a clap layered on a snare is one backbeat to a listener and to a transcription).
pub fn score(
    reference: &Groove,
    transcribed: &Groove,
    tol: f64,
    until: f64,
) -> Vec<(Part, Counts)> {
    let onsets = |g: &Groove, p| -> Vec<f64> {
        let mut v: Vec<f64> = g
            .part(p)
            .map(|n| n.seconds)
            .filter(|&s| s < until)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let merged = |v: Vec<f64>| -> Vec<f64> {
        let mut out: Vec<f64> = Vec::with_capacity(v.len());
        for s in v {
            if out.last().is_none_or(|&l| s - l > tol) {
                out.push(s);
            }
        }
        out
    };
    Part::ALL
        .into_iter()
        .map(|p| {
            (
                p,
                match_onsets(&merged(onsets(reference, p)), &onsets(transcribed, p), tol),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_counts_by_hand() {
        let r = [0.0, 0.5, 1.0, 1.5];
        // 0.02 matches 0.0; 0.45 is 50 ms off (extra, and 0.5 missed); 1.0 twice (one extra);
        // 1.5 missed.
        let t = [0.02, 0.45, 1.0, 1.01];
        let c = match_onsets(&r, &t, 0.03);
        assert_eq!(
            c,
            Counts {
                hits: 2,
                extra: 2,
                missed: 2
            }
        );
        assert!((c.precision() - 0.5).abs() < 1e-12);
        assert!((c.f1() - 0.5).abs() < 1e-12);
    }

    /// Greedy matching against an exhaustive search over all matchings, on random onsets.
    #[test]
    fn greedy_matching_is_a_largest_matching() {
        use rand::Rng;
        let mut rng = dsp::rng::SplitMix64::new(5);
        fn best(r: &[f64], t: &[f64], used: &mut Vec<bool>, tol: f64) -> usize {
            let Some((&first, rest)) = r.split_first() else {
                return 0;
            };
            let mut m = best(rest, t, used, tol);
            for j in 0..t.len() {
                if !used[j] && (t[j] - first).abs() <= tol {
                    used[j] = true;
                    m = m.max(1 + best(rest, t, used, tol));
                    used[j] = false;
                }
            }
            m
        }
        for _ in 0..200 {
            let mut r: Vec<f64> = (0..rng.gen_range(0..7))
                .map(|_| rng.gen_range(0.0..0.3))
                .collect();
            let mut t: Vec<f64> = (0..rng.gen_range(0..7))
                .map(|_| rng.gen_range(0.0..0.3))
                .collect();
            r.sort_by(f64::total_cmp);
            t.sort_by(f64::total_cmp);
            let want = best(&r, &t, &mut vec![false; t.len()], 0.03);
            assert_eq!(match_onsets(&r, &t, 0.03).hits, want, "{r:?} {t:?}");
        }
    }
}
