//! `beatgen demo`: the whole main job on the bundled corpus, for a newcomer.

use std::path::Path;
use std::time::Instant;

use super::spec_generate::Generated;
use crate::cli::DemoArgs;
use crate::corpus::{make_corpus, CorpusOptions};
use crate::dataset::Dataset;
use crate::listen_page::{Page, Section};
use crate::model_dir::{self, Model, ModelDirError, TrainOptions};
use crate::postfilter::Postfilter;
use crate::train::{train, TrainRequest};

/// Training epochs (at most: training stops early after 10 epochs without improvement).
pub const DEMO_EPOCHS: usize = 40;
/// Epochs without a better validation loss after which the demo's training stops.
const DEMO_PATIENCE: usize = 10;
/// Generated loops per genre, and their length in bars.
const DEMO_CLIPS: usize = 3;
const DEMO_BARS: usize = 4;

/// Songs folder holds audio in at least one genre folder.
fn has_songs(dir: &Path) -> bool {
    crate::dataset::scan::scan(dir)
        .map(|f| !f.is_empty())
        .unwrap_or(false)
}

pub fn run(a: DemoArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    ensure_songs(&a.songs)?;
    ensure_model(&a)?;
    let model = Model::load(&a.model)?;
    if model
        .calibration
        .as_ref()
        .is_none_or(|c| c.postfilter.is_none())
    {
        crate::progress::say(format_args!(
            "note: {} was trained before the postfilter strengths were fitted: its loops are written without the postfilter (--retrain to fit them)",
            a.model.display()
        ));
    }
    crate::progress::say(format_args!(
        "[3/3] generating {DEMO_CLIPS} loops of {DEMO_BARS} bars per genre, at the genre's tempo, into {}",
        a.out.display()
    ));
    let sections = generate_loops(&model, &a.out)?;
    let page = Page {
        title: "beatgen demo".into(),
        summary: vec![format!(
            "{DEMO_CLIPS} loops of {DEMO_BARS} bars per genre at the genre's median training tempo, from the model in {} (seed 1, temperature 0.8).",
            a.model.display()
        )],
        preformatted: None,
        sections: sections
            .iter()
            .map(|(genre, files)| Section {
                title: genre.clone(),
                entries: files.iter().map(Generated::page_entry).collect(),
            })
            .collect(),
    }
    .write(&a.out)?;
    let files: Vec<Generated> = sections.into_iter().flat_map(|(_, f)| f).collect();
    print_summary(&a, &files, &page, start);
    Ok(())
}

/// Step 1: the songs folder, synthesised with the default corpus when empty.
fn ensure_songs(songs: &Path) -> anyhow::Result<()> {
    if !has_songs(songs) {
        crate::progress::say(format_args!(
            "[1/3] {} is empty: synthesising the default corpus (make-corpus, seed 1)",
            songs.display()
        ));
        let bar = crate::progress::bar(0, "synthesising");
        make_corpus(songs, &CorpusOptions::default(), &bar)?;
        bar.finish_and_clear();
    } else {
        crate::progress::say(format_args!("[1/3] using the songs in {}", songs.display()));
    }
    Ok(())
}

/// Step 2: a model trained with the defaults in `a.model`: reused when up to date, resumed
/// when interrupted, trained otherwise.
fn ensure_model(a: &DemoArgs) -> anyhow::Result<()> {
    // The defaults of every option (representation, split, network, training).
    let features = crate::dataset::features::FeatureConfig::default();
    let dopts = crate::dataset::DatasetOptions::default();
    let ds = Dataset::load(&a.songs, &features, &dopts)?;
    let options = TrainOptions {
        epochs: a.epochs,
        patience: Some(DEMO_PATIENCE),
        ..Default::default()
    };
    let (arch, latent) = (
        crate::vae::Architecture::default(),
        crate::vae::model::DEFAULT_LATENT,
    );
    let vae_cfg = crate::vae::VaeConfig::new(
        features.frames(),
        features.bands(),
        ds.genres.len(),
        latent,
        &arch,
    );
    // What the model folder holds (config and training state only; no weights are read). A
    // corrupt or unreadable file is an error, not "no model".
    let existing = if a.retrain {
        None
    } else {
        model_dir::status(&a.model).map_err(|e| {
            if let Some(ModelDirError::OtherVersion { .. }) = e.downcast_ref() {
                e.context(format!(
                    "{} holds a model of another beatgen version: use --retrain to replace it or --model for another folder",
                    a.model.display()
                ))
            } else {
                e
            }
        })?
    };
    // Up to date: same representation, network, options and genres, and an epoch finished.
    let same = |c: &model_dir::ModelConfig| {
        c.features == ds.config
            && c.genres == ds.genres
            && c.vae == vae_cfg
            && TrainOptions {
                epochs: options.epochs,
                patience: options.patience,
                ..c.training.clone()
            } == options
    };
    let finished = match existing {
        Some((c, state)) if same(&c) => state,
        _ => None,
    };
    let reuse = finished
        .as_ref()
        .is_some_and(|s| s.epoch >= options.epochs || s.epoch - s.best_epoch >= DEMO_PATIENCE);
    if reuse {
        crate::progress::say(format_args!(
            "[2/3] {} is up to date: reusing it (--retrain to train again)",
            a.model.display()
        ));
        let detail_path = a.model.join(model_dir::DETAIL_FILE);
        if !detail_path.exists() {
            // Trained before beatgen had a spectral detail: fit it on the model's own training
            // songs (the weights stay as they are).
            let dopts = crate::dataset::DatasetOptions {
                saved_split: Some(model_dir::load_split(&a.model)?),
                ..dopts
            };
            let ds = Dataset::load(&a.songs, &features, &dopts)?;
            let (detail, frames) = crate::train::fit_detail(&ds)?;
            model_dir::save_detail(&detail_path, &detail)?;
            crate::progress::say(format_args!(
                "      fitted its spectral detail on {frames} frames of its training songs (it was trained without one)"
            ));
        }
    } else {
        let resume = finished.is_some();
        if a.retrain && a.model.exists() {
            std::fs::remove_dir_all(&a.model)?;
        } else if !resume && a.model.join(model_dir::CHECKPOINT_FILE).exists() {
            anyhow::bail!("{}: holds a model trained with other settings; use --retrain to replace it or --model for another folder", a.model.display());
        }
        // A resumed run keeps the songs it started with.
        let ds = if resume {
            let dopts = crate::dataset::DatasetOptions {
                saved_split: Some(model_dir::load_split(&a.model)?),
                ..dopts
            };
            Dataset::load(&a.songs, &features, &dopts)?
        } else {
            ds
        };
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
            arch: arch.clone(),
            latent,
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
    Ok(())
}

/// Step 3: the loops of every genre, through the one generation path.
fn generate_loops(model: &Model, out: &Path) -> anyhow::Result<Vec<(String, Vec<Generated>)>> {
    let mut files = Vec::new();
    for (g, genre) in model.config.genres.iter().enumerate() {
        let req = crate::generate::GenerateRequest {
            genre: g,
            count: DEMO_CLIPS,
            temperature: 0.8,
            seed: 1,
            bars: Some(DEMO_BARS),
            ..Default::default()
        };
        let output = super::spec_generate::Output {
            dir: out.join(genre),
            format: "mp3".into(),
            dump_png: true,
            midi_quantize: Some(1.0),
            postfilter: Postfilter::Fitted,
            shaper: Default::default(),
        };
        let written = super::spec_generate::write_generated(model, &req, &output)?.0;
        files.push((genre.clone(), written));
    }
    Ok(files)
}

fn print_summary(a: &DemoArgs, files: &[Generated], page: &Path, start: Instant) {
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>15} {:>8}",
        "file", "seconds", "bpm", "heard", "MIDI k/s/h/b", "on grid"
    );
    let opt = |t: Option<f32>| t.map_or("-".to_string(), |t| format!("{t:.1}"));
    for g in files {
        let notes = g
            .notes
            .map_or("-".into(), |[k, s, h, b]| format!("{k}/{s}/{h}/{b}"));
        let on = g
            .on_grid
            .map_or("-".into(), |o| format!("{:.0}%", 100.0 * o));
        println!(
            "{:<44} {:>8.2} {:>8} {:>8} {:>15} {:>8}",
            g.path.display(),
            g.seconds,
            opt(g.bpm),
            opt(g.tempo_bpm),
            notes,
            on
        );
    }
    println!(
        "demo done in {:.0} s: {} files in {} (spectrogram PNGs and MIDI grooves beside them); model in {}.\nlisten: open {}",
        start.elapsed().as_secs_f64(),
        files.len(),
        a.out.display(),
        a.model.display(),
        page.display()
    );
}
