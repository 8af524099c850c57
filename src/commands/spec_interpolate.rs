//! `beatgen spec-interpolate --model DIR A B --steps N --out DIR`

use anyhow::Context;
use ndarray::Array2;
use serde_json::json;

use crate::cli::SpecInterpolateArgs;
use crate::generate::{sample_latent, slerp, Prior, RenderSpec, Synth};
use crate::model_dir::Model;
use dsp::GriffinLimConfig;

/// A latent end point and its genre.
fn end_point(
    spec: &str,
    model: &Model,
    synth: &mut Synth,
    genre_arg: Option<&str>,
    prior: Prior,
) -> anyhow::Result<(Vec<f32>, usize)> {
    if let Some(rest) = spec.strip_prefix("seed:") {
        let mut parts = rest.splitn(2, ':');
        let seed: u64 = parts
            .next()
            .unwrap_or("")
            .parse()
            .with_context(|| format!("{spec:?}: expected seed:N[:genre]"))?;
        let genre = match parts.next() {
            Some(g) => model.genre_index(g)?,
            None => genre_arg
                .map(|g| model.genre_index(g))
                .transpose()?
                .unwrap_or(0),
        };
        // The same draw as spec-generate's first clip with this seed (temperature 1).
        return Ok((sample_latent(model, genre, seed, 0, 1.0, prior), genre));
    }
    let path = std::path::Path::new(spec);
    let genre = super::genre_for_file(model, genre_arg, path)?;
    let decoded = super::decode_part(path, 0.0, Some(super::ANALYSIS_SECONDS))?;
    let (feats, _) = synth
        .features(
            &decoded.samples,
            super::declared_tempo(model, path, &decoded),
        )
        .with_context(|| format!("{}", path.display()))?;
    Ok((synth.encode(&feats, genre), genre))
}

pub fn run(a: SpecInterpolateArgs) -> anyhow::Result<()> {
    if a.steps < 2 {
        anyhow::bail!("--steps must be at least 2 (both ends)");
    }
    let model = Model::load(&a.model)?;
    crate::generate::check_request_size(
        &model.config.features,
        a.steps,
        None,
        crate::generate::MIN_BPM,
    )?;
    let mut synth = Synth::new(&model)?;
    synth.shaper = a.sustain_cut.into();
    let (za, ga) = end_point(&a.a, &model, &mut synth, a.genre.as_deref(), a.prior)?;
    let (zb, gb) = end_point(&a.b, &model, &mut synth, a.genre.as_deref(), a.prior)?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create", a.out.display()))?;
    let (latent, n_genres) = (model.config.vae.latent, model.config.genres.len());
    let mut z = Array2::zeros((latent, a.steps));
    let mut g = Array2::zeros((n_genres, a.steps));
    for s in 0..a.steps {
        let t = s as f32 / (a.steps - 1) as f32;
        z.column_mut(s)
            .iter_mut()
            .zip(slerp(&za, &zb, t))
            .for_each(|(d, v)| *d = v);
        // Genres blend linearly (a one-hot at each end).
        g[[ga, s]] += 1.0 - t;
        g[[gb, s]] += t;
    }
    let specs = synth.decode(&z, &g);
    let render = RenderSpec {
        gl: GriffinLimConfig {
            iterations: a.render.gl_iters,
            init: a.render.init,
            ..Default::default()
        },
        // Both ends' genre tempi, blended like the genres.
        bpm: model.config.features.grid.map(|_| {
            a.bpm
                .unwrap_or(0.5 * (synth.default_bpm(ga) + synth.default_bpm(gb)))
        }),
        bars: None,
    };
    let seeds = vec![a.seed; a.steps];
    let (rendered, _) = synth.render_all(&specs, &render, &seeds)?;
    let f = &model.config.features;
    let ext = &a.render.format;
    let mut files = Vec::new();
    let mut sequence = Vec::new();
    for (s, (r, spec)) in rendered.iter().zip(&specs).enumerate() {
        let audio = &r.audio;
        let path = a.out.join(format!("step-{:02}.{ext}", s + 1));
        super::write_clip(
            &path,
            audio,
            f.sample_rate,
            a.render.dump_png.then(|| synth.to_bin_db(spec)).as_ref(),
        )?;
        sequence.extend_from_slice(audio);
        files.push(path);
    }
    let seq_path = a.out.join(format!("sequence.{ext}"));
    super::write_clip(&seq_path, &sequence, f.sample_rate, None)?;
    if a.json {
        return super::print_json(
            &json!({"steps": files, "sequence": seq_path, "genres": [model.config.genres[ga], model.config.genres[gb]]}),
        );
    }
    println!(
        "{} steps from {} ({}) to {} ({}) in {}, all in sequence in {}",
        a.steps,
        a.a,
        model.config.genres[ga],
        a.b,
        model.config.genres[gb],
        a.out.display(),
        seq_path.display()
    );
    Ok(())
}
