//! `config.json`: everything needed to use a model (representation, network, genres,
//! normalisation, training options, per-genre tempo and latent statistics), checked on load.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::{read_file, ModelDirError, CONFIG_FILE, FORMAT_VERSION};
use crate::dataset::features::{FeatureConfig, Normalization};
use crate::vae::{Objective, ReconLoss, VaeConfig};

/// Training options (saved so a resume can check them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f32,
    pub beta: f32,
    /// Epochs over which beta rises linearly from 0 (per step).
    pub kl_warmup_epochs: f32,
    pub clip_norm: Option<f32>,
    pub seed: u64,
    pub patience: Option<usize>,
    pub validation_fraction: f32,
    /// The reconstruction term.
    pub recon_loss: ReconLoss,
    /// KL free bits per latent dimension (0: off).
    pub free_bits: f32,
    /// Weight of the flux term (the error of each band's frame-to-frame change; 0: off).
    /// Absent in a saved config: 0.
    #[serde(default)]
    pub flux_weight: f32,
}

impl TrainOptions {
    /// The objective at KL weight `beta` (which follows the warm-up).
    pub fn objective(&self, beta: f32) -> Objective {
        Objective {
            recon: self.recon_loss,
            beta,
            free_bits: self.free_bits,
            flux: self.flux_weight,
        }
    }
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 30,
            batch_size: 32,
            lr: 1e-3,
            beta: 1.0,
            kl_warmup_epochs: 10.0,
            clip_norm: Some(1000.0),
            seed: 0,
            patience: None,
            validation_fraction: crate::dataset::DatasetOptions::default().validation_fraction,
            recon_loss: ReconLoss::L1,
            free_bits: 0.0,
            flux_weight: 0.0,
        }
    }
}

/// Everything needed to use a model, in `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub format_version: u32,
    pub features: FeatureConfig,
    pub vae: VaeConfig,
    pub genres: Vec<String>,
    pub normalization: Normalization,
    pub training: TrainOptions,
    /// The songs folder it was trained on.
    pub songs_dir: PathBuf,
    /// Median detected tempo (BPM) of each genre's training songs, if any was found.
    #[serde(default)]
    pub genre_tempi: Vec<Option<f32>>,
    /// Per genre: mean and standard deviation, per latent dimension, of the posterior means
    /// of its training clips under the best weights (the genre's aggregate posterior).
    #[serde(default)]
    pub genre_latent: Vec<LatentStats>,
}

/// Per-dimension statistics of a set of latent vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatentStats {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

/// Write `config.json` atomically.
pub fn save_config(dir: &Path, cfg: &ModelConfig) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(cfg)?;
    dsp::atomic::write_atomically(&dir.join(CONFIG_FILE), &json)?;
    Ok(())
}

/// Read and check `config.json`.
pub fn load_config(dir: &Path) -> anyhow::Result<ModelConfig> {
    let path = dir.join(CONFIG_FILE);
    if !dir.is_dir() {
        return Err(ModelDirError::Missing(dir.to_path_buf()).into());
    }
    let bytes = read_file(&path)?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not valid JSON", path.display()))?;
    let version = v.get("format_version").and_then(|x| x.as_u64());
    if version != Some(FORMAT_VERSION as u64) {
        return Err(ModelDirError::OtherVersion {
            path,
            found: version,
        }
        .into());
    }
    let cfg: ModelConfig = serde_json::from_value(v)
        .with_context(|| format!("{}: unexpected content", path.display()))?;
    cfg.features
        .validate()
        .map_err(|why| anyhow::anyhow!("{}: impossible representation: {why}", path.display()))?;
    let bands = cfg.features.bands();
    if cfg.vae.frames != cfg.features.frames()
        || cfg.vae.bands != bands
        || cfg.normalization.mean.len() != bands
        || cfg.normalization.std.len() != bands
    {
        anyhow::bail!(
            "{}: inconsistent shapes (network {} x {} vs clips {} x {bands}, normalisation {} bands)",
            path.display(),
            cfg.vae.frames,
            cfg.vae.bands,
            cfg.features.frames(),
            cfg.normalization.mean.len()
        );
    }
    if cfg.vae.n_genres != cfg.genres.len() {
        anyhow::bail!(
            "{}: the network has {} genre inputs but {} genres are listed",
            path.display(),
            cfg.vae.n_genres,
            cfg.genres.len()
        );
    }
    let (latent, steps) = (cfg.vae.latent, cfg.vae.latent_steps);
    if steps == 0 || !latent.is_multiple_of(steps) {
        anyhow::bail!(
            "{}: a latent of {latent} values cannot be spread over {steps} time steps",
            path.display()
        );
    }
    // Written when training ends: one per genre, each with a value per latent dimension.
    let stats_ok = |s: &super::LatentStats| s.mean.len() == latent && s.std.len() == latent;
    if !(cfg.genre_latent.is_empty()
        || cfg.genre_latent.len() == cfg.genres.len() && cfg.genre_latent.iter().all(stats_ok))
    {
        anyhow::bail!(
            "{}: genre_latent must hold a mean and a std of {latent} values for each of the {} genres",
            path.display(),
            cfg.genres.len()
        );
    }
    let (lo, hi) = (crate::generate::MIN_BPM, crate::generate::MAX_BPM);
    if cfg.genre_tempi.len() > cfg.genres.len()
        || cfg
            .genre_tempi
            .iter()
            .flatten()
            .any(|t| !(lo..=hi).contains(t))
    {
        anyhow::bail!(
            "{}: genre_tempi must hold at most one tempo per genre, each in {lo}..={hi} BPM",
            path.display()
        );
    }
    Ok(cfg)
}
