//! One module per subcommand; each takes its parsed arguments and returns `anyhow::Result`.

mod bench_train;
mod clicks;
mod dataset_info;
pub mod demo;
mod eval;
mod make_corpus;
mod resynth;
mod spec_dump;
mod spec_generate;
mod spec_interpolate;
mod spec_reconstruct;
mod spec_train;
pub mod train_onsets;
pub mod transcribe;

use std::path::Path;

use anyhow::Context;

use crate::cli::Command;

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::SpecDump(a) => spec_dump::run(a),
        Command::Resynth(a) => resynth::run(a),
        Command::MakeCorpus(a) => make_corpus::run(a),
        Command::DatasetInfo(a) => dataset_info::run(a),
        Command::SpecTrain(a) => spec_train::run(a),
        Command::SpecGenerate(a) => spec_generate::run(a).map(|_| ()),
        Command::SpecReconstruct(a) => spec_reconstruct::run(a),
        Command::SpecInterpolate(a) => spec_interpolate::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Transcribe(a) => transcribe::run(a),
        Command::TrainOnsets(a) => train_onsets::run(a),
        Command::Eval(a) => eval::run(a),
        Command::BenchTrain(a) => bench_train::run(a),
        Command::DecodeRaw(a) => {
            let model = crate::model_dir::Model::load(&a.model)?;
            let g = model.genre_index(&a.genre)?;
            anyhow::ensure!(
                a.z.len() == model.config.vae.latent,
                "--z needs {} values, got {}",
                model.config.vae.latent,
                a.z.len()
            );
            let mut onehot = vec![0.0f32; model.config.genres.len()];
            onehot[g] = 1.0;
            let y = model.vae.decode_raw(&a.z, &onehot);
            print_json(&serde_json::json!({"genre_index": g, "output": y}))
        }
    }
}

/// Seconds of a file that spec-reconstruct and spec-interpolate analyse (tempo and bar lines
/// need several bars; the first example found is used).
pub(crate) const ANALYSIS_SECONDS: f64 = 30.0;

/// Decode a part of a file at the model rate, logging the decoder's warnings with the path.
pub(crate) fn decode_part(
    path: &Path,
    offset: f64,
    seconds: Option<f64>,
) -> anyhow::Result<dsp::Decoded> {
    if seconds.is_some_and(|s| !(s > 0.0)) || !(offset >= 0.0) {
        anyhow::bail!(
            "{}: --seconds must be positive and --offset non-negative",
            path.display()
        );
    }
    let opts = dsp::DecodeOptions {
        offset_seconds: offset,
        max_seconds: seconds,
        ..Default::default()
    };
    let decoded = dsp::decode_file(path, &opts)?;
    for w in &decoded.warnings {
        log::warn!("{}: {w}", path.display());
    }
    Ok(decoded)
}

/// The tempo a file declares (tag, else file name), when the model was trained to use such
/// metadata (see `dataset::tempo_choice`).
pub(crate) fn declared_tempo(
    model: &crate::model_dir::Model,
    path: &Path,
    decoded: &dsp::Decoded,
) -> Option<f32> {
    model
        .config
        .features
        .tempo_metadata
        .then(|| crate::dataset::tempo_choice::metadata_bpm(path, decoded.tagged_bpm))
        .flatten()
        .map(|(bpm, _)| bpm)
}

/// The feature config and dataset options from the command line.
pub(crate) fn dataset_setup(
    a: &crate::cli::DatasetArgs,
    seed: u64,
) -> anyhow::Result<(
    crate::dataset::features::FeatureConfig,
    crate::dataset::DatasetOptions,
)> {
    use crate::cli::RepresentationKind;
    use crate::dataset::features::{BarGrid, FeatureConfig};
    anyhow::ensure!(
        a.grid_bars >= 1 && a.frames_per_16th >= 1,
        "--grid-bars and --frames-per-16th must be at least 1"
    );
    let cfg = FeatureConfig {
        grid: (a.representation == RepresentationKind::Bars).then_some(BarGrid {
            bars: a.grid_bars,
            frames_per_16th: a.frames_per_16th,
        }),
        bands: a.bands,
        band_average: a.band_average,
        clip_hop_seconds: a.clip_hop,
        beat_align: !a.no_beat_align,
        tempo_metadata: !a.ignore_tempo_metadata,
        ..Default::default()
    };
    if cfg.bands == 0 || cfg.bands > cfg.bins() {
        anyhow::bail!("--bands must be in 1..={} (got {})", cfg.bins(), a.bands);
    }
    cfg.validate().map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        a.bar_lines.is_none() || cfg.grid.is_some(),
        "--bar-lines needs the bar grid (--representation bars)"
    );
    if !(a.clip_hop > 0.0) || !(0.0..1.0).contains(&a.val_fraction) {
        anyhow::bail!("--clip-hop must be positive and --val-fraction in [0, 1)");
    }
    Ok((
        cfg,
        crate::dataset::DatasetOptions {
            validation_fraction: a.val_fraction,
            seed,
            saved_split: None,
            cache_dir: a.cache.clone(),
            bar_lines: a.bar_lines.clone(),
        },
    ))
}

/// The genre for conditioning a real file: `--genre`, else the file's folder name when the
/// model knows it, else the model's first genre.
pub(crate) fn genre_for_file(
    model: &crate::model_dir::Model,
    explicit: Option<&str>,
    path: &Path,
) -> anyhow::Result<usize> {
    if let Some(g) = explicit {
        return model.genre_index(g);
    }
    let folder = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    Ok(model.genre_index(folder).unwrap_or(0))
}

/// Write audio by format name, and optionally a PNG of its spectrogram beside it.
pub(crate) fn write_clip(
    path: &Path,
    audio: &[f32],
    rate: u32,
    png: Option<&dsp::Spectrogram>,
) -> anyhow::Result<()> {
    dsp::write_audio(path, audio, rate, &dsp::EncodeOptions::default())
        .with_context(|| format!("writing {}", path.display()))?;
    if let Some(db) = png {
        dsp::image::write_spectrogram_png(
            &path.with_extension("png"),
            db,
            dsp::spectrogram::FLOOR_DB,
            0.0,
        )?;
    }
    Ok(())
}

/// Print a JSON value as one line on stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string(value).context("serialising the report")?
    );
    Ok(())
}
