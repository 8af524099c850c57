//! `beatgen spec-reconstruct --model DIR IN OUT`

use serde_json::json;

use crate::cli::SpecReconstructArgs;
use anyhow::Context;

use crate::generate::{RenderSpec, Synth};
use crate::model_dir::Model;
use dsp::GriffinLimConfig;

/// Log-spectral distance in dB between two band-dB spectrograms: the RMS of their difference.
pub fn log_spectral_distance(a: &dsp::Spectrogram, b: &dsp::Spectrogram) -> f64 {
    let n = a.data.len().max(1) as f64;
    (a.data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| ((x - y) as f64).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

pub fn run(a: SpecReconstructArgs) -> anyhow::Result<()> {
    dsp::AudioFormat::from_path(&a.output)?;
    let model = Model::load(&a.model)?;
    let genre = super::genre_for_file(&model, a.genre.as_deref(), &a.input)?;
    let f = &model.config.features;
    let decoded = super::decode_part(&a.input, a.part.offset, Some(super::ANALYSIS_SECONDS))?;
    let mut synth = Synth::new(&model)?;
    synth.shaper = a.sustain_cut.into();
    let (input, bpm) = synth
        .features(
            &decoded.samples,
            super::declared_tempo(&model, &a.input, &decoded),
        )
        .with_context(|| format!("{}", a.input.display()))?;
    let z = synth.encode(&input, genre);
    let zs = ndarray::Array2::from_shape_vec((z.len(), 1), z)?;
    let out = synth.decode(&zs, &synth.one_hot(&[genre])).remove(0);
    let lsd = log_spectral_distance(&input, &out);
    let render = RenderSpec {
        gl: GriffinLimConfig {
            iterations: a.gl_iters,
            init: a.init,
            seed: a.seed,
            ..Default::default()
        },
        // The input's own tempo unless asked (bar-grid models).
        bpm: f.grid.and(a.bpm.or(bpm)),
        bars: None,
    };
    let r = synth.render(&out, &render)?;
    let (audio, sc) = (r.audio, r.spectral_convergence_db);
    super::write_clip(
        &a.output,
        &audio,
        f.sample_rate,
        a.dump_png.then(|| synth.to_bin_db(&out)).as_ref(),
    )?;
    if a.dump_png {
        let p = a.output.with_extension("input.png");
        dsp::image::write_spectrogram_png(
            &p,
            &synth.to_bin_db(&input),
            dsp::spectrogram::FLOOR_DB,
            0.0,
        )?;
    }
    let genre_name = &model.config.genres[genre];
    if a.json {
        return super::print_json(&json!({
            "input": a.input, "output": a.output, "genre": genre_name,
            "log_spectral_distance_db": lsd, "spectral_convergence_db": sc,
        }));
    }
    println!(
        "{} -> {} (as {genre_name}): log-spectral distance {lsd:.2} dB between input and reconstruction; Griffin-Lim SC {sc:.1} dB",
        a.input.display(),
        a.output.display()
    );
    Ok(())
}
