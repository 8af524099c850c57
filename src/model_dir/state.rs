//! Where a training run stands: its epochs so far, kept in the checkpoint's metadata so that a
//! resumed run continues exactly.

use serde::{Deserialize, Serialize};

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
