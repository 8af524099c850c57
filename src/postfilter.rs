//! A spectral postfilter for decoded spectrograms: each frame's band levels (dB) are pushed
//! away from their local mean across neighbouring bands,
//! `y[b] = x[b] + strength (x[b] - mean(x[b - 2 ..= b + 2]))` (the window shrinks at the edges).
//! `x[b] - mean(...)` is the frame's *fine structure*.
//!
//! A decoder trained with a reconstruction loss smooths across frequency what it cannot place
//! (the pitch of a chord, the exact colour of a hat), so its frames are flatter than real ones:
//! harmonic lines blur into a haze. Enhancing the spectral fine structure against its local
//! mean is the postfilter of statistical speech synthesis (formant or spectral enhancement of
//! over-smoothed generated spectra), here on the model's mel bands. It sharpens whatever fine
//! structure the decoder made, real lines and ripples alike; a frame whose bands are all at one
//! level is unchanged.
//!
//! The strength is fitted per genre after training ([`fit_strength`], stored with the output
//! calibration): the one that gives decoded clips the fine-structure RMS of the genre's
//! training clips, as global-variance compensation does in speech synthesis.

use std::fmt;
use std::str::FromStr;

use crate::calibration::Calibration;

/// Bands in the local mean (centred).
pub const WIDTH: usize = 5;

/// Largest strength accepted (4 multiplies the fine structure by about 5).
pub const MAX_STRENGTH: f32 = 4.0;

/// Which strength a decoder output gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Postfilter {
    /// The strength fitted for each genre when the model was trained (0 for a model without
    /// one); a genre mixture gets the weighted mean of its genres' strengths.
    Fitted,
    /// This strength for every genre, `0..=MAX_STRENGTH`; 0 is off.
    Strength(f32),
}

impl Postfilter {
    /// The strength for genre weights `genre` (one per genre) of a model whose output
    /// calibration, holding the fitted strengths, is `calibration`.
    pub fn strength(self, calibration: Option<&Calibration>, genre: &[f32]) -> f32 {
        match (self, calibration) {
            (Postfilter::Strength(s), _) => s,
            (Postfilter::Fitted, Some(cal)) => cal.postfilter_strength(genre),
            (Postfilter::Fitted, None) => 0.0,
        }
    }

    /// The strength for genre `g` alone, of `genres` (see [`Postfilter::strength`]).
    pub fn strength_for_genre(
        self,
        calibration: Option<&Calibration>,
        g: usize,
        genres: usize,
    ) -> f32 {
        let mut one_hot = vec![0.0; genres];
        one_hot[g] = 1.0;
        self.strength(calibration, &one_hot)
    }
}

impl fmt::Display for Postfilter {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Postfilter::Fitted => write!(f, "fitted"),
            Postfilter::Strength(s) => write!(f, "{s}"),
        }
    }
}

impl FromStr for Postfilter {
    type Err = String;

    /// `fitted`, or a strength in `0..=MAX_STRENGTH`.
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "fitted" {
            return Ok(Postfilter::Fitted);
        }
        match s.parse::<f32>() {
            Ok(v) if (0.0..=MAX_STRENGTH).contains(&v) => Ok(Postfilter::Strength(v)),
            _ => Err(format!(
                "expected `fitted` or a strength in 0..={MAX_STRENGTH}, got `{s}`"
            )),
        }
    }
}

/// The fine structure of one frame: `out[b] = frame[b] - mean(frame[b - 2 ..= b + 2])`.
fn fine_structure(frame: &[f32], out: &mut [f32]) {
    let half = WIDTH / 2;
    let n = frame.len();
    for (b, o) in out.iter_mut().enumerate() {
        let window = &frame[b.saturating_sub(half)..(b + half + 1).min(n)];
        *o = frame[b] - window.iter().sum::<f32>() / window.len() as f32;
    }
}

/// Apply the postfilter to a frame-major clip of `bands` values per frame, in place.
/// `strength` 0 leaves it unchanged.
pub fn sharpen(clip: &mut [f32], bands: usize, strength: f32) {
    if strength == 0.0 || bands == 0 {
        return;
    }
    let mut fine = vec![0.0f32; bands];
    for frame in clip.chunks_exact_mut(bands) {
        fine_structure(frame, &mut fine);
        for (y, d) in frame.iter_mut().zip(&fine) {
            *y += strength * d;
        }
    }
}

/// Root mean square (dB) of the fine structure over every frame of frame-major `clips`.
pub fn fine_structure_rms(clips: &[Vec<f32>], bands: usize) -> f32 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    let mut fine = vec![0.0f32; bands];
    for frame in clips.iter().flat_map(|c| c.chunks_exact(bands)) {
        fine_structure(frame, &mut fine);
        sum += fine.iter().map(|&d| (d as f64).powi(2)).sum::<f64>();
        n += bands;
    }
    if n == 0 {
        0.0
    } else {
        (sum / n as f64).sqrt() as f32
    }
}

/// The strength that gives the `decoded` clips the fine-structure RMS of the `real` ones
/// (both frame-major clips of `bands` dB levels), within `0..=MAX_STRENGTH`: 0 when the
/// decoded clips already have as much fine structure.
///
/// The fine structure `F` is linear in the frame, so after the postfilter it is
/// `F(x) + s F(F(x))`, and its mean square `A + 2 s B + s^2 C` (with `A = |F(x)|^2`,
/// `B = F(x) . F(F(x))`, `C = |F(F(x))|^2`) is solved for the real clips' mean square exactly.
pub fn fit_strength(decoded: &[Vec<f32>], real: &[Vec<f32>], bands: usize) -> f32 {
    let target = (fine_structure_rms(real, bands) as f64).powi(2);
    let (mut a, mut b, mut c, mut n) = (0.0f64, 0.0f64, 0.0f64, 0usize);
    let (mut f1, mut f2) = (vec![0.0f32; bands], vec![0.0f32; bands]);
    for frame in decoded.iter().flat_map(|c| c.chunks_exact(bands)) {
        fine_structure(frame, &mut f1);
        fine_structure(&f1, &mut f2);
        for (&p, &q) in f1.iter().zip(&f2) {
            let (p, q) = (p as f64, q as f64);
            a += p * p;
            b += p * q;
            c += q * q;
        }
        n += bands;
    }
    if n == 0 || c <= 0.0 {
        return 0.0;
    }
    let (a, b, c) = (a / n as f64, b / n as f64, c / n as f64);
    if a >= target {
        return 0.0;
    }
    // The larger root of c s^2 + 2 b s + (a - target) = 0; a < target makes it positive.
    let s = (-b + (b * b - c * (a - target)).sqrt()) / c;
    (s as f32).clamp(0.0, MAX_STRENGTH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsp::rng::SplitMix64;

    #[test]
    fn a_peak_rises_above_its_neighbours_and_flat_frames_stay() {
        // Frame 0: flat at -30 dB; frame 1: a 10 dB peak at band 4 of 9 over -40 dB.
        let mut clip = vec![-30.0f32; 9];
        clip.extend((0..9).map(|b| if b == 4 { -30.0 } else { -40.0 }));
        let before = clip.clone();
        sharpen(&mut clip, 9, 1.0);
        assert!(clip[..9].iter().all(|&v| (v + 30.0).abs() < 1e-5));
        // The peak's local mean is -38 dB: it rises by 8 dB; a neighbour within 2 bands has
        // a mean of -38 too and falls by 2 dB; a band 3 away does not see the peak.
        let f = &clip[9..];
        assert!((f[4] - -22.0).abs() < 1e-4, "{}", f[4]);
        assert!((f[3] - -42.0).abs() < 1e-4, "{}", f[3]);
        assert!((f[1] - -40.0).abs() < 1e-4, "{}", f[1]);
        // Strength 0 is the identity.
        let mut same = before.clone();
        sharpen(&mut same, 9, 0.0);
        assert_eq!(same, before);
    }

    /// Real clips with a random fine structure over a slope; decoded clips with the same
    /// structure smoothed (each frame averaged with its neighbours' bands, as a blurring
    /// decoder does). The fitted strength, applied by `sharpen` and measured again by
    /// `fine_structure_rms`, restores the real RMS; clips as sharp as real ones get 0.
    #[test]
    fn the_fitted_strength_restores_the_real_fine_structure() {
        let (bands, frames) = (32, 40);
        let mut rng = SplitMix64::new(3);
        let real: Vec<Vec<f32>> = (0..6)
            .map(|_| {
                (0..frames * bands)
                    .map(|i| -60.0 + (i % bands) as f32 * 0.5 + 6.0 * rng.normal())
                    .collect()
            })
            .collect();
        let blurred: Vec<Vec<f32>> = real
            .iter()
            .map(|c| {
                c.chunks_exact(bands)
                    .flat_map(|f| {
                        (0..bands).map(move |b| {
                            let w = &f[b.saturating_sub(1)..(b + 2).min(bands)];
                            w.iter().sum::<f32>() / w.len() as f32
                        })
                    })
                    .collect()
            })
            .collect();
        let want = fine_structure_rms(&real, bands);
        let before = fine_structure_rms(&blurred, bands);
        assert!(before < 0.8 * want, "{before} vs {want}");
        let s = fit_strength(&blurred, &real, bands);
        assert!(s > 0.1 && s < MAX_STRENGTH, "{s}");
        let mut sharpened = blurred.clone();
        for c in &mut sharpened {
            sharpen(c, bands, s);
        }
        let got = fine_structure_rms(&sharpened, bands);
        assert!((got - want).abs() < 1e-3 * want, "{got} vs {want}");
        assert_eq!(fit_strength(&real, &blurred, bands), 0.0);
        assert!(fit_strength(&real, &real, bands) < 1e-4);
    }

    #[test]
    fn parses_fitted_or_a_strength_in_range() {
        assert_eq!("fitted".parse(), Ok(Postfilter::Fitted));
        assert_eq!("0.5".parse(), Ok(Postfilter::Strength(0.5)));
        assert_eq!("0".parse(), Ok(Postfilter::Strength(0.0)));
        for bad in ["-1", "4.5", "NaN", "auto", ""] {
            assert!(bad.parse::<Postfilter>().is_err(), "{bad}");
        }
    }
}
