//! `beatgen demo`: the whole main job on the bundled corpus, for a newcomer.

use std::path::Path;
use std::time::Instant;

use crate::cli::{DemoArgs, RenderArgs, SpecGenerateArgs};
use crate::corpus::{make_corpus, CorpusOptions};
use crate::dataset::Dataset;
use crate::train::{train, TrainRequest};
use crate::vae::checkpoint::{self, Model, TrainOptions};

/// Songs folder holds audio in at least one genre folder.
fn has_songs(dir: &Path) -> bool {
    crate::dataset::scan::scan(dir)
        .map(|f| !f.is_empty())
        .unwrap_or(false)
}

pub fn run(a: DemoArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    if !has_songs(&a.songs) {
        crate::progress::say(format_args!(
            "[1/3] {} is empty: synthesising the default corpus (make-corpus, seed 1)",
            a.songs.display()
        ));
        let bar = crate::progress::bar(0, "synthesising");
        make_corpus(&a.songs, &CorpusOptions::default(), &bar)?;
        bar.finish_and_clear();
    } else {
        crate::progress::say(format_args!(
            "[1/3] using the songs in {}",
            a.songs.display()
        ));
    }
    let (features, dopts) = super::dataset_setup(
        &crate::cli::DatasetArgs {
            bands: 128,
            val_fraction: 0.2,
            clip_hop: 1.5,
            no_beat_align: false,
            cache: None,
        },
        0,
    )?;
    let ds = Dataset::load(&a.songs, &features, &dopts)?;
    let options = TrainOptions {
        epochs: a.epochs,
        patience: Some(10),
        ..Default::default()
    };
    // Up to date: same representation, options and genres, and training finished.
    let existing = checkpoint::load_config(&a.model).ok();
    let finished = existing.as_ref().and_then(|c| {
        let same = c.features == ds.config
            && c.genres == ds.genres
            && TrainOptions {
                epochs: options.epochs,
                patience: options.patience,
                ..c.training.clone()
            } == options;
        same.then(|| checkpoint::load_checkpoint(&a.model, &c.vae).ok())
            .flatten()
    });
    let reuse = !a.retrain
        && finished
            .as_ref()
            .is_some_and(|(_, _, s)| s.epoch >= options.epochs || s.epoch - s.best_epoch >= 10);
    if reuse {
        crate::progress::say(format_args!(
            "[2/3] {} is up to date: reusing it (--retrain to train again)",
            a.model.display()
        ));
    } else {
        let resume = !a.retrain && finished.is_some();
        if a.retrain && a.model.exists() {
            std::fs::remove_dir_all(&a.model)?;
        } else if !resume && a.model.join(checkpoint::CHECKPOINT_FILE).exists() {
            anyhow::bail!("{}: holds a model trained with other settings; use --retrain to replace it or --model for another folder", a.model.display());
        }
        crate::progress::say(format_args!(
            "[2/3] training {} on {} songs ({} genres), up to {} epochs{}",
            a.model.display(),
            ds.songs.len(),
            ds.genres.len(),
            a.epochs,
            if resume { ", resuming" } else { "" }
        ));
        let req = TrainRequest {
            model_dir: &a.model,
            options: options.clone(),
            hidden: vec![512, 256],
            latent: 64,
            resume,
            dump_png: false,
        };
        let report = train(&ds, &req)?;
        let s = &report.state;
        crate::progress::say(format_args!(
            "      best validation reconstruction {:.0} at epoch {} (mean-clip baseline {:.0}); {:.0} samples/s",
            s.history.get(s.best_epoch.saturating_sub(1)).map_or(f64::NAN, |r| r.val_recon),
            s.best_epoch,
            s.baseline_val_recon,
            report.samples_per_second
        ));
    }
    let model = Model::load(&a.model)?;
    crate::progress::say(format_args!(
        "[3/3] generating 2 clips and one 4-bar loop per genre into {}",
        a.out.display()
    ));
    let render = RenderArgs {
        format: "mp3".into(),
        gl_iters: 32,
        init: dsp::PhaseInit::Pghi,
        dump_png: true,
    };
    let mut files = Vec::new();
    for genre in model.config.genres.clone() {
        for (count, bars) in [(2, None), (1, Some(4))] {
            let args = SpecGenerateArgs {
                model: a.model.clone(),
                genre: genre.clone(),
                out: a.out.join(&genre),
                count,
                temperature: 0.8,
                seed: 1,
                bars,
                prior: crate::generate::Prior::Genre,
                render: render.clone(),
                json: true,
            };
            files.extend(super::spec_generate::generate_quiet(&model, &args)?);
        }
    }
    println!("{:<52} {:>8} {:>8}", "file", "seconds", "tempo");
    for g in &files {
        println!(
            "{:<52} {:>8.2} {:>8}",
            g.path.display(),
            g.seconds,
            g.tempo_bpm.map_or("-".into(), |t| format!("{t:.1}"))
        );
    }
    println!(
        "demo done in {:.0} s: {} files in {} (spectrogram PNGs beside them); model in {}. Listen with any player, e.g. `ffplay {}` or open the folder.",
        start.elapsed().as_secs_f64(),
        files.len(),
        a.out.display(),
        a.model.display(),
        files.first().map_or(String::new(), |f| f.path.display().to_string())
    );
    Ok(())
}
