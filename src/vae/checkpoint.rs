//! The model directory.
//!
//! | file | content |
//! |---|---|
//! | `config.json` | format version, representation, architecture, genres, normalisation, training options |
//! | `weights.safetensors` | the best weights (lowest validation loss), named by the parameter visitor as `nn.Sequential` names them: `encoder.{i}.weight`, `encoder.{i}.bias`, `decoder.{i}...` (`Linear` `[out, in]`, `Conv1d` `[out, in, kernel]`) |
//! | `checkpoint.safetensors` | for `--resume`: the last weights, Adam's `exp_avg`/`exp_avg_sq` per tensor, and the training state (JSON in the metadata) |
//! | `loss.csv`, `loss.png` | one row per epoch; the loss curves |
//!
//! Every file is written to a temporary name and renamed into place, so killing the process at
//! any moment leaves either the previous or the new version of each file. The checkpoint is a
//! single file, so weights, optimiser state and training state always agree.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use safetensors::tensor::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use super::loss::ReconLoss;
use super::model::{Objective, Vae, VaeConfig};
use super::AdamState;
use crate::dataset::features::{FeatureConfig, Normalization};

/// Bumped when the directory layout or a file's meaning changes. Version 1 (3 s clips, an MLP
/// with its own tensor names) is refused with a message asking to retrain.
pub const FORMAT_VERSION: u32 = 2;

pub const CONFIG_FILE: &str = "config.json";
pub const WEIGHTS_FILE: &str = "weights.safetensors";
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";

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
}

impl TrainOptions {
    /// The objective at KL weight `beta` (which follows the warm-up).
    pub fn objective(&self, beta: f32) -> Objective {
        Objective {
            recon: self.recon_loss,
            beta,
            free_bits: self.free_bits,
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
            validation_fraction: 0.2,
            recon_loss: ReconLoss::L1,
            free_bits: 0.0,
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

/// One epoch's numbers (a row of `loss.csv`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_recon: f64,
    pub train_kl: f64,
    pub val_recon: f64,
    pub val_kl: f64,
    pub beta: f64,
    pub seconds: f64,
}

/// Where training stands, stored in the checkpoint's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimiser steps taken.
    pub step: u64,
    pub best_val: f64,
    pub best_epoch: usize,
    pub history: Vec<EpochRecord>,
    /// Reconstruction of the validation clips by the mean training clip (the baseline).
    pub baseline_val_recon: f64,
}

/// Write a safetensors file (all tensors F32) straight from the slices, atomically: an 8-byte
/// little-endian header length, the JSON header (padded with spaces to 8 bytes, as the
/// reference implementation does), then the tensors' bytes in order.
fn write_safetensors(
    path: &Path,
    tensors: &[(String, Vec<usize>, &[f32])],
    meta: &HashMap<String, String>,
) -> anyhow::Result<()> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::to_value(meta)?);
    let mut offset = 0usize;
    for (name, shape, data) in tensors {
        anyhow::ensure!(
            shape.iter().product::<usize>() == data.len(),
            "tensor {name}: shape {shape:?} for {} values",
            data.len()
        );
        let end = offset + data.len() * 4;
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut json = serde_json::to_vec(&header)?;
    json.resize(json.len().div_ceil(8) * 8, b' ');
    dsp::atomic::write_atomically_with(path, |w| {
        w.write_all(&(json.len() as u64).to_le_bytes())?;
        w.write_all(&json)?;
        let mut buf = Vec::with_capacity(1 << 16);
        for (_, _, data) in tensors {
            for chunk in data.chunks(1 << 14) {
                buf.clear();
                chunk
                    .iter()
                    .for_each(|v| buf.extend_from_slice(&v.to_le_bytes()));
                w.write_all(&buf)?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

fn read_f32(
    st: &SafeTensors,
    name: &str,
    shape: &[usize],
    file: &Path,
) -> anyhow::Result<Vec<f32>> {
    let t = st
        .tensor(name)
        .map_err(|_| anyhow::anyhow!("{}: tensor {name} is missing", file.display()))?;
    if t.dtype() != Dtype::F32 || t.shape() != shape {
        anyhow::bail!(
            "{}: tensor {name} is {:?} {:?}, expected F32 {:?}",
            file.display(),
            t.dtype(),
            t.shape(),
            shape
        );
    }
    Ok(t.data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn weight_tensors(vae: &Vae) -> Vec<(String, Vec<usize>, &[f32])> {
    let mut out = Vec::new();
    vae.visit(&mut |name, p| out.push((name, p.shape, p.value)));
    out
}

/// Write the weights as `path` (atomically).
pub fn save_weights(path: &Path, vae: &Vae) -> anyhow::Result<()> {
    let meta = HashMap::from([
        ("format".to_string(), "beatgen-vae".to_string()),
        ("format_version".to_string(), FORMAT_VERSION.to_string()),
    ]);
    write_safetensors(path, &weight_tensors(vae), &meta)
}

fn load_weights_into(st: &SafeTensors, vae: &mut Vae, file: &Path) -> anyhow::Result<()> {
    let specs: Vec<(String, Vec<usize>)> = weight_tensors(vae)
        .into_iter()
        .map(|(n, s, _)| (n, s))
        .collect();
    let values = specs
        .iter()
        .map(|(name, shape)| read_f32(st, name, shape, file))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut i = 0;
    vae.visit_mut(&mut |p| {
        p.value.copy_from_slice(&values[i]);
        i += 1;
    });
    Ok(())
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

fn parse<'a>(bytes: &'a [u8], path: &Path) -> anyhow::Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes)
        .map_err(|e| anyhow::anyhow!("{}: not a valid safetensors file ({e:?})", path.display()))
}

/// Save the resumable checkpoint: last weights, Adam moments and the training state.
pub fn save_checkpoint(
    dir: &Path,
    vae: &Vae,
    adam: &AdamState,
    state: &TrainState,
) -> anyhow::Result<()> {
    let mut tensors = weight_tensors(vae);
    let names: Vec<(String, Vec<usize>)> = tensors
        .iter()
        .map(|(n, s, _)| (n.clone(), s.clone()))
        .collect();
    for (i, (name, shape)) in names.iter().enumerate() {
        tensors.push((format!("{name}.exp_avg"), shape.clone(), &adam.m[i]));
        tensors.push((format!("{name}.exp_avg_sq"), shape.clone(), &adam.v[i]));
    }
    let meta = HashMap::from([
        ("format_version".to_string(), FORMAT_VERSION.to_string()),
        ("adam_step".to_string(), adam.step.to_string()),
        ("train_state".to_string(), serde_json::to_string(state)?),
    ]);
    write_safetensors(&dir.join(CHECKPOINT_FILE), &tensors, &meta)
}

/// Load the checkpoint into a network of the configured shape.
pub fn load_checkpoint(
    dir: &Path,
    cfg: &VaeConfig,
) -> anyhow::Result<(Vae, AdamState, TrainState)> {
    let path = dir.join(CHECKPOINT_FILE);
    let bytes = read_file(&path)?;
    let st = parse(&bytes, &path)?;
    let (_, md) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: bad header ({e:?})", path.display()))?;
    let meta = md.metadata().clone().unwrap_or_default();
    let version = meta
        .get("format_version")
        .and_then(|v| v.parse::<u32>().ok());
    if version != Some(FORMAT_VERSION) {
        anyhow::bail!(
            "{}: checkpoint format version {version:?}, this beatgen reads {FORMAT_VERSION}",
            path.display()
        );
    }
    let mut vae = Vae::zeros(cfg.clone())?;
    load_weights_into(&st, &mut vae, &path)?;
    let mut adam = AdamState::new(&vae);
    let names: Vec<(String, Vec<usize>)> = weight_tensors(&vae)
        .into_iter()
        .map(|(n, s, _)| (n, s))
        .collect();
    for (i, (name, shape)) in names.iter().enumerate() {
        adam.m[i] = read_f32(&st, &format!("{name}.exp_avg"), shape, &path)?;
        adam.v[i] = read_f32(&st, &format!("{name}.exp_avg_sq"), shape, &path)?;
    }
    adam.step = meta
        .get("adam_step")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{}: no adam_step", path.display()))?;
    let state: TrainState = serde_json::from_str(
        meta.get("train_state")
            .ok_or_else(|| anyhow::anyhow!("{}: no training state", path.display()))?,
    )
    .with_context(|| format!("{}: bad training state", path.display()))?;
    Ok((vae, adam, state))
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
        anyhow::bail!(
            "{}: no such model directory (train one with `beatgen spec-train SONGS --model {}`)",
            dir.display(),
            dir.display()
        );
    }
    let bytes = read_file(&path)?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not valid JSON", path.display()))?;
    let version = v.get("format_version").and_then(|x| x.as_u64());
    if version != Some(FORMAT_VERSION as u64) {
        let hint = if version == Some(1) {
            " (a model of beatgen's first version: 3 s clips and an MLP; retrain it with `beatgen spec-train`)"
        } else {
            ""
        };
        anyhow::bail!(
            "{}: model format version {}, this beatgen reads version {FORMAT_VERSION}{hint}",
            path.display(),
            version.map_or("missing".to_string(), |v| v.to_string())
        );
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
    Ok(cfg)
}

/// A trained model ready to use: config and best weights.
pub struct Model {
    pub config: ModelConfig,
    pub vae: Vae,
    pub dir: PathBuf,
}

impl Model {
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let config = load_config(dir)?;
        let path = dir.join(WEIGHTS_FILE);
        let bytes = read_file(&path)?;
        let st = parse(&bytes, &path)?;
        let mut vae = Vae::zeros(config.vae.clone()).with_context(|| {
            format!("{}: the declared network", dir.join(CONFIG_FILE).display())
        })?;
        load_weights_into(&st, &mut vae, &path)?;
        Ok(Model {
            config,
            vae,
            dir: dir.to_path_buf(),
        })
    }

    /// Index of a genre, or an error listing the model's genres.
    pub fn genre_index(&self, genre: &str) -> anyhow::Result<usize> {
        self.config
            .genres
            .iter()
            .position(|g| g == genre)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown genre {genre:?}: this model knows {}",
                    self.config.genres.join(", ")
                )
            })
    }
}
