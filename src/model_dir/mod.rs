//! The model directory.
//!
//! | file | content |
//! |---|---|
//! | `config.json` | format version, representation, architecture, genres, normalisation, training options |
//! | `weights.safetensors` | the best weights (lowest validation loss), named by the parameter visitor as `nn.Sequential` names them: `encoder.{i}.weight`, `encoder.{i}.bias`, `decoder.{i}...` (`Linear` `[out, in]`, `Conv1d` `[out, in, kernel]`) |
//! | `calibration.safetensors` | the output calibration fitted after training (see [`crate::calibration`]): per genre and band, the decoder's levels and the training clips' levels at the same quantiles, and per genre the postfilter strength (`postfilter`; a file without it, from before the strengths were fitted, leaves the postfilter off); a model without the file decodes uncalibrated and unfiltered |
//! | `detail.safetensors` | the spectral detail fitted after training (see [`crate::detail`]): `weights`, `[bands + 1, bins]`, the linear map from a frame's band levels to the fine structure of its bins; a model without the file renders the bands' smooth inverse |
//! | `checkpoint.safetensors` | for `--resume`: the last weights, Adam's `exp_avg`/`exp_avg_sq` per tensor, and the training state (JSON in the metadata) |
//! | `loss.csv`, `loss.png` | one row per epoch; the loss curves |
//!
//! Every file is written to a temporary name and renamed into place, so killing the process at
//! any moment leaves either the previous or the new version of each file. The checkpoint is a
//! single file, so weights, optimiser state and training state always agree.

pub mod config;
pub mod state;
pub mod tensors;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use config::{load_config, save_config, LatentStats, ModelConfig, TrainOptions};
pub use state::{EpochRecord, TrainState};
pub use tensors::{load_checkpoint, save_calibration, save_checkpoint, save_detail, save_weights};

use crate::calibration::Calibration;
use crate::dataset::split::SavedSplit;
use crate::detail::SpectralDetail;
use crate::vae::Vae;

/// Bumped when the directory layout or a file's meaning changes; older versions are refused
/// with a message asking to retrain. Version 1: 3 s clips, an MLP with its own tensor names.
/// Version 2: no saved split (the split was recomputed from the seed by a since replaced
/// random generator).
pub const FORMAT_VERSION: u32 = 3;

pub const CONFIG_FILE: &str = "config.json";
pub const WEIGHTS_FILE: &str = "weights.safetensors";
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";
pub const SPLIT_FILE: &str = "split.json";
pub const CALIBRATION_FILE: &str = "calibration.safetensors";
pub const DETAIL_FILE: &str = "detail.safetensors";

/// Why a model directory cannot be used, for callers that act on the reason (`demo` trains
/// when there is no model, and asks for `--retrain` when there is one of another version).
/// Any other problem (an unreadable or corrupt file) is an ordinary error naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ModelDirError {
    #[error("{}: no such model directory (train one with `beatgen spec-train SONGS --model {}`)", .0.display(), .0.display())]
    Missing(PathBuf),
    #[error("{}: model format version {}, this beatgen reads version {FORMAT_VERSION}{}", .path.display(), .found.map_or("missing".to_string(), |v| v.to_string()), version_hint(*.found))]
    OtherVersion { path: PathBuf, found: Option<u64> },
    #[error("{}: no trained weights yet (training has not finished an epoch there; train with `beatgen spec-train SONGS --model {}`)", .0.display(), .0.display())]
    Untrained(PathBuf),
}

fn version_hint(found: Option<u64>) -> &'static str {
    match found {
        Some(1) => " (a model of beatgen's first version: 3 s clips and an MLP; retrain it with `beatgen spec-train`)",
        Some(2) => " (a model without its saved split; retrain it with `beatgen spec-train`)",
        _ => "",
    }
}

/// What a model directory holds, read without loading any weights: `None` when it holds no
/// model (no `config.json`); else its config and, once an epoch has finished, the training
/// state from the checkpoint's header.
pub fn status(dir: &Path) -> anyhow::Result<Option<(ModelConfig, Option<TrainState>)>> {
    if !dir.join(CONFIG_FILE).exists() {
        return Ok(None);
    }
    let config = load_config(dir)?;
    let state = if dir.join(CHECKPOINT_FILE).exists() {
        Some(tensors::read_train_state(&dir.join(CHECKPOINT_FILE))?)
    } else {
        None
    };
    Ok(Some((config, state)))
}

pub(crate) fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Write `split.json` (the songs of each side) atomically.
pub fn save_split(dir: &Path, split: &SavedSplit) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(split)?;
    dsp::atomic::write_atomically(&dir.join(SPLIT_FILE), &json)?;
    Ok(())
}

/// Read `split.json`.
pub fn load_split(dir: &Path) -> anyhow::Result<SavedSplit> {
    let path = dir.join(SPLIT_FILE);
    let bytes = read_file(&path)?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: unexpected content", path.display()))
}

/// A trained model ready to use: config, best weights, output calibration and spectral detail.
pub struct Model {
    pub config: ModelConfig,
    pub vae: Vae,
    /// The output calibration, when the directory has one.
    pub calibration: Option<Calibration>,
    /// The spectral detail, when the directory has one.
    pub detail: Option<SpectralDetail>,
    pub dir: PathBuf,
}

impl Model {
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let config = load_config(dir)?;
        let weights = dir.join(WEIGHTS_FILE);
        if !weights.exists() {
            return Err(ModelDirError::Untrained(dir.to_path_buf()).into());
        }
        let vae = tensors::load_weights(&weights, &config.vae)?;
        let cal_path = dir.join(CALIBRATION_FILE);
        let calibration = cal_path
            .exists()
            .then(|| tensors::load_calibration(&cal_path, config.genres.len(), config.vae.bands))
            .transpose()?;
        let detail_path = dir.join(DETAIL_FILE);
        let bins = config.features.bins();
        let detail = detail_path
            .exists()
            .then(|| tensors::load_detail(&detail_path, config.vae.bands, bins))
            .transpose()?;
        Ok(Model {
            config,
            vae,
            calibration,
            detail,
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
