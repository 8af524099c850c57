//! `spec-train`: the training loop around the hand-written VAE.
//!
//! Per epoch: the training clips are shuffled (seeded by `(seed, epoch)`), read from the
//! cache a batch at a time (memory stays bounded), standardised, and fed to
//! `forward_backward` + Adam; beta rises linearly over the KL warm-up. The last partial batch
//! of an epoch is dropped (the shuffle changes it every epoch). Then the validation clips are
//! scored with `z = mu`, the epoch is logged (`loss.csv`, `loss.png`), the best weights are
//! kept in `weights.safetensors` and everything needed to resume in `checkpoint.safetensors`.
//! Every random draw derives from `(seed, epoch)`, so a run interrupted after an epoch and
//! resumed ends with the same weights as an uninterrupted one. When training ends, the genres'
//! latent distributions and the output calibration are fitted under the best weights, and the
//! spectral detail on the training songs.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;

use crate::calibration::Calibration;
use crate::dataset::features::{FeatureExtractor, Normalization};
use crate::dataset::split::Split;
use crate::dataset::{ClipReader, ClipRef, Dataset};
use crate::detail::{DetailFit, SpectralDetail};
use crate::generate::{sample_latent, Prior};
use crate::model_dir::{self as checkpoint, EpochRecord, ModelConfig, TrainOptions, TrainState};
use crate::vae::shards::ShardedStep;
use crate::vae::{
    AdamConfig, AdamState, Architecture, Losses, ReconLoss, Vae, VaeConfig, Workspace,
};
use dsp::rng::SplitMix64;

/// The stream of `seed` the initial weights are drawn from (epoch `e` shuffles and draws its
/// noise from stream `1 + e`).
const INIT_STREAM: u64 = 0x1417;

/// Clips per genre the output calibration is fitted on: this many decoded samples of the
/// genre's latent distribution, and up to this many of its training clips (evenly spaced).
pub const CALIBRATION_CLIPS: usize = 128;
/// Mixed into the training seed for the calibration's latent samples, so they are not the
/// samples `spec-generate` or `eval` draw with the same seed.
const CALIBRATION_SEED: u64 = 0xCA1B_0000;

/// Fills workspaces with normalised clips streamed from the cache.
pub struct BatchLoader<'a> {
    reader: ClipReader<'a>,
    ds: &'a Dataset,
    norm: Normalization,
    genre_map: Vec<usize>,
    buf: Vec<f32>,
}

impl<'a> BatchLoader<'a> {
    /// `genres` is the model's genre list (a dataset genre must be in it).
    pub fn new(ds: &'a Dataset, norm: Normalization, genres: &[String]) -> anyhow::Result<Self> {
        let genre_map = ds
            .genres
            .iter()
            .map(|g| {
                genres.iter().position(|m| m == g).ok_or_else(|| {
                    anyhow::anyhow!(
                        "genre {g:?} is not one of the model's ({})",
                        genres.join(", ")
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(BatchLoader {
            reader: ClipReader::new(ds),
            ds,
            norm,
            genre_map,
            buf: vec![0.0; ds.config.clip_len()],
        })
    }

    /// Model genre index of a clip.
    pub fn genre_of(&self, r: ClipRef) -> usize {
        self.genre_map[self
            .ds
            .genre_index(&self.ds.songs[r.song].genre)
            .expect("dataset genre")]
    }

    /// Each of `clips`, normalised, with its index and genre, to `put`.
    fn each_clip(
        &mut self,
        clips: &[ClipRef],
        mut put: impl FnMut(usize, &[f32], usize),
    ) -> anyhow::Result<()> {
        for (col, &r) in clips.iter().enumerate() {
            self.reader.read(r, &mut self.buf)?;
            self.norm.normalize(&mut self.buf);
            put(col, &self.buf, self.genre_of(r));
        }
        Ok(())
    }

    /// Put `clips` into the columns of `ws`.
    pub fn fill(&mut self, ws: &mut Workspace, clips: &[ClipRef]) -> anyhow::Result<()> {
        self.each_clip(clips, |col, clip, g| ws.set_sample(col, clip, g))
    }

    /// Put `clips` (one batch) into the shards of a data-parallel step.
    pub fn fill_shards(&mut self, step: &mut ShardedStep, clips: &[ClipRef]) -> anyhow::Result<()> {
        self.each_clip(clips, |col, clip, g| {
            let (ws, c) = step.locate(col);
            ws.set_sample(c, clip, g);
        })
    }

    /// A normalised clip.
    pub fn read(&mut self, r: ClipRef, out: &mut [f32]) -> anyhow::Result<()> {
        self.reader.read(r, out)?;
        self.norm.normalize(out);
        Ok(())
    }
}

/// Loss of `clips` with `z = mu` (no sampling), in batches of up to `batch`.
pub fn evaluate_loss(
    vae: &Vae,
    loader: &mut BatchLoader,
    clips: &[ClipRef],
    batch: usize,
    recon_loss: ReconLoss,
    cache: &mut HashMap<usize, Workspace>,
) -> anyhow::Result<Losses> {
    let (mut recon, mut kl, mut n) = (0.0, 0.0, 0usize);
    for chunk in clips.chunks(batch) {
        let ws = cache
            .entry(chunk.len())
            .or_insert_with(|| Workspace::new(vae, chunk.len()));
        loader.fill(ws, chunk)?;
        let l = vae.forward(ws, false, recon_loss);
        recon += l.recon * chunk.len() as f64;
        kl += l.kl * chunk.len() as f64;
        n += chunk.len();
    }
    let n = n.max(1) as f64;
    Ok(Losses {
        recon: recon / n,
        kl: kl / n,
    })
}

/// The baseline: reconstruction error (same units as the model's) of predicting the mean
/// training clip for every clip in `clips`.
pub fn mean_clip_baseline(
    loader: &mut BatchLoader,
    train: &[ClipRef],
    clips: &[ClipRef],
    clip_len: usize,
    recon_loss: ReconLoss,
) -> anyhow::Result<f64> {
    let mean = crate::dataset::mean_clip(train, clip_len, |r, b| loader.read(r, b))?;
    let mut buf = vec![0.0f32; clip_len];
    let mut total = 0.0;
    for &r in clips {
        loader.read(r, &mut buf)?;
        total += mean
            .iter()
            .zip(&buf)
            .map(|(m, &v)| match recon_loss {
                ReconLoss::Mse => (m - v as f64).powi(2),
                ReconLoss::L1 => (m - v as f64).abs(),
            })
            .sum::<f64>();
    }
    Ok(total / clips.len().max(1) as f64)
}

/// What the caller asked for.
pub struct TrainRequest<'a> {
    pub model_dir: &'a Path,
    pub options: TrainOptions,
    pub arch: Architecture,
    pub latent: usize,
    pub resume: bool,
    pub dump_png: bool,
}

/// Summary of a finished run.
pub struct TrainReport {
    pub state: TrainState,
    pub stopped_early: bool,
    pub parameters: usize,
    pub samples_per_second: f64,
}

/// Train (or resume) on `ds` into `req.model_dir`.
pub fn train(ds: &Dataset, req: &TrainRequest) -> anyhow::Result<TrainReport> {
    let mut t = Trainer::new(ds, req)?;
    while t.state.epoch < req.options.epochs {
        let record = t.run_epoch()?;
        let improved = t.end_epoch(record)?;
        t.say(&record, improved);
        if t.patience_ran_out() {
            return t.finish(true);
        }
    }
    t.finish(false)
}

/// A training run: the network, its optimiser and state, the data, and the buffers reused
/// by every step.
struct Trainer<'a> {
    ds: &'a Dataset,
    req: &'a TrainRequest<'a>,
    config: ModelConfig,
    vae: Vae,
    adam: AdamState,
    adam_cfg: AdamConfig,
    state: TrainState,
    loader: BatchLoader<'a>,
    train_clips: Vec<ClipRef>,
    val_clips: Vec<ClipRef>,
    /// The training batch's shards and the validation workspaces (by batch size).
    shards: ShardedStep,
    eval_ws: HashMap<usize, Workspace>,
    warmup_steps: f32,
    /// Samples trained on and seconds spent on it in this run (for the throughput).
    samples: usize,
    train_secs: f64,
}

impl<'a> Trainer<'a> {
    /// Set up a new run or resume the one in the model directory; save `config.json` (and
    /// for a new run `split.json`); load the clips and measure the mean-clip baseline once.
    fn new(ds: &'a Dataset, req: &'a TrainRequest<'a>) -> anyhow::Result<Self> {
        let (dir, opts) = (req.model_dir, &req.options);
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the model directory", dir.display()))?;
        let vae_cfg = VaeConfig::new(
            ds.config.frames(),
            ds.config.bands(),
            ds.genres.len(),
            req.latent,
            &req.arch,
        );
        let (config, vae, adam, mut state) = if req.resume {
            resumed(dir, ds, &vae_cfg, opts)?
        } else {
            started(dir, ds, vae_cfg, opts)?
        };
        // Before anything is written: a run refused here (too large a network, fewer clips than
        // a batch) leaves no model behind.
        check_training_memory(&vae, opts.batch_size)?;
        let mut loader = BatchLoader::new(ds, config.normalization.clone(), &config.genres)?;
        let train_clips = ds.clips(Split::Train);
        let mut val_clips = ds.clips(Split::Validation);
        if val_clips.is_empty() {
            log::warn!(
                "no validation clips (every genre has a single song): validating on the training clips"
            );
            val_clips = train_clips.clone();
        }
        let b = opts.batch_size;
        if train_clips.len() < b {
            anyhow::bail!(
                "{} training clips, fewer than one batch of {b}: lower --batch-size or add songs",
                train_clips.len()
            );
        }
        checkpoint::save_config(dir, &config)?;
        if !req.resume {
            checkpoint::save_split(dir, &ds.saved_split())?;
        }
        if state.baseline_val_recon.is_nan() {
            state.baseline_val_recon = mean_clip_baseline(
                &mut loader,
                &train_clips,
                &val_clips,
                ds.config.clip_len(),
                opts.recon_loss,
            )?;
        }
        let steps_per_epoch = train_clips.len() / b;
        Ok(Trainer {
            adam_cfg: AdamConfig {
                lr: opts.lr,
                clip_norm: opts.clip_norm,
                ..Default::default()
            },
            shards: ShardedStep::new(&vae, b),
            eval_ws: HashMap::new(),
            warmup_steps: (opts.kl_warmup_epochs * steps_per_epoch as f32).max(1.0),
            ds,
            req,
            config,
            vae,
            adam,
            state,
            loader,
            train_clips,
            val_clips,
            samples: 0,
            train_secs: 0.0,
        })
    }

    /// One pass over the shuffled training clips (the last partial batch dropped); every
    /// random draw comes from stream `1 + epoch` of the seed. Stops on a non-finite loss.
    fn run_epoch(&mut self) -> anyhow::Result<EpochRecord> {
        let opts = &self.req.options;
        let b = opts.batch_size;
        let epoch = self.state.epoch;
        let start = Instant::now();
        let mut rng = SplitMix64::stream(opts.seed, 1 + epoch as u64);
        let mut order = self.train_clips.clone();
        rng.shuffle(&mut order);
        let steps = order.len() / b;
        let bar = crate::progress::bar(steps as u64, &format!("epoch {}", epoch + 1));
        let (mut recon, mut kl, mut beta) = (0.0, 0.0, 0.0f32);
        for chunk in order.chunks_exact(b) {
            self.loader.fill_shards(&mut self.shards, chunk)?;
            self.shards.sample_eps(&mut rng);
            beta = opts.beta * ((self.state.step as f32 + 1.0) / self.warmup_steps).min(1.0);
            let l = self
                .shards
                .forward_backward(&mut self.vae, &opts.objective(beta));
            if !(l.recon.is_finite() && l.kl.is_finite()) {
                bar.finish_and_clear();
                let at = format!("step {}", self.state.step + 1);
                return Err(self.diverged(&l, &at));
            }
            let norm = self.shards.grad_norm();
            self.adam
                .apply_with_norm(&mut self.vae, &self.adam_cfg, norm);
            self.state.step += 1;
            recon += l.recon;
            kl += l.kl;
            bar.inc(1);
        }
        bar.finish_and_clear();
        let train_time = start.elapsed().as_secs_f64();
        self.samples += steps * b;
        self.train_secs += train_time;
        let val = evaluate_loss(
            &self.vae,
            &mut self.loader,
            &self.val_clips,
            b,
            opts.recon_loss,
            &mut self.eval_ws,
        )?;
        // The last update can leave weights that no step has used yet: the validation loss
        // is their first test, and the checkpoint must not keep them.
        if !(val.recon.is_finite() && val.kl.is_finite()) {
            return Err(self.diverged(&val, "on the validation clips"));
        }
        Ok(EpochRecord {
            epoch: epoch + 1,
            train_recon: recon / steps as f64,
            train_kl: kl / steps as f64,
            val_recon: val.recon,
            val_kl: val.kl,
            beta: beta as f64,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// The error for a loss that became NaN or infinite `at` (a step, or the validation
    /// clips) in the current epoch: what happened, and what is kept.
    fn diverged(&self, l: &Losses, at: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "the loss became {} at epoch {} {at} (reconstruction {}, KL {}); stopped. The last good checkpoint (epoch {}) is kept in {}: try a lower --lr or --clip-norm",
            if l.recon.is_nan() || l.kl.is_nan() { "NaN" } else { "infinite" },
            self.state.epoch + 1,
            l.recon,
            l.kl,
            self.state.epoch,
            self.req.model_dir.display()
        )
    }

    /// Record the epoch, keep the best weights, write the checkpoint and the loss files (and
    /// the reconstruction PNGs when asked); true when the validation loss improved.
    fn end_epoch(&mut self, rec: EpochRecord) -> anyhow::Result<bool> {
        let dir = self.req.model_dir;
        self.state.history.push(rec);
        self.state.epoch += 1;
        let val_total = rec.val_recon + rec.val_kl;
        let improved = val_total < self.state.best_val;
        if improved {
            self.state.best_val = val_total;
            self.state.best_epoch = rec.epoch;
            checkpoint::save_weights(&dir.join(checkpoint::WEIGHTS_FILE), &self.vae)?;
        }
        checkpoint::save_checkpoint(dir, &self.vae, &self.adam, &self.state)?;
        write_loss_files(dir, &self.state)?;
        if self.req.dump_png {
            dump_reconstructions(
                dir,
                &self.vae,
                &mut self.loader,
                &self.val_clips,
                self.ds,
                &self.config,
                rec.epoch,
            )?;
        }
        Ok(improved)
    }

    /// The epoch's line on the terminal.
    fn say(&self, rec: &EpochRecord, improved: bool) {
        crate::progress::say(format_args!(
            "epoch {:>3}/{}: train recon {:>8.1} KL {:>6.1} | val recon {:>8.1} KL {:>6.1} | {:>5.1} s{}",
            rec.epoch,
            self.req.options.epochs,
            rec.train_recon,
            rec.train_kl,
            rec.val_recon,
            rec.val_kl,
            rec.seconds,
            if improved { "  (best)" } else { "" }
        ));
    }

    /// `--patience` epochs have passed without a better validation loss.
    fn patience_ran_out(&self) -> bool {
        self.req
            .options
            .patience
            .is_some_and(|p| self.state.epoch - self.state.best_epoch >= p)
    }

    /// Save the genres' aggregate posteriors under the best weights (for genre-conditional
    /// sampling) into `config.json`, fit the output calibration, and report.
    fn finish(mut self, stopped_early: bool) -> anyhow::Result<TrainReport> {
        let dir = self.req.model_dir;
        let best = checkpoint::tensors::load_weights(
            &dir.join(checkpoint::WEIGHTS_FILE),
            &self.config.vae,
        )?;
        let genre_latent = genre_latent_stats(
            &best,
            &mut self.loader,
            &self.train_clips,
            self.config.genres.len(),
        )?;
        let model = checkpoint::Model {
            config: ModelConfig {
                genre_latent,
                ..self.config
            },
            vae: best,
            calibration: None,
            detail: None,
            dir: dir.to_path_buf(),
        };
        checkpoint::save_config(dir, &model.config)?;
        let cal = fit_calibration(
            &model,
            &mut self.loader,
            &self.train_clips,
            self.req.options.seed ^ CALIBRATION_SEED,
        )?;
        checkpoint::save_calibration(&dir.join(checkpoint::CALIBRATION_FILE), &cal)?;
        let detail_path = dir.join(checkpoint::DETAIL_FILE);
        match fit_detail(self.ds) {
            Ok((detail, frames)) => {
                checkpoint::save_detail(&detail_path, &detail)?;
                log::info!("spectral detail fitted on {frames} frames of the training songs");
            }
            Err(e) => {
                // Rendering falls back to the smooth inverse; a detail of an earlier run must
                // not stay beside these weights.
                log::warn!("spectral detail not fitted ({e:#}): rendering without it");
                if detail_path.exists() {
                    std::fs::remove_file(&detail_path).with_context(|| {
                        format!("{}: cannot remove the old file", detail_path.display())
                    })?;
                }
            }
        }
        let strengths: Vec<String> = (model
            .config
            .genres
            .iter()
            .zip(cal.postfilter.iter().flatten()))
        .map(|(g, s)| format!("{g} {s:.2}"))
        .collect();
        log::info!("postfilter strengths fitted: {}", strengths.join(", "));
        Ok(TrainReport {
            state: self.state,
            stopped_early,
            parameters: self.vae.parameter_count(),
            samples_per_second: if self.train_secs > 0.0 {
                self.samples as f64 / self.train_secs
            } else {
                0.0
            },
        })
    }
}

/// A new run: fit the normalisation, seed the weights, an empty state.
fn started(
    dir: &Path,
    ds: &Dataset,
    vae_cfg: VaeConfig,
    opts: &TrainOptions,
) -> anyhow::Result<(ModelConfig, Vae, AdamState, TrainState)> {
    if dir.join(checkpoint::CHECKPOINT_FILE).exists() {
        anyhow::bail!(
            "{}: already holds a model; use --resume to continue it or choose another --model",
            dir.display()
        );
    }
    let config = ModelConfig {
        format_version: checkpoint::FORMAT_VERSION,
        features: ds.config.clone(),
        vae: vae_cfg.clone(),
        genres: ds.genres.clone(),
        normalization: ds.fit_normalization()?,
        training: opts.clone(),
        songs_dir: ds.root.clone(),
        genre_tempi: ds.genres.iter().map(|g| median_tempo(ds, g)).collect(),
        genre_latent: Vec::new(),
    };
    let vae = Vae::new(vae_cfg, &mut SplitMix64::stream(opts.seed, INIT_STREAM))?;
    let adam = AdamState::new(&vae);
    let state = TrainState {
        epoch: 0,
        step: 0,
        best_val: f64::INFINITY,
        best_epoch: 0,
        history: Vec::new(),
        baseline_val_recon: f64::NAN,
    };
    Ok((config, vae, adam, state))
}

/// The run saved in `dir`, checked against what is asked now (the epochs, patience and
/// learning rate may change; the network, data and objective may not).
fn resumed(
    dir: &Path,
    ds: &Dataset,
    vae_cfg: &VaeConfig,
    opts: &TrainOptions,
) -> anyhow::Result<(ModelConfig, Vae, AdamState, TrainState)> {
    let saved = checkpoint::load_config(dir)?;
    check_compatible(dir, &saved, ds, vae_cfg, opts)?;
    let split = checkpoint::load_split(dir)?;
    if ds.saved_split() != split {
        anyhow::bail!(
            "cannot resume {}: the songs differ from the {} training and {} validation songs it started with (see {})",
            dir.display(),
            split.train.len(),
            split.validation.len(),
            dir.join(checkpoint::SPLIT_FILE).display()
        );
    }
    let (vae, adam, state) = checkpoint::load_checkpoint(dir, &saved.vae)?;
    log::info!(
        "resuming {} at epoch {} (step {})",
        dir.display(),
        state.epoch,
        state.step
    );
    let config = ModelConfig {
        training: TrainOptions {
            epochs: opts.epochs,
            patience: opts.patience,
            lr: opts.lr,
            ..saved.training.clone()
        },
        ..saved
    };
    Ok((config, vae, adam, state))
}

/// Most memory a training run may hold, by [`Vae::training_bytes`] (8 GiB; it reckons 0.4 GB
/// for the default network with batches of 32, 0.8 GB for the MLP option).
pub const MAX_TRAINING_BYTES: u64 = 8 << 30;

/// Refuse a network that would need more than [`MAX_TRAINING_BYTES`] to train with batches of
/// `batch`, before its batch buffers are allocated.
pub fn check_training_memory(vae: &Vae, batch: usize) -> anyhow::Result<()> {
    let bytes = vae.training_bytes(batch);
    log::debug!("training holds about {} MB", bytes >> 20);
    anyhow::ensure!(
        bytes <= MAX_TRAINING_BYTES,
        "this network with batches of {batch} needs about {:.1} GB to train, more than the {} GB \
         beatgen allows: lower --batch-size, --channels, --conv-layers, --hidden, --latent or --bands",
        bytes as f64 / 1e9,
        MAX_TRAINING_BYTES >> 30
    );
    Ok(())
}

/// Mean and standard deviation per latent dimension of the posterior means of each genre's
/// clips.
pub fn genre_latent_stats(
    vae: &Vae,
    loader: &mut BatchLoader,
    clips: &[ClipRef],
    n_genres: usize,
) -> anyhow::Result<Vec<checkpoint::LatentStats>> {
    let l = vae.cfg.latent;
    let (mut sum, mut sq, mut n) = (
        vec![vec![0.0f64; l]; n_genres],
        vec![vec![0.0f64; l]; n_genres],
        vec![0usize; n_genres],
    );
    let mut buf = vec![0.0f32; vae.cfg.clip_len()];
    for &r in clips {
        loader.read(r, &mut buf)?;
        let g = loader.genre_of(r);
        let mu = vae.encode_mean(&buf, g);
        for (j, &m) in mu.iter().enumerate() {
            sum[g][j] += m as f64;
            sq[g][j] += (m as f64) * (m as f64);
        }
        n[g] += 1;
    }
    Ok((0..n_genres)
        .map(|g| {
            let c = n[g].max(1) as f64;
            let mean: Vec<f32> = sum[g].iter().map(|s| (s / c) as f32).collect();
            let std = sq[g]
                .iter()
                .zip(&mean)
                .map(|(q, &m)| ((q / c - (m as f64).powi(2)).max(0.0).sqrt() as f32).max(1e-3))
                .collect();
            checkpoint::LatentStats { mean, std }
        })
        .collect())
}

/// The output calibration of a model (see [`crate::calibration`]): per genre, the decoder's
/// levels on [`CALIBRATION_CLIPS`] samples of the genre's latent distribution (temperature 1,
/// as generation draws them, from `seed`) against the levels of its training clips, and the
/// postfilter strength that gives the calibrated samples the training clips' fine structure.
pub fn fit_calibration(
    model: &checkpoint::Model,
    loader: &mut BatchLoader,
    clips: &[ClipRef],
    seed: u64,
) -> anyhow::Result<Calibration> {
    use rayon::prelude::*;
    let genres = model.config.genres.len();
    let mut cal = Calibration::new(model.config.vae.bands);
    for g in 0..genres {
        let mut one_hot = vec![0.0f32; genres];
        one_hot[g] = 1.0;
        let decoded: Vec<Vec<f32>> = (0..CALIBRATION_CLIPS as u64)
            .into_par_iter()
            .map(|i| {
                let z = sample_latent(model, g, seed, i, 1.0, Prior::Genre);
                model.vae.decode_clip(&z, &one_hot)
            })
            .collect();
        let own: Vec<ClipRef> = clips
            .iter()
            .copied()
            .filter(|&r| loader.genre_of(r) == g)
            .collect();
        let take = own.len().min(CALIBRATION_CLIPS);
        let mut real = Vec::with_capacity(take);
        for k in 0..take {
            let mut buf = vec![0.0f32; model.config.vae.clip_len()];
            loader.read(own[k * own.len() / take], &mut buf)?;
            real.push(buf);
        }
        cal.push_genre(&decoded, &real);
        // The postfilter strength, on levels as generation sees them: calibrated, in dB.
        let to_db = |clips: Vec<Vec<f32>>, calibrate: bool| -> Vec<Vec<f32>> {
            clips
                .into_iter()
                .map(|mut c| {
                    if calibrate {
                        cal.apply(&mut c, &one_hot);
                    }
                    model.config.normalization.denormalize(&mut c);
                    c
                })
                .collect()
        };
        let (decoded, real) = (to_db(decoded, true), to_db(real, false));
        let strength = crate::postfilter::fit_strength(&decoded, &real, cal.bands);
        if let Some(s) = cal.postfilter.as_mut() {
            s[g] = strength;
        }
    }
    Ok(cal)
}

/// The spectral detail (see [`crate::detail`]), fitted on every STFT frame of the training
/// songs, decoded again (songs that no longer decode are left out with a warning); with the
/// number of frames.
pub fn fit_detail(ds: &Dataset) -> anyhow::Result<(SpectralDetail, usize)> {
    use rayon::prelude::*;
    let cfg = &ds.config;
    let bins = cfg.bins();
    let songs: Vec<_> = ds
        .songs
        .iter()
        .filter(|s| s.split == Split::Train)
        .collect();
    let opts = dsp::DecodeOptions {
        sample_rate: cfg.sample_rate,
        ..Default::default()
    };
    // Songs are analysed in parallel a few at a time and added in their order, so the sums
    // (and the weights) do not depend on the number of threads, and memory holds a few fits.
    let mut fit = DetailFit::new(cfg.bands(), bins);
    for chunk in songs.chunks(8) {
        let fits = chunk
            .par_iter()
            .map(|song| -> anyhow::Result<DetailFit> {
                let mut fit = DetailFit::new(cfg.bands(), bins);
                match dsp::decode_file(&song.path, &opts) {
                    Ok(d) => FeatureExtractor::new(cfg)?.add_to_detail_fit(&d.samples, &mut fit)?,
                    Err(e) => log::warn!("spectral detail: leaving out {e}"),
                }
                Ok(fit)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        fit = fits.into_iter().fold(fit, DetailFit::merge);
    }
    let frames = fit.frames();
    Ok((fit.finish()?, frames))
}

fn median_tempo(ds: &Dataset, genre: &str) -> Option<f32> {
    let mut t: Vec<f32> = ds
        .songs
        .iter()
        .filter(|s| s.genre == genre && s.split == Split::Train)
        .filter_map(|s| s.meta.tempo_bpm)
        .collect();
    t.sort_by(f32::total_cmp);
    t.get(t.len() / 2).copied()
}

/// A resume must train the same network on the same kind of data.
fn check_compatible(
    model_dir: &Path,
    saved: &ModelConfig,
    ds: &Dataset,
    vae_cfg: &VaeConfig,
    opts: &TrainOptions,
) -> anyhow::Result<()> {
    let mut diffs = Vec::new();
    if saved.features != ds.config {
        diffs.push(format!(
            "representation (saved bands {}, clip hop {}; now bands {}, clip hop {})",
            saved.features.bands,
            saved.features.clip_hop_seconds,
            ds.config.bands,
            ds.config.clip_hop_seconds
        ));
    }
    if saved.vae.latent != vae_cfg.latent {
        diffs.push(format!(
            "latent (saved {}, now {})",
            saved.vae.latent, vae_cfg.latent
        ));
    } else if saved.vae != *vae_cfg {
        diffs.push(
            "architecture (--arch, --hidden, --channels, --conv-layers, --kernel or --step-latent)"
                .to_string(),
        );
    }
    if saved.genres != ds.genres {
        diffs.push(format!(
            "genres (saved {}, now {})",
            saved.genres.join(","),
            ds.genres.join(",")
        ));
    }
    let t = &saved.training;
    for (name, a, b) in [
        ("batch-size", t.batch_size as f64, opts.batch_size as f64),
        ("beta", t.beta as f64, opts.beta as f64),
        ("free-bits", t.free_bits as f64, opts.free_bits as f64),
        ("flux-weight", t.flux_weight as f64, opts.flux_weight as f64),
        (
            "kl-warmup",
            t.kl_warmup_epochs as f64,
            opts.kl_warmup_epochs as f64,
        ),
        ("seed", t.seed as f64, opts.seed as f64),
        (
            "val-fraction",
            t.validation_fraction as f64,
            opts.validation_fraction as f64,
        ),
    ] {
        if a != b {
            diffs.push(format!("{name} (saved {a}, now {b})"));
        }
    }
    if t.recon_loss != opts.recon_loss {
        diffs.push(format!(
            "recon-loss (saved {:?}, now {:?})",
            t.recon_loss, opts.recon_loss
        ));
    }
    if t.clip_norm != opts.clip_norm {
        diffs.push(format!(
            "clip-norm (saved {:?}, now {:?})",
            t.clip_norm, opts.clip_norm
        ));
    }
    if !diffs.is_empty() {
        anyhow::bail!(
            "cannot resume {}: the options differ from the saved model: {}",
            model_dir.display(),
            diffs.join("; ")
        );
    }
    Ok(())
}

fn write_loss_files(dir: &Path, state: &TrainState) -> anyhow::Result<()> {
    let mut csv = String::from(
        "epoch,train_recon,train_kl,val_recon,val_kl,beta,seconds,baseline_val_recon\n",
    );
    for r in &state.history {
        csv.push_str(&format!(
            "{},{:.4},{:.4},{:.4},{:.4},{:.4},{:.3},{:.4}\n",
            r.epoch,
            r.train_recon,
            r.train_kl,
            r.val_recon,
            r.val_kl,
            r.beta,
            r.seconds,
            state.baseline_val_recon
        ));
    }
    dsp::atomic::write_atomically(&dir.join("loss.csv"), csv.as_bytes())?;
    let series = vec![
        state
            .history
            .iter()
            .map(|r| r.train_recon)
            .collect::<Vec<_>>(),
        state.history.iter().map(|r| r.val_recon).collect(),
        vec![state.baseline_val_recon; state.history.len()],
    ];
    crate::plot::line_plot(&series, 640, 360).save(&dir.join("loss.png"))
}

/// Input (top) and reconstruction (bottom) of the first three validation clips.
fn dump_reconstructions(
    dir: &Path,
    vae: &Vae,
    loader: &mut BatchLoader,
    val: &[ClipRef],
    ds: &Dataset,
    cfg: &ModelConfig,
    epoch: usize,
) -> anyhow::Result<()> {
    let n = val.len().min(3);
    if n == 0 {
        return Ok(());
    }
    let out_dir = dir.join("reconstructions");
    std::fs::create_dir_all(&out_dir)?;
    let mut ws = Workspace::new(vae, n);
    loader.fill(&mut ws, &val[..n])?;
    vae.forward(&mut ws, false, cfg.training.recon_loss);
    let (frames, bands) = (ds.config.frames(), ds.config.bands());
    for (i, &r) in val[..n].iter().enumerate() {
        let mut input = vec![0.0f32; frames * bands];
        loader.read(r, &mut input)?;
        let mut output = vae.output_clip(&ws, i);
        cfg.normalization.denormalize(&mut input);
        cfg.normalization.denormalize(&mut output);
        let mut both = dsp::Spectrogram::zeros(frames, 2 * bands);
        for t in 0..frames {
            both.frame_mut(t)[..bands].copy_from_slice(&output[t * bands..(t + 1) * bands]);
            both.frame_mut(t)[bands..].copy_from_slice(&input[t * bands..(t + 1) * bands]);
        }
        dsp::image::write_spectrogram_png(
            &out_dir.join(format!("epoch-{epoch:03}-clip-{}.png", i + 1)),
            &both,
            dsp::spectrogram::FLOOR_DB,
            0.0,
        )?;
    }
    Ok(())
}
