//! The per-clip feature vector the evaluation compares (computed the same way for real and
//! generated audio, from the waveform at 22050 Hz):
//!
//! | index | feature | definition |
//! |---|---|---|
//! | 0-7 | band means | mean over frames of the dB level of 8 mel bands (the 128 model bands averaged in groups of 16) |
//! | 8-15 | band spreads | standard deviation over frames of the same 8 bands |
//! | 16 | spectral centroid | power-weighted mean frequency, kHz, averaged over frames |
//! | 17 | spectral flatness | geometric / arithmetic mean of the power spectrum, averaged over frames |
//! | 18 | roll-off | frequency below which 85% of the power lies, kHz, averaged over frames |
//! | 19 | RMS | level of the clip, dBFS |
//! | 20 | onset rate | peaks of the onset envelope above its mean + 1 standard deviation, per second |
//! | 21 | tempo strength | autocorrelation strength of the tempo detector (0 when no tempo) |
//!
//! Features are standardised (with the training clips' statistics) before distances are taken.

use dsp::tempo::{onset_envelope, tempo_envelope};
use dsp::{ComplexSpec, StftPlan};

use crate::dataset::features::FeatureConfig;

pub const NAMES: [&str; 22] = [
    "band1_mean",
    "band2_mean",
    "band3_mean",
    "band4_mean",
    "band5_mean",
    "band6_mean",
    "band7_mean",
    "band8_mean",
    "band1_std",
    "band2_std",
    "band3_std",
    "band4_std",
    "band5_std",
    "band6_std",
    "band7_std",
    "band8_std",
    "centroid_khz",
    "flatness",
    "rolloff_khz",
    "rms_dbfs",
    "onset_rate",
    "tempo_strength",
];

/// Features of one clip, its detected tempo (if any), and the two measures a listener hears
/// first (not part of the feature vector):
///
/// - **onset sharpness**: the largest value of the onset-strength envelope (mean over the 128
///   mel bands of the positive dB increase from the previous frame) divided by its median
///   (floored at 0.01 dB): crisp hits over a still background score high, a blur or a steady
///   noise floor low;
/// - **median flatness**: the median over frames of the spectral flatness (geometric over
///   arithmetic mean of the power spectrum): 0 for a pure tone, near 1 for white noise.
pub struct ClipAnalysis {
    pub features: Vec<f64>,
    pub tempo_bpm: Option<f32>,
    pub onset_rate: f64,
    pub tempo_strength: f64,
    pub onset_sharpness: f64,
    pub median_flatness: f64,
}

/// Onset sharpness of a band-dB spectrogram (see [`ClipAnalysis`]).
pub fn onset_sharpness(bands: &dsp::Spectrogram) -> f64 {
    let flux: Vec<f64> = (1..bands.frames)
        .map(|t| {
            bands
                .frame(t)
                .iter()
                .zip(bands.frame(t - 1))
                .map(|(c, p)| (c - p).max(0.0) as f64)
                .sum::<f64>()
                / bands.bins as f64
        })
        .collect();
    if flux.is_empty() {
        return 0.0;
    }
    let max = flux.iter().copied().fold(0.0, f64::max);
    let (median, _) = super::stats::median_iqr(&flux);
    max / median.max(0.01)
}

/// Analyse a clip of audio at `cfg.sample_rate`.
pub fn analyse(audio: &[f32], cfg: &FeatureConfig, plan: &mut StftPlan) -> ClipAnalysis {
    let mut spec = ComplexSpec::zeros(0, 0);
    plan.forward(audio, &mut spec).expect("non-empty clip");
    let db = dsp::spectrogram::magnitude_to_db(
        &spec.magnitude(),
        dsp::spectrogram::db_reference(cfg.stft()),
    );
    let mel = cfg.projection_for_tempo();
    let bands = mel.forward(&db);
    let (frames, nb) = (bands.frames, bands.bins);
    let group = nb / 8;
    let mut f = Vec::with_capacity(22);
    let coarse: Vec<Vec<f64>> = (0..8)
        .map(|g| {
            (0..frames)
                .map(|t| {
                    bands.frame(t)[g * group..(g + 1) * group]
                        .iter()
                        .map(|&v| v as f64)
                        .sum::<f64>()
                        / group as f64
                })
                .collect()
        })
        .collect();
    for c in &coarse {
        f.push(c.iter().sum::<f64>() / frames as f64);
    }
    for c in &coarse {
        let m = c.iter().sum::<f64>() / frames as f64;
        f.push((c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / frames as f64).sqrt());
    }
    let bin_hz = cfg.sample_rate as f64 / cfg.n_fft as f64;
    let (mut centroid, mut flatness, mut rolloff) = (0.0, 0.0, 0.0);
    let mut flat_frames = Vec::with_capacity(spec.frames);
    for t in 0..spec.frames {
        let p: Vec<f64> = spec
            .frame(t)
            .iter()
            .map(|c| (c.re as f64).powi(2) + (c.im as f64).powi(2) + 1e-12)
            .collect();
        let total: f64 = p.iter().sum();
        centroid += p
            .iter()
            .enumerate()
            .map(|(k, v)| k as f64 * bin_hz * v)
            .sum::<f64>()
            / total
            / 1000.0;
        let geo = (p.iter().map(|v| v.ln()).sum::<f64>() / p.len() as f64).exp();
        let flat = geo / (total / p.len() as f64);
        flatness += flat;
        flat_frames.push(flat);
        let mut acc = 0.0;
        let k85 = p.iter().position(|v| {
            acc += v;
            acc >= 0.85 * total
        });
        rolloff += k85.unwrap_or(p.len() - 1) as f64 * bin_hz / 1000.0;
    }
    let n = spec.frames as f64;
    f.extend([centroid / n, flatness / n, rolloff / n]);
    let rms =
        (audio.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / audio.len() as f64).sqrt();
    f.push(20.0 * rms.max(1e-10).log10());
    let env = onset_envelope(&bands);
    let mean = env.iter().sum::<f32>() / env.len() as f32;
    let sd = (env.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / env.len() as f32).sqrt();
    let peaks = (1..env.len().saturating_sub(1))
        .filter(|&i| env[i] > mean + sd && env[i] >= env[i - 1] && env[i] > env[i + 1])
        .count();
    let onset_rate = peaks as f64 / (audio.len() as f64 / cfg.sample_rate as f64);
    let tempo = dsp::tempo::estimate_tempo(
        &tempo_envelope(&db, &mel),
        cfg.frame_rate(),
        dsp::tempo::DEFAULT_BPM_RANGE.0,
        dsp::tempo::DEFAULT_BPM_RANGE.1,
    );
    let strength = tempo.map_or(0.0, |t| t.strength as f64);
    f.extend([onset_rate, strength]);
    ClipAnalysis {
        features: f,
        tempo_bpm: tempo.map(|t| t.bpm),
        onset_rate,
        tempo_strength: strength,
        onset_sharpness: onset_sharpness(&bands),
        median_flatness: super::stats::median_iqr(&flat_frames).0,
    }
}

/// Per-feature mean and standard deviation (floored) of rows, for standardising.
pub fn standardiser(rows: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let mean = super::stats::mean(rows);
    let n = rows.len().max(1) as f64;
    let sd = (0..mean.len())
        .map(|j| {
            (rows.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n)
                .sqrt()
                .max(1e-6)
        })
        .collect();
    (mean, sd)
}

pub fn standardise(rows: &[Vec<f64>], (mean, sd): &(Vec<f64>, Vec<f64>)) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .zip(mean)
                .zip(sd)
                .map(|((x, m), s)| (x - m) / s)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_noise_has_no_tempo_and_clicks_do() {
        let cfg = FeatureConfig::default();
        let mut plan = StftPlan::new(cfg.stft()).unwrap();
        let mut rng = dsp::rng::SplitMix64::new(3);
        let noise: Vec<f32> = (0..66150).map(|_| rng.next_signed() * 0.3).collect();
        let a = analyse(&noise, &cfg, &mut plan);
        assert_eq!(a.tempo_bpm, None);
        assert_eq!(a.features.len(), NAMES.len());
        // White noise is flat: high flatness, centroid near the middle of 0..11 kHz.
        assert!(
            a.features[17] > 0.4 && (a.features[16] - 5.5).abs() < 0.5,
            "{:?}",
            &a.features[16..]
        );
        let clicks: Vec<f32> = (0..66150)
            .map(|i| {
                if i % 11025 < 200 {
                    ((i % 11025) as f32 * 0.3).sin() * 0.8
                } else {
                    0.0
                }
            })
            .collect();
        let c = analyse(&clicks, &cfg, &mut plan);
        assert!(
            c.tempo_bpm.is_some_and(|b| (b - 120.0).abs() < 2.5),
            "{:?}",
            c.tempo_bpm
        );
        assert!((c.onset_rate - 2.0).abs() < 0.7, "{}", c.onset_rate);
        // Clicks over silence are sharp, white noise is blunt.
        assert!(
            c.onset_sharpness > 100.0 * a.onset_sharpness.max(1.0),
            "{} vs {}",
            c.onset_sharpness,
            a.onset_sharpness
        );
        // White noise is flat, a tone is not.
        let tone: Vec<f32> = (0..66150)
            .map(|i| 0.5 * (i as f32 * 0.1254).sin())
            .collect();
        let t = analyse(&tone, &cfg, &mut plan);
        assert!(
            a.median_flatness > 0.4 && t.median_flatness < 0.01,
            "{} {}",
            a.median_flatness,
            t.median_flatness
        );
    }
}
