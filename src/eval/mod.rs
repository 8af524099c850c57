//! `beatgen eval`: how good the beats are, against real floors and ceilings, with no
//! downloaded model. The model's own train/validation split by song is respected: only its
//! validation songs count as held-out real. Metrics (per genre and overall):
//!
//! 1. **gl**: Griffin-Lim spectral convergence (dB) on held-out real magnitudes, 32 and 100
//!    iterations, random and PGHI initialisation: the phase-reconstruction ceiling.
//! 2. **reconstruction**: log-spectral distance (RMS dB over band values) of held-out clips
//!    through the VAE (`z = mu`), next to the mean training clip's distance (the baseline).
//! 3. **classifier**: logistic regression on the clip features ([`clip_features`]) trained on
//!    real training clips only; accuracy on held-out real clips (the ceiling) and on generated
//!    clips of each genre; inception-score analogue `exp(E[KL(p(y|x) || p(y))])` of generated.
//! 4. **frechet**: Frechet distance between Gaussians fitted to standardised features of
//!    generated vs held-out real clips; floor: training real vs held-out real; ceilings: white
//!    noise, and the mean training clip rendered to audio, vs held-out real.
//! 5. **rhythm**: detected tempo and onset rate (median and interquartile range) of generated
//!    vs held-out real clips, and beat regularity (median tempo strength).
//! 6. **transients**: median onset sharpness and median spectral flatness (see
//!    [`clip_features::ClipAnalysis`]) of generated clips, held-out real clips, and held-out
//!    real clips resynthesised from their STFT magnitude by Griffin-Lim (PGHI + 32 iterations:
//!    the best the phase reconstruction can do), and held-out real clips' own model features
//!    (bands) rendered exactly as generated clips are (the pipeline without the VAE: the
//!    ceiling of the representation).
//! 7. **novelty**: median nearest-neighbour distance (standardised features) from generated
//!    clips to the training clips, against the same for held-out real clips; a ratio far below
//!    1 would mean copies.
//! 8. **diversity**: mean pairwise feature distance among generated clips divided by the same
//!    among held-out real clips (mode collapse shows as a small ratio).

pub mod classifier;
pub mod clip_features;
pub mod stats;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::dataset::split::Split;
use crate::dataset::{ClipReader, Dataset, DatasetOptions};
use crate::generate::{generate, GenerateRequest, Prior, RenderSpec, Synth, DEFAULT_BPM};
use crate::vae::checkpoint::Model;
use classifier::{inception_score, Classifier};
use clip_features::{analyse, standardise, standardiser, ClipAnalysis};
use dsp::{GriffinLimConfig, PhaseInit, Spectrogram, StftPlan};

/// Griffin-Lim as generation runs it: PGHI + 32 iterations.
const GL_GENERATION: GriffinLimConfig = GriffinLimConfig {
    iterations: 32,
    momentum: 0.99,
    init: PhaseInit::Pghi,
    seed: 0,
};

/// Options. Defaults: 10 generated clips per genre, seed 0, 3 held-out clips per genre for the
/// Griffin-Lim ceiling.
pub struct EvalOptions {
    pub count: usize,
    pub seed: u64,
    pub gl_clips: usize,
}

struct Clip {
    genre: usize,
    analysis: ClipAnalysis,
}

fn analyse_all(audio: Vec<(usize, Vec<f32>)>, model: &Model) -> Vec<Clip> {
    let cfg = &model.config.features;
    audio
        .into_par_iter()
        .map_init(
            || StftPlan::new(cfg.stft()).expect("valid"),
            |plan, (genre, a)| Clip {
                genre,
                analysis: analyse(&a, cfg, plan),
            },
        )
        .collect()
}

/// Audio of every clip of the given split (decoding each song once): on the bar grid each
/// example's bars at the song's own tempo, else the fixed clips.
fn real_audio(
    ds: &Dataset,
    split: Split,
    genre_of: &(dyn Fn(&str) -> usize + Sync),
) -> anyhow::Result<Vec<(usize, Vec<f32>)>> {
    let songs: Vec<_> = ds.songs.iter().filter(|s| s.split == split).collect();
    let per_song: Vec<anyhow::Result<Vec<(usize, Vec<f32>)>>> = songs
        .par_iter()
        .map(|s| {
            let d = dsp::decode_file(
                &s.path,
                &dsp::DecodeOptions {
                    sample_rate: ds.config.sample_rate,
                    ..Default::default()
                },
            )?;
            let g = genre_of(&s.genre);
            let n = ds
                .config
                .example_samples(s.meta.tempo_bpm.unwrap_or(DEFAULT_BPM))
                .round() as usize;
            Ok(s.meta
                .clip_starts
                .iter()
                .filter(|&&st| st + n <= d.samples.len())
                .map(|&st| (g, d.samples[st..st + n].to_vec()))
                .collect())
        })
        .collect();
    Ok(per_song
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect())
}

fn rows(clips: &[Clip], genre: Option<usize>) -> Vec<Vec<f64>> {
    clips
        .iter()
        .filter(|c| genre.is_none_or(|g| c.genre == g))
        .map(|c| c.analysis.features.clone())
        .collect()
}

fn mean_pairwise(r: &[Vec<f64>]) -> f64 {
    let mut s = 0.0;
    let mut n = 0usize;
    for i in 0..r.len() {
        for j in i + 1..r.len() {
            s += stats::euclid(&r[i], &r[j]);
            n += 1;
        }
    }
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

fn nn_median(from: &[Vec<f64>], to: &[Vec<f64>]) -> f64 {
    let d: Vec<f64> = from
        .iter()
        .map(|a| {
            to.iter()
                .map(|b| stats::euclid(a, b))
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    stats::median_iqr(&d).0
}

fn lsd(a: &[f32], b: &[f32]) -> f64 {
    (a.iter()
        .zip(b)
        .map(|(x, y)| ((x - y) as f64).powi(2))
        .sum::<f64>()
        / a.len().max(1) as f64)
        .sqrt()
}

/// Run the evaluation; returns the report as JSON and, per genre, the band spectrograms of
/// the first generated clip and of the first held-out real clip (for the gallery).
pub fn evaluate(
    model: &Model,
    songs: &Path,
    opts: &EvalOptions,
) -> anyhow::Result<(Value, Vec<(Spectrogram, Option<Spectrogram>)>)> {
    let t = &model.config.training;
    let dopts = DatasetOptions {
        validation_fraction: t.validation_fraction,
        seed: t.seed,
        cache_dir: None,
    };
    let ds = Dataset::load(songs, &model.config.features, &dopts)?;
    let genres = model.config.genres.clone();
    for g in &ds.genres {
        model.genre_index(g).with_context(|| {
            format!(
                "{}: songs of a genre the model was not trained on",
                songs.display()
            )
        })?;
    }
    let genre_of = |g: &str| genres.iter().position(|m| m == g).unwrap_or(0);
    let cfg = model.config.features.clone();
    let bar = crate::progress::bar(6, "evaluating");

    // Real clips: training (classifier, floor, novelty) and held-out.
    let train = analyse_all(real_audio(&ds, Split::Train, &genre_of)?, model);
    let held_audio = real_audio(&ds, Split::Validation, &genre_of)?;
    anyhow::ensure!(
        !held_audio.is_empty(),
        "{}: the model's split leaves no held-out songs here",
        songs.display()
    );
    bar.inc(1);

    // 1. Griffin-Lim ceiling on a few held-out clips per genre.
    let mut gl: BTreeMap<String, Value> = BTreeMap::new();
    let mut plan = StftPlan::new(cfg.stft())?;
    let mut glp = dsp::GriffinLim::new(cfg.stft())?;
    for (gi, g) in genres.iter().enumerate() {
        let clips: Vec<&Vec<f32>> = held_audio
            .iter()
            .filter(|(x, _)| *x == gi)
            .map(|(_, a)| a)
            .take(opts.gl_clips)
            .collect();
        let mut res = BTreeMap::new();
        for (iters, init) in [
            (32, PhaseInit::Random),
            (100, PhaseInit::Random),
            (32, PhaseInit::Pghi),
            (100, PhaseInit::Pghi),
        ] {
            let mut scs = Vec::new();
            for a in &clips {
                let mut spec = dsp::ComplexSpec::zeros(0, 0);
                plan.forward(a, &mut spec)?;
                let mut y = vec![0.0; a.len()];
                scs.push(glp.run(
                    &spec.magnitude(),
                    &GriffinLimConfig {
                        iterations: iters,
                        init,
                        ..Default::default()
                    },
                    &mut y,
                )? as f64);
            }
            res.insert(
                format!("{init}_{iters}"),
                json!(scs.iter().sum::<f64>() / scs.len().max(1) as f64),
            );
        }
        gl.insert(g.clone(), json!(res));
    }
    // The pipeline's ceiling: every held-out clip through STFT magnitude and Griffin-Lim (PGHI
    // + 32 iterations, as generation uses).
    let resynth_audio: Vec<(usize, Vec<f32>)> = held_audio
        .par_iter()
        .map_init(
            || {
                (
                    StftPlan::new(cfg.stft()).expect("valid"),
                    dsp::GriffinLim::new(cfg.stft()).expect("valid"),
                )
            },
            |(plan, glp), (g, a)| -> anyhow::Result<(usize, Vec<f32>)> {
                let mut spec = dsp::ComplexSpec::zeros(0, 0);
                plan.forward(a, &mut spec)?;
                let mut y = vec![0.0; a.len()];
                glp.run(&spec.magnitude(), &GL_GENERATION, &mut y)?;
                Ok((*g, y))
            },
        )
        .collect::<anyhow::Result<_>>()?;
    let resynth = analyse_all(resynth_audio, model);
    let held = analyse_all(held_audio, model);
    bar.inc(1);

    // 2. Reconstruction through the VAE vs the mean training clip (band dB).
    let mut reader = ClipReader::new(&ds);
    let mut buf = vec![0.0f32; cfg.clip_len()];
    let mean_clip: Vec<f32> =
        crate::dataset::mean_clip(&ds.clips(Split::Train), cfg.clip_len(), |r, b| {
            reader.read(r, b)
        })?
        .iter()
        .map(|&m| m as f32)
        .collect();
    let synth = Synth::new(model)?;
    let mut recon: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut first_real: Vec<Option<Spectrogram>> = vec![None; genres.len()];
    let mut held_bands = Vec::new();
    for r in ds.clips(Split::Validation) {
        reader.read(r, &mut buf)?;
        let g = genre_of(&ds.songs[r.song].genre);
        let band = Spectrogram {
            frames: cfg.frames(),
            bins: cfg.bands(),
            data: buf.clone(),
        };
        held_bands.push((g, band.clone(), ds.songs[r.song].meta.tempo_bpm));
        if first_real[g].is_none() {
            first_real[g] = Some(band.clone());
        }
        let z = synth.encode(&band, g);
        let zs = ndarray::Array2::from_shape_vec((z.len(), 1), z)?;
        let out = synth.decode(&zs, &synth.one_hot(&[g])).remove(0);
        let e = recon.entry(genres[g].clone()).or_default();
        e.0.push(lsd(&out.data, &buf));
        e.1.push(lsd(&mean_clip, &buf));
    }
    // The representation's ceiling: held-out clips' own band features rendered as generated
    // clips are (bands back to bins, Griffin-Lim, at the song's tempo): the pipeline without
    // the VAE.
    let bands_audio: Vec<(usize, Vec<f32>)> = held_bands
        .par_iter()
        .map(|(g, band, bpm)| -> anyhow::Result<(usize, Vec<f32>)> {
            let spec = RenderSpec {
                gl: GL_GENERATION,
                bpm: cfg.grid.and(*bpm),
                bars: None,
            };
            Ok((*g, synth.render(band, &spec)?.audio))
        })
        .collect::<anyhow::Result<_>>()?;
    let bands_ceiling = analyse_all(bands_audio, model);
    bar.inc(1);

    // Generated clips, per genre, through the one generation path.
    let mut gen_audio = Vec::new();
    let mut first_specs = Vec::new();
    for g in 0..genres.len() {
        let req = GenerateRequest {
            genre: g,
            count: opts.count,
            temperature: 1.0,
            seed: opts.seed,
            prior: Prior::Genre,
            gl: GL_GENERATION,
            bpm: None,
            bars: None,
        };
        let (clips, _) = generate(&synth, &req)?;
        first_specs.push(clips[0].spectrogram.clone());
        gen_audio.extend(clips.into_iter().map(|c| (g, c.audio)));
    }
    let gen = analyse_all(gen_audio, model);
    // Ceilings: white noise, and the mean training clip rendered to audio.
    let mut rng = dsp::rng::SplitMix64::new(opts.seed ^ 0xA0);
    let nominal = cfg.example_samples(DEFAULT_BPM).round() as usize;
    let noise: Vec<(usize, Vec<f32>)> = (0..held.len().max(10))
        .map(|_| (0, (0..nominal).map(|_| rng.next_signed() * 0.3).collect()))
        .collect();
    let noise = analyse_all(noise, model);
    let mean_audio = synth
        .render(
            &Spectrogram {
                frames: cfg.frames(),
                bins: cfg.bands(),
                data: mean_clip.clone(),
            },
            &RenderSpec {
                gl: GL_GENERATION,
                bpm: cfg.grid.map(|_| DEFAULT_BPM),
                bars: None,
            },
        )?
        .audio;
    let mean_an = analyse_all(vec![(0, mean_audio); 2], model);
    bar.inc(1);

    // Standardise with the training clips' statistics.
    let stdz = standardiser(&rows(&train, None));
    let z = |c: &[Clip], g: Option<usize>| standardise(&rows(c, g), &stdz);
    let (tr_all, he_all, ge_all) = (z(&train, None), z(&held, None), z(&gen, None));
    let y_train: Vec<usize> = train.iter().map(|c| c.genre).collect();
    let clf = Classifier::train(&tr_all, &y_train, genres.len());
    let y_held: Vec<usize> = held.iter().map(|c| c.genre).collect();
    let y_gen: Vec<usize> = gen.iter().map(|c| c.genre).collect();
    bar.inc(1);

    let per = |f: &mut dyn FnMut(Option<usize>) -> Value| -> Value {
        let mut m = serde_json::Map::new();
        m.insert("overall".into(), f(None));
        let mut pg = serde_json::Map::new();
        for (gi, g) in genres.iter().enumerate() {
            pg.insert(g.clone(), f(Some(gi)));
        }
        m.insert("per_genre".into(), Value::Object(pg));
        Value::Object(m)
    };
    let pick = |r: &[Vec<f64>], y: &[usize], g: Option<usize>| -> Vec<Vec<f64>> {
        r.iter()
            .zip(y)
            .filter(|(_, &yy)| g.is_none_or(|gg| yy == gg))
            .map(|(x, _)| x.clone())
            .collect()
    };
    let noise_z = z(&noise, None);
    let mean_z = z(&mean_an, None);

    let classifier = per(&mut |g| {
        let (hx, hy): (Vec<_>, Vec<_>) = he_all
            .iter()
            .zip(&y_held)
            .filter(|(_, &y)| g.is_none_or(|gg| y == gg))
            .map(|(x, &y)| (x.clone(), y))
            .unzip();
        let (gx, gy): (Vec<_>, Vec<_>) = ge_all
            .iter()
            .zip(&y_gen)
            .filter(|(_, &y)| g.is_none_or(|gg| y == gg))
            .map(|(x, &y)| (x.clone(), y))
            .unzip();
        let probs: Vec<Vec<f64>> = gx.iter().map(|x| clf.predict_proba(x)).collect();
        json!({"real_heldout_accuracy": clf.accuracy(&hx, &hy), "generated_accuracy": clf.accuracy(&gx, &gy), "generated_inception_score": inception_score(&probs)})
    });
    let frechet = per(&mut |g| {
        let h = pick(&he_all, &y_held, g);
        json!({
            "generated": stats::frechet_between(&pick(&ge_all, &y_gen, g), &h),
            "floor_train_real": stats::frechet_between(&pick(&tr_all, &y_train, g), &h),
            "ceiling_white_noise": stats::frechet_between(&noise_z, &h),
            "ceiling_mean_clip": stats::frechet_between(&mean_z, &h),
        })
    });
    let rhythm = per(&mut |g| {
        let sel = |c: &[Clip]| -> (Vec<f64>, Vec<f64>, Vec<f64>) {
            let cs: Vec<&Clip> = c
                .iter()
                .filter(|x| g.is_none_or(|gg| x.genre == gg))
                .collect();
            (
                cs.iter()
                    .filter_map(|x| x.analysis.tempo_bpm.map(|t| t as f64))
                    .collect(),
                cs.iter().map(|x| x.analysis.onset_rate).collect(),
                cs.iter().map(|x| x.analysis.tempo_strength).collect(),
            )
        };
        let (gt, go, gs) = sel(&gen);
        let (rt, ro, rs) = sel(&held);
        let mi = |v: &[f64]| {
            let (m, i) = stats::median_iqr(v);
            json!({"median": m, "iqr": i})
        };
        json!({
            "generated": {"tempo_bpm": mi(&gt), "onset_rate": mi(&go), "regularity": stats::median_iqr(&gs).0},
            "real": {"tempo_bpm": mi(&rt), "onset_rate": mi(&ro), "regularity": stats::median_iqr(&rs).0},
        })
    });
    let transients = per(&mut |g| {
        let med = |c: &[Clip], f: &dyn Fn(&ClipAnalysis) -> f64| {
            let v: Vec<f64> = c
                .iter()
                .filter(|x| g.is_none_or(|gg| x.genre == gg))
                .map(|x| f(&x.analysis))
                .collect();
            stats::median_iqr(&v).0
        };
        let sharp = |a: &ClipAnalysis| a.onset_sharpness;
        let flat = |a: &ClipAnalysis| a.median_flatness;
        json!({
            "onset_sharpness": {"generated": med(&gen, &sharp), "real": med(&held, &sharp), "resynth": med(&resynth, &sharp), "bands_resynth": med(&bands_ceiling, &sharp)},
            "flatness": {"generated": med(&gen, &flat), "real": med(&held, &flat), "resynth": med(&resynth, &flat), "bands_resynth": med(&bands_ceiling, &flat)},
        })
    });
    let novelty = per(&mut |g| {
        let gn = nn_median(&pick(&ge_all, &y_gen, g), &tr_all);
        let rn = nn_median(&pick(&he_all, &y_held, g), &tr_all);
        json!({"generated_nn_distance": gn, "real_nn_distance": rn, "ratio": gn / rn})
    });
    let diversity = per(&mut |g| {
        let gd = mean_pairwise(&pick(&ge_all, &y_gen, g));
        let rd = mean_pairwise(&pick(&he_all, &y_held, g));
        json!({"generated": gd, "real": rd, "ratio": gd / rd})
    });
    let reconstruction = {
        let mut pg = serde_json::Map::new();
        let (mut all_m, mut all_b) = (Vec::new(), Vec::new());
        for (g, (m, b)) in &recon {
            pg.insert(g.clone(), json!({"model_lsd_db": m.iter().sum::<f64>() / m.len() as f64, "mean_clip_lsd_db": b.iter().sum::<f64>() / b.len() as f64, "clips": m.len()}));
            all_m.extend(m);
            all_b.extend(b);
        }
        json!({"overall": {"model_lsd_db": all_m.iter().sum::<f64>() / all_m.len().max(1) as f64, "mean_clip_lsd_db": all_b.iter().sum::<f64>() / all_b.len().max(1) as f64, "clips": all_m.len()}, "per_genre": pg})
    };
    bar.finish_and_clear();

    // The 2-D projection for the report's picture.
    let points: Vec<(f64, f64, usize, bool)> = stats::pca2(&tr_all, &he_all)
        .into_iter()
        .zip(&y_held)
        .map(|((x, y), &g)| (x, y, g, true))
        .chain(
            stats::pca2(&tr_all, &ge_all)
                .into_iter()
                .zip(&y_gen)
                .map(|((x, y), &g)| (x, y, g, false)),
        )
        .collect();
    let report = json!({
        "model": model.dir, "songs": songs, "genres": genres, "parameters": model.vae.parameter_count(),
        "counts": {"train_clips": train.len(), "heldout_clips": held.len(), "generated_clips": gen.len()},
        "gl": {"per_genre": gl}, "reconstruction": reconstruction, "classifier": classifier, "frechet": frechet,
        "rhythm": rhythm, "transients": transients, "novelty": novelty, "diversity": diversity,
        "projection": points.iter().map(|p| json!([p.0, p.1, p.2, if p.3 { "real" } else { "generated" }])).collect::<Vec<_>>(),
    });
    Ok((report, first_specs.into_iter().zip(first_real).collect()))
}
