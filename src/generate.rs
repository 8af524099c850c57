//! From latent vectors to audio: decoder -> denormalise -> bands back to STFT bins ->
//! magnitude -> Griffin-Lim -> peak-safe level. Also the encoder side for real clips.

use std::time::Instant;

use ndarray::Array2;

use crate::dataset::features::FeatureExtractor;
use crate::vae::checkpoint::Model;
use dsp::{GriffinLim, GriffinLimConfig, Spectrogram};

/// Peak level of written audio, in dBFS (no clipping, a little headroom for MP3).
pub const PEAK_DBFS: f32 = -1.0;

/// Scale `audio` so its peak is at [`PEAK_DBFS`] (silence stays silence).
pub fn peak_normalize(audio: &mut [f32]) {
    let peak = audio.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak > 1e-9 {
        let g = 10f32.powf(PEAK_DBFS / 20.0) / peak;
        audio.iter_mut().for_each(|v| *v *= g);
    }
}

/// Seconds spent in each stage, summed over clips.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Timing {
    pub decoder: f64,
    pub griffin_lim: f64,
    pub encoding: f64,
}

/// A model with the feature pipeline of its representation, and a pool of Griffin-Lim plans
/// reused across clips (a fresh plan's buffers cost page faults on every clip).
pub struct Synth<'a> {
    pub model: &'a Model,
    pub fx: FeatureExtractor,
    plans: std::sync::Mutex<Vec<GriffinLim>>,
}

impl<'a> Synth<'a> {
    pub fn new(model: &'a Model) -> anyhow::Result<Self> {
        Ok(Synth {
            model,
            fx: FeatureExtractor::new(&model.config.features)?,
            plans: Default::default(),
        })
    }

    /// Genre weights `[n_genres, n]` of one-hot genres.
    pub fn one_hot(&self, genres: &[usize]) -> Array2<f32> {
        let mut g = Array2::zeros((self.model.config.genres.len(), genres.len()));
        for (col, &k) in genres.iter().enumerate() {
            g[[k, col]] = 1.0;
        }
        g
    }

    /// Decode latents `z: [latent, n]` with genre weights to band-dB spectrograms. Each column
    /// is decoded on its own: a product's rounding depends on the batch width, and a clip must
    /// not depend on which other clips were asked for.
    pub fn decode(&self, z: &Array2<f32>, genre: &Array2<f32>) -> Vec<Spectrogram> {
        let f = &self.model.config.features;
        (0..z.ncols())
            .map(|c| {
                let zc = z.slice(ndarray::s![.., c..c + 1]);
                let gc = genre.slice(ndarray::s![.., c..c + 1]);
                let mut v = self.model.vae.decode(&zc, &gc).column(0).to_vec();
                self.model.config.normalization.denormalize(&mut v);
                Spectrogram {
                    frames: f.frames(),
                    bins: f.bands(),
                    data: v,
                }
            })
            .collect()
    }

    /// Posterior mean of a clip (band dB features) for a genre.
    pub fn encode(&self, band_db: &Spectrogram, genre: usize) -> Vec<f32> {
        let mut x = band_db.data.clone();
        self.model.config.normalization.normalize(&mut x);
        let xs = Array2::from_shape_vec((x.len(), 1), x).expect("one column");
        self.model
            .vae
            .encode_mean(&xs.view(), &[genre])
            .column(0)
            .to_vec()
    }

    /// Band dB of the first clip of `audio` (which must be at least one clip long).
    pub fn features(&mut self, audio: &[f32]) -> anyhow::Result<Spectrogram> {
        let n = self.model.config.features.clip_samples();
        anyhow::ensure!(
            audio.len() >= n,
            "need {:.1} s of audio, got {:.2} s",
            self.model.config.features.clip_seconds,
            audio.len() as f64 / self.model.config.features.sample_rate as f64
        );
        Ok(self.fx.band_db(&audio[..n])?)
    }

    /// Audio of a band-dB spectrogram: Griffin-Lim, then peak-normalised. Returns the audio and
    /// the spectral convergence against the target magnitudes.
    pub fn render(
        &self,
        band_db: &Spectrogram,
        gl_cfg: &GriffinLimConfig,
    ) -> anyhow::Result<(Vec<f32>, f32)> {
        let mag = self.fx.band_db_to_magnitude(band_db);
        let f = &self.model.config.features;
        let pooled = self.plans.lock().map(|mut p| p.pop()).unwrap_or(None);
        let mut gl = match pooled {
            Some(gl) => gl,
            None => GriffinLim::new(f.stft())?,
        };
        let mut audio = vec![0.0f32; f.clip_samples()];
        let sc = gl.run(&mag, gl_cfg, &mut audio)?;
        if let Ok(mut p) = self.plans.lock() {
            p.push(gl);
        }
        peak_normalize(&mut audio);
        Ok((audio, sc))
    }

    /// Render many spectrograms in parallel, timing the stages.
    pub fn render_all(
        &self,
        specs: &[Spectrogram],
        gl_cfg: &GriffinLimConfig,
        seeds: &[u64],
    ) -> anyhow::Result<(Vec<(Vec<f32>, f32)>, f64)> {
        use rayon::prelude::*;
        let start = Instant::now();
        let out = specs
            .par_iter()
            .zip(seeds)
            .map(|(s, &seed)| self.render(s, &GriffinLimConfig { seed, ..*gl_cfg }))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok((out, start.elapsed().as_secs_f64()))
    }

    /// Full-resolution dB (for PNGs) of a band-dB spectrogram.
    pub fn to_bin_db(&self, band_db: &Spectrogram) -> Spectrogram {
        self.fx.band_db_to_bin_db(band_db)
    }
}

/// Where latent vectors are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Prior {
    /// `z ~ N(mean_g, T^2 std_g^2)`: the genre's aggregate posterior (per-dimension mean and
    /// spread of its training clips' encodings), so that samples sound like the genre.
    Genre,
    /// `z ~ N(0, T^2 I)`: the VAE's prior; the genre enters only through the decoder input.
    Standard,
}

/// Latent vector `index` of a seed: draws from stream `(seed, index)`, so clip `i` is the same
/// whatever the number of clips asked for.
pub fn sample_latent(
    model: &Model,
    genre: usize,
    seed: u64,
    index: u64,
    temperature: f32,
    prior: Prior,
) -> Vec<f32> {
    let mut rng = dsp::rng::SplitMix64::stream(seed, index);
    let eps: Vec<f32> = (0..model.config.vae.latent)
        .map(|_| rng.normal() * temperature)
        .collect();
    match (prior, model.config.genre_latent.get(genre)) {
        (Prior::Genre, Some(s)) => eps
            .iter()
            .zip(&s.mean)
            .zip(&s.std)
            .map(|((e, m), sd)| m + sd * e)
            .collect(),
        _ => eps,
    }
}

/// Spherical interpolation between two latent vectors (linear when they are parallel).
pub fn slerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    // The ends exactly (rounding would make them differ from A's and B's own decodings).
    if t <= 0.0 {
        return a.to_vec();
    }
    if t >= 1.0 {
        return b.to_vec();
    }
    let na = a.iter().map(|v| v * v).sum::<f32>().sqrt();
    let nb = b.iter().map(|v| v * v).sum::<f32>().sqrt();
    let cos = if na > 0.0 && nb > 0.0 {
        (a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (na * nb)).clamp(-1.0, 1.0)
    } else {
        1.0
    };
    let omega = cos.acos();
    if omega.abs() < 1e-4 {
        return a.iter().zip(b).map(|(x, y)| x + t * (y - x)).collect();
    }
    let (wa, wb) = (
        ((1.0 - t) * omega).sin() / omega.sin(),
        (t * omega).sin() / omega.sin(),
    );
    a.iter().zip(b).map(|(x, y)| wa * x + wb * y).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slerp_endpoints_and_norm() {
        let a = vec![1.0, 0.0, 0.0];
        let b = vec![0.0, 1.0, 0.0];
        assert_eq!(slerp(&a, &b, 0.0), a);
        assert_eq!(slerp(&a, &b, 1.0), b);
        let m = slerp(&a, &b, 0.5);
        assert!(
            (m[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-5
                && (m[1] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-5
        );
        let mut x = vec![0.3, -0.1, 0.0];
        peak_normalize(&mut x);
        assert!((x[0] - 10f32.powf(-1.0 / 20.0)).abs() < 1e-6);
    }
}
