//! `beatgen spec-train SONGS --model DIR`

use std::time::Instant;

use serde_json::json;

use crate::cli::SpecTrainArgs;
use crate::dataset::Dataset;
use crate::model_dir::TrainOptions;
use crate::train::{train, TrainRequest};

pub fn run(a: SpecTrainArgs) -> anyhow::Result<()> {
    if a.epochs == 0 || a.batch_size == 0 {
        anyhow::bail!("--epochs and --batch-size must be positive");
    }
    let arch = a.net.architecture()?;
    let non_negative = |v: f32| (0.0..f32::INFINITY).contains(&v);
    let settings_ok = a.lr > 0.0
        && a.lr.is_finite()
        && [a.beta, a.kl_warmup, a.clip_norm, a.free_bits, a.flux_weight]
            .into_iter()
            .all(non_negative);
    if !settings_ok {
        anyhow::bail!(
            "--lr must be a positive number and --beta, --kl-warmup, --clip-norm, --free-bits, --flux-weight non-negative numbers"
        );
    }
    let (cfg, mut dopts) = super::dataset_setup(&a.data, a.seed)?;
    if a.resume {
        // A resumed run trains and validates on the songs the run started with.
        dopts.saved_split = Some(crate::model_dir::load_split(&a.model)?);
    }
    let start = Instant::now();
    let ds = Dataset::load(&a.songs, &cfg, &dopts)?;
    let options = TrainOptions {
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        beta: a.beta,
        kl_warmup_epochs: a.kl_warmup,
        clip_norm: (a.clip_norm > 0.0).then_some(a.clip_norm),
        seed: a.seed,
        patience: a.patience,
        validation_fraction: a.data.val_fraction,
        recon_loss: a.recon_loss,
        free_bits: a.free_bits,
        flux_weight: a.flux_weight,
    };
    let req = TrainRequest {
        model_dir: &a.model,
        options,
        arch,
        latent: a.net.latent,
        resume: a.resume,
        dump_png: a.dump_png,
    };
    let report = train(&ds, &req)?;
    let s = &report.state;
    let last = s.history.last();
    let secs = start.elapsed().as_secs_f64();
    if a.json {
        return super::print_json(&json!({
            "model": a.model, "epochs": s.epoch, "steps": s.step, "best_epoch": s.best_epoch,
            "best_val_loss": s.best_val, "val_recon": last.map(|r| r.val_recon), "val_kl": last.map(|r| r.val_kl),
            "train_recon": last.map(|r| r.train_recon), "baseline_val_recon": s.baseline_val_recon,
            "stopped_early": report.stopped_early, "parameters": report.parameters,
            "samples_per_second": report.samples_per_second, "seconds": secs,
        }));
    }
    println!(
        "trained {} ({} parameters) for {} epochs{}: best validation loss {:.1} at epoch {} (reconstruction {:.1} vs {:.1} for the mean-clip baseline); {:.0} samples/s, {:.1} s in all",
        a.model.display(),
        report.parameters,
        s.epoch,
        if report.stopped_early { " (early stop)" } else { "" },
        s.best_val,
        s.best_epoch,
        s.history.get(s.best_epoch.saturating_sub(1)).map_or(f64::NAN, |r| r.val_recon),
        s.baseline_val_recon,
        report.samples_per_second,
        secs
    );
    Ok(())
}
