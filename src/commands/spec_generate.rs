//! `beatgen spec-generate --model DIR --genre G --out DIR`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use ndarray::Array2;
use serde_json::json;

use crate::cli::SpecGenerateArgs;
use crate::generate::{sample_latent, Synth, Timing};
use crate::loops::tile_to_bars;
use crate::vae::checkpoint::Model;
use dsp::GriffinLimConfig;

/// One written file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Generated {
    pub path: PathBuf,
    pub seconds: f64,
    pub tempo_bpm: Option<f32>,
    pub spectral_convergence_db: f32,
    /// Sample positions of the loop seams (empty for single clips).
    pub seams: Vec<usize>,
}

pub fn run(a: SpecGenerateArgs) -> anyhow::Result<Vec<Generated>> {
    let model = Model::load(&a.model)?;
    generate(&model, &a)
}

/// Generate with an already loaded model and print the summary (or JSON).
pub fn generate(model: &Model, a: &SpecGenerateArgs) -> anyhow::Result<Vec<Generated>> {
    let (out, timing) = generate_files(model, a)?;
    if a.json {
        super::print_json(&json!({"genre": a.genre, "files": out, "timing_seconds": timing}))?;
    } else {
        println!(
            "{:<48} {:>8} {:>10} {:>8}",
            "file", "seconds", "tempo", "SC (dB)"
        );
        for g in &out {
            let tempo = g.tempo_bpm.map_or("-".to_string(), |t| format!("{t:.1}"));
            println!(
                "{:<48} {:>8.2} {:>10} {:>8.1}",
                g.path.display(),
                g.seconds,
                tempo,
                g.spectral_convergence_db
            );
        }
        println!(
            "{} {} file(s) of {} in {}: decoder {:.3} s, Griffin-Lim {:.3} s, analysis + encoding {:.3} s",
            out.len(),
            a.render.format,
            a.genre,
            a.out.display(),
            timing.decoder,
            timing.griffin_lim,
            timing.encoding
        );
    }
    Ok(out)
}

/// Generate without printing (the demo prints its own table).
pub fn generate_quiet(model: &Model, a: &SpecGenerateArgs) -> anyhow::Result<Vec<Generated>> {
    Ok(generate_files(model, a)?.0)
}

/// Decode, render, loop and write the files; returns them with the time spent per stage.
pub fn generate_files(
    model: &Model,
    a: &SpecGenerateArgs,
) -> anyhow::Result<(Vec<Generated>, Timing)> {
    let genre = model.genre_index(&a.genre)?;
    if a.count == 0 || !(a.temperature >= 0.0) || a.bars == Some(0) {
        anyhow::bail!("--count and --bars must be at least 1 and --temperature non-negative");
    }
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create", a.out.display()))?;
    let mut synth = Synth::new(model)?;
    let f = model.config.features.clone();
    let latent = model.config.vae.latent;
    let mut timing = Timing::default();

    let t0 = Instant::now();
    let mut z = Array2::zeros((latent, a.count));
    for i in 0..a.count {
        let zi = sample_latent(model, genre, a.seed, i as u64, a.temperature, a.prior);
        z.column_mut(i).iter_mut().zip(zi).for_each(|(d, v)| *d = v);
    }
    let specs = synth.decode(&z, &synth.one_hot(&vec![genre; a.count]));
    timing.decoder = t0.elapsed().as_secs_f64();

    let gl = GriffinLimConfig {
        iterations: a.render.gl_iters,
        init: a.render.init,
        ..Default::default()
    };
    let seeds: Vec<u64> = (0..a.count as u64)
        .map(|i| a.seed.wrapping_mul(1000).wrapping_add(i))
        .collect();
    let (rendered, gl_secs) = synth.render_all(&specs, &gl, &seeds)?;
    timing.griffin_lim = gl_secs;

    let mut out = Vec::new();
    let ext = a.render.format.as_str();
    let t2 = Instant::now();
    for (i, ((audio, sc), spec)) in rendered.into_iter().zip(&specs).enumerate() {
        let db = synth.fx.bin_db(&audio)?;
        let tempo = dsp::tempo::tempo_of_spectrogram(db, &f.projection_for_tempo(), f.frame_rate());
        let (audio, name, seams) = match a.bars {
            None => (
                audio,
                format!("{}-seed{}-{:02}.{ext}", a.genre, a.seed, i + 1),
                Vec::new(),
            ),
            Some(bars) => {
                // The clip's own tempo, else the genre's training tempo with the clip's phase.
                let fallback = model.config.genre_tempi.get(genre).copied().flatten();
                let t = tempo.or_else(|| {
                    fallback.map(|bpm| dsp::tempo::Tempo {
                        bpm,
                        period_frames: f.frame_rate() * 60.0 / bpm,
                        phase_frames: 0.0,
                        strength: 0.0,
                    })
                });
                let Some(t) = t else {
                    anyhow::bail!("clip {} has no detectable tempo and the model has none for {}: cannot loop it", i + 1, a.genre);
                };
                let lp = tile_to_bars(&audio, f.sample_rate, f.hop, &t, bars);
                (
                    lp.audio,
                    format!("{}-seed{}-{:02}-{bars}bars.{ext}", a.genre, a.seed, i + 1),
                    lp.seams,
                )
            }
        };
        let path = a.out.join(name);
        let png = a.render.dump_png.then(|| synth.to_bin_db(spec));
        super::write_clip(&path, &audio, f.sample_rate, png.as_ref())?;
        out.push(Generated {
            path,
            seconds: audio.len() as f64 / f.sample_rate as f64,
            tempo_bpm: tempo.map(|t| t.bpm),
            spectral_convergence_db: sc,
            seams,
        });
    }
    timing.encoding = t2.elapsed().as_secs_f64();
    Ok((out, timing))
}
