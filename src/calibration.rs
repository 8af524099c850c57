//! Output calibration: per genre and per band, a monotone map from the levels the decoder
//! produces to the levels of the training clips (quantile matching).
//!
//! A decoder trained with a reconstruction loss predicts the middle of what it cannot place:
//! between hits it writes a smooth, raised floor where real clips are near silence, and the
//! hits come out lower. The ranks of its levels are right (a hit is louder than the gap after
//! it), their distribution is not. The calibration keeps the ranks and restores the
//! distribution: for a genre `g` and band `b`, the level at quantile `q` of the decoder's
//! output on samples of the genre's latent distribution maps to the level at quantile `q` of
//! the genre's training clips in that band. Between the [`KNOTS`] quantiles the map is linear;
//! beyond the ends it continues with slope 1.
//!
//! Levels are in the model's standardised band units (what the decoder outputs, before the
//! normalisation is undone). The map is fitted once, after training, from the best weights.
//!
//! The calibration also holds each genre's strength of the spectral postfilter
//! ([`crate::postfilter`]), fitted at the same time on the calibrated, denormalised levels:
//! the quantile maps restore each band's level distribution, the postfilter the contrast
//! between neighbouring bands.

/// Quantiles per band: the levels at `q = k / (KNOTS - 1)`, `k = 0..KNOTS`.
pub const KNOTS: usize = 65;

/// The maps of every genre and band: `source[(g * bands + b) * KNOTS + k]` is the decoder's
/// level at quantile `k`, `target[...]` the training clips' level at the same quantile.
/// `postfilter[g]` is genre `g`'s postfilter strength; `None` for a calibration fitted before
/// the strengths were (the postfilter is then off).
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub genres: usize,
    pub bands: usize,
    pub source: Vec<f32>,
    pub target: Vec<f32>,
    pub postfilter: Option<Vec<f32>>,
}

/// The levels at the [`KNOTS`] quantiles of `values` (sorted in place; not empty). Quantile
/// `q` is read at position `q * (n - 1)`, interpolating between neighbours.
pub fn quantiles(values: &mut [f32]) -> Vec<f32> {
    assert!(!values.is_empty(), "quantiles of no values");
    values.sort_unstable_by(f32::total_cmp);
    let last = (values.len() - 1) as f64;
    (0..KNOTS)
        .map(|k| {
            let pos = k as f64 / (KNOTS - 1) as f64 * last;
            let (i, frac) = (pos.floor() as usize, (pos - pos.floor()) as f32);
            let j = (i + 1).min(values.len() - 1);
            values[i] + frac * (values[j] - values[i])
        })
        .collect()
}

/// The mean over clips of each clip's [`quantiles`] in band `b` (frame-major clips of `bands`
/// values per frame); `None` without clips. Averaging each clip's own quantiles, rather than
/// taking the quantiles of all clips' levels pooled, keeps the spread between clips out of the
/// map: a clip is mapped to the levels a typical real clip spans, not to those of the whole
/// folder.
fn mean_quantiles(clips: &[Vec<f32>], b: usize, bands: usize) -> Option<Vec<f32>> {
    let mut sum = vec![0.0f64; KNOTS];
    let mut column = Vec::new();
    for c in clips {
        column.clear();
        column.extend(c.iter().skip(b).step_by(bands));
        if column.is_empty() {
            continue;
        }
        for (s, q) in sum.iter_mut().zip(quantiles(&mut column)) {
            *s += q as f64;
        }
    }
    (!clips.is_empty()).then(|| {
        sum.iter()
            .map(|s| (s / clips.len() as f64) as f32)
            .collect()
    })
}

/// Map `x` through the piecewise-linear curve through `(source[k], target[k])` (`source`
/// non-decreasing), with slope 1 beyond its ends. Where several knots share one source level
/// (a level the decoder produces exactly, many times), `x` at that level maps to the middle of
/// their targets.
pub fn map_level(x: f32, source: &[f32], target: &[f32]) -> f32 {
    let n = source.len();
    if x.is_nan() {
        return x;
    }
    if x < source[0] {
        return target[0] + (x - source[0]);
    }
    if x > source[n - 1] {
        return target[n - 1] + (x - source[n - 1]);
    }
    // Knots at exactly x (ties: a level the decoder produces many times) map to the middle
    // of their targets; otherwise x lies strictly between two knots.
    let below = source.partition_point(|&s| s < x);
    let upto = source.partition_point(|&s| s <= x);
    if below < upto {
        return target[below..upto].iter().sum::<f32>() / (upto - below) as f32;
    }
    let (lo, hi) = (upto - 1, upto);
    target[lo] + (x - source[lo]) / (source[hi] - source[lo]) * (target[hi] - target[lo])
}

impl Calibration {
    /// No genres yet; add them in order with [`Calibration::push_genre`].
    pub fn new(bands: usize) -> Self {
        Calibration {
            genres: 0,
            bands,
            source: Vec::new(),
            target: Vec::new(),
            postfilter: Some(Vec::new()),
        }
    }

    /// Fit the next genre's maps from the decoder's levels and the training clips' levels,
    /// both frame-major clips of `bands` values per frame (`clip[t * bands + b]`). Without
    /// clips on either side the genre gets the identity map. Its postfilter strength starts
    /// at 0 (set it with the clips calibrated and in dB, [`crate::postfilter::fit_strength`]).
    pub fn push_genre(&mut self, decoded: &[Vec<f32>], real: &[Vec<f32>]) {
        let bands = self.bands;
        let identity: Vec<f32> = (0..KNOTS)
            .map(|k| k as f32 / (KNOTS - 1) as f32 * 8.0 - 4.0)
            .collect();
        for b in 0..bands {
            let (d, r) = (
                mean_quantiles(decoded, b, bands),
                mean_quantiles(real, b, bands),
            );
            match (d, r) {
                (Some(d), Some(r)) => {
                    self.source.extend(d);
                    self.target.extend(r);
                }
                _ => {
                    self.source.extend(&identity);
                    self.target.extend(&identity);
                }
            }
        }
        if let Some(strengths) = &mut self.postfilter {
            strengths.push(0.0);
        }
        self.genres += 1;
    }

    /// The postfilter strength for genre weights `genre`: the weighted mean of the genres'
    /// (0 without fitted strengths).
    pub fn postfilter_strength(&self, genre: &[f32]) -> f32 {
        let total: f32 = genre.iter().sum();
        let Some(strengths) = &self.postfilter else {
            return 0.0;
        };
        if total <= 0.0 {
            return 0.0;
        }
        genre.iter().zip(strengths).map(|(w, s)| w * s).sum::<f32>() / total
    }

    /// Calibrate a frame-major clip in place for genre weights `genre` (one per genre; a
    /// mixture blends the genres' maps by weight, a one-hot uses its genre's).
    pub fn apply(&self, clip: &mut [f32], genre: &[f32]) {
        let total: f32 = genre.iter().sum();
        if total <= 0.0 {
            return;
        }
        for (i, v) in clip.iter_mut().enumerate() {
            let b = i % self.bands;
            let x = *v;
            *v = genre
                .iter()
                .enumerate()
                .filter(|(_, &w)| w > 0.0)
                .map(|(g, &w)| {
                    let at = (g * self.bands + b) * KNOTS;
                    w * map_level(
                        x,
                        &self.source[at..at + KNOTS],
                        &self.target[at..at + KNOTS],
                    )
                })
                .sum::<f32>()
                / total;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsp::rng::SplitMix64;

    #[test]
    fn quantiles_of_a_ramp_are_exact() {
        let mut v: Vec<f32> = (0..=128).rev().map(|i| i as f32).collect();
        let q = quantiles(&mut v);
        for (k, x) in q.iter().enumerate() {
            assert!((x - 2.0 * k as f32).abs() < 1e-5, "knot {k}: {x}");
        }
    }

    /// Decoder levels that are a squeezed, shifted copy of the real ones (a blur's raised
    /// floor and lowered peaks): within the levels the knots span (the mean clip's lowest to
    /// highest), the fitted map undoes the squeeze exactly, for the genre asked for, and a
    /// 50/50 mixture lands halfway between two genres' maps.
    #[test]
    fn fit_undoes_a_monotone_distortion_per_genre_and_band() {
        let mut rng = SplitMix64::new(7);
        let bands = 3;
        let real: Vec<Vec<f32>> = (0..40)
            .map(|_| (0..bands * 50).map(|_| rng.normal() * 2.0 - 1.0).collect())
            .collect();
        let squeeze = |x: f32, b: usize| 0.3 * x + 0.5 + b as f32;
        let decoded: Vec<Vec<f32>> = real
            .iter()
            .map(|c| {
                c.iter()
                    .enumerate()
                    .map(|(i, &x)| squeeze(x, i % bands))
                    .collect()
            })
            .collect();
        let other: Vec<Vec<f32>> = decoded
            .iter()
            .map(|c| c.iter().map(|x| x + 10.0).collect())
            .collect();
        let mut cal = Calibration::new(bands);
        cal.push_genre(&decoded, &real);
        cal.push_genre(&decoded, &other);
        let inside = |i: usize, x: f32| {
            let at = (i % bands) * KNOTS;
            (cal.source[at]..=cal.source[at + KNOTS - 1]).contains(&x)
        };
        let (mut clip, mut mixed) = (decoded[3].clone(), decoded[3].clone());
        cal.apply(&mut clip, &[1.0, 0.0]);
        cal.apply(&mut mixed, &[0.5, 0.5]);
        let mut checked = 0;
        for (i, &x) in decoded[3].iter().enumerate() {
            if !inside(i, x) {
                continue;
            }
            checked += 1;
            let want = real[3][i];
            assert!((clip[i] - want).abs() < 1e-3, "{} vs {want}", clip[i]);
            let second = squeeze(want, i % bands) + 10.0;
            assert!(
                (mixed[i] - 0.5 * (want + second)).abs() < 1e-3,
                "{}",
                mixed[i]
            );
        }
        assert!(checked > clip.len() * 8 / 10, "{checked} of {}", clip.len());
    }

    /// Real clips that differ from each other by a level offset (-5 to +5) and decoded clips
    /// that all sit at the mean level with the same shape (a decoder that lost the spread
    /// between clips): the map must not stretch each decoded clip over the whole folder's
    /// range, as quantiles of all levels pooled would. The spread within a clip stays.
    #[test]
    fn the_spread_between_clips_stays_out_of_the_map() {
        let mut rng = SplitMix64::new(11);
        let shape: Vec<Vec<f32>> = (0..41)
            .map(|_| (0..200).map(|_| rng.normal()).collect())
            .collect();
        let real: Vec<Vec<f32>> = shape
            .iter()
            .enumerate()
            .map(|(c, v)| v.iter().map(|x| x + (c as f32 - 20.0) / 4.0).collect())
            .collect();
        let mut cal = Calibration::new(1);
        cal.push_genre(&shape, &real);
        let sd = |v: &[f32]| {
            let m = v.iter().sum::<f32>() / v.len() as f32;
            (v.iter().map(|x| (x - m).powi(2)).sum::<f32>() / v.len() as f32).sqrt()
        };
        let mut clip = shape[0].clone();
        cal.apply(&mut clip, &[1.0]);
        let ratio = sd(&clip) / sd(&shape[0]);
        assert!(
            (ratio - 1.0).abs() < 0.1,
            "spread within the clip scaled by {ratio}"
        );
    }

    #[test]
    fn map_is_monotone_with_slope_one_beyond_the_ends_and_handles_ties() {
        let source = [0.0, 1.0, 1.0, 1.0, 3.0];
        let target = [-2.0, 0.0, 1.0, 2.0, 6.0];
        assert_eq!(map_level(-1.0, &source, &target), -3.0);
        assert_eq!(map_level(5.0, &source, &target), 8.0);
        assert_eq!(map_level(0.5, &source, &target), -1.0);
        assert_eq!(map_level(2.0, &source, &target), 4.0);
        assert_eq!(map_level(1.0, &source, &target), 1.0);
        let mut last = f32::NEG_INFINITY;
        for i in -20..=60 {
            let y = map_level(i as f32 * 0.1, &source, &target);
            assert!(y >= last, "not monotone at {}", i as f32 * 0.1);
            last = y;
        }
    }
}
