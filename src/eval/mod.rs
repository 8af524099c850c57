//! `beatgen eval`: how good the beats are, against real floors and ceilings, with no
//! downloaded model. The model's own train/validation split by song is respected: only its
//! validation songs count as held-out real. Metrics per genre and overall; the overall row
//! weighs each genre equally (each clip `1 / the clips of its genre`), so that held-out clips,
//! as many per genre as its songs have bars, and generated clips, as many per genre as asked,
//! are the same mixture:
//!
//! 1. **gl**: Griffin-Lim spectral convergence (dB) on held-out real magnitudes, 32 and 100
//!    iterations, random and PGHI initialisation: the phase-reconstruction ceiling.
//! 2. **reconstruction**: log-spectral distance (RMS dB over band values) of held-out clips
//!    through the VAE (`z = mu`), next to the mean training clip's distance (the baseline).
//! 3. **classifier**: logistic regression on the clip features ([`clip_features`]) trained on
//!    real training clips only; accuracy on held-out real clips (the ceiling) and on generated
//!    clips of each genre; inception-score analogue `exp(E[KL(p(y|x) || p(y))])` of generated.
//! 4. **frechet**: Frechet distance between Gaussians fitted to standardised features of
//!    generated vs held-out real clips; floor: training real vs held-out real; the
//!    representation's share: held-out clips' own bands rendered as generated clips are, vs
//!    the same clips as they are; the autoencoder's share: held-out clips through the VAE
//!    (`z = mu`) rendered as generated clips are (what generation would reach if its latents
//!    were as good as the encoder's); ceilings: white noise, and the mean training clip rendered
//!    to audio, vs held-out real. With it, the **feature gaps**: per feature, the generated
//!    clips' mean minus the held-out clips' mean, in training standard deviations (what the
//!    distance is made of).
//! 5. **rhythm**: detected tempo and onset rate (median and interquartile range) of generated
//!    vs held-out real clips, and beat regularity (median tempo strength).
//! 6. **transients**: median onset sharpness and median spectral flatness (see
//!    [`clip_features::ClipAnalysis`]) of generated clips, held-out real clips, and held-out
//!    real clips resynthesised from their STFT magnitude by Griffin-Lim (PGHI + 32 iterations:
//!    the best the phase reconstruction can do), and held-out real clips' own model features
//!    (bands) rendered exactly as generated clips are (the pipeline without the VAE: the
//!    ceiling of the representation), and held-out real clips through the VAE rendered the
//!    same way (the ceiling of the autoencoder).
//! 7. **novelty**: median nearest-neighbour distance (standardised features) from generated
//!    clips to the training clips, against the same for held-out real clips; a ratio far below
//!    1 would mean copies.
//! 8. **diversity**: mean pairwise feature distance among generated clips divided by the same
//!    among held-out real clips (mode collapse shows as a small ratio).

pub mod classifier;
pub mod clip_features;
pub mod report;
pub mod stats;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use rayon::prelude::*;

use crate::dataset::split::Split;
use crate::dataset::{ClipReader, Dataset, DatasetOptions};
use crate::generate::{generate, GenerateRequest, Prior, RenderSpec, Synth, DEFAULT_BPM};
use crate::model_dir::Model;
use crate::postfilter::Postfilter;
use crate::transient_shaper::TransientShaper;
use classifier::{inception_score, Classifier};
use clip_features::{analyse, standardise, standardiser, ClipAnalysis};
use dsp::{GriffinLimConfig, PhaseInit, Spectrogram, StftPlan};
use report::*;

/// Griffin-Lim as generation runs it: PGHI + 32 iterations.
const GL_GENERATION: GriffinLimConfig = GriffinLimConfig {
    iterations: 32,
    momentum: 0.99,
    init: PhaseInit::Pghi,
    seed: 0,
};

/// Options. Defaults: 30 generated clips per genre (more than the 22 clip features, so that a
/// genre's feature covariance has full rank), seed 0, 3 held-out clips per genre for the
/// Griffin-Lim ceiling.
pub struct EvalOptions {
    pub count: usize,
    pub seed: u64,
    /// Sampling temperature of the generated clips (see [`GenerateRequest::temperature`]).
    pub temperature: f32,
    /// Spectral postfilter on every decoded clip (see [`Synth::postfilter`]).
    pub postfilter: Postfilter,
    /// Transient shaper after it (see [`Synth::shaper`]).
    pub shaper: TransientShaper,
    pub gl_clips: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            count: 30,
            seed: 0,
            temperature: GenerateRequest::default().temperature,
            postfilter: Postfilter::Fitted,
            shaper: TransientShaper::default(),
            gl_clips: 3,
        }
    }
}

struct Clip {
    genre: usize,
    analysis: ClipAnalysis,
}

/// Clips of audio, each with its genre index (mono, at the model's sample rate).
type GenreAudio = Vec<(usize, Vec<f32>)>;

fn analyse_all(audio: GenreAudio, model: &Model) -> Vec<Clip> {
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
) -> anyhow::Result<GenreAudio> {
    let songs: Vec<_> = ds.songs.iter().filter(|s| s.split == split).collect();
    let per_song: Vec<anyhow::Result<GenreAudio>> = songs
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

/// Each clip's weight in the statistics of genre `g` (1 for its clips, 0 for the others), or
/// with `None` in the overall row: `1 / (clips of its genre)`, so that every genre counts
/// equally. Held-out clips are as many per genre as its held-out songs have bars (a fast genre
/// has twice a slow one's), generated clips as many as asked for each: pooled with equal
/// weights, the two would be different mixtures of the genres, and the overall row would
/// compare the mixtures more than the clips.
fn genre_weights(labels: &[usize], g: Option<usize>) -> Vec<f64> {
    let genres = labels.iter().max().map_or(0, |m| m + 1);
    let mut count = vec![0usize; genres];
    labels.iter().for_each(|&y| count[y] += 1);
    labels
        .iter()
        .map(|&y| match g {
            Some(g) if y == g => 1.0,
            Some(_) => 0.0,
            None => 1.0 / count[y] as f64,
        })
        .collect()
}

/// Mean distance over pairs of rows, each pair weighted by the product of its rows' weights.
fn mean_pairwise(r: &stats::Weighted) -> f64 {
    let (mut s, mut total) = (0.0, 0.0);
    for i in 0..r.rows.len() {
        for j in i + 1..r.rows.len() {
            let w = r.w[i] * r.w[j];
            s += w * stats::euclid(&r.rows[i], &r.rows[j]);
            total += w;
        }
    }
    if total > 0.0 {
        s / total
    } else {
        f64::NAN
    }
}

/// Weighted median distance from each row of `from` to its nearest row of `to`.
fn nn_median(from: &stats::Weighted, to: &[Vec<f64>]) -> f64 {
    let d: Vec<f64> = from
        .rows
        .iter()
        .map(|a| {
            to.iter()
                .map(|b| stats::euclid(a, b))
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    stats::weighted_median_iqr(&d, &from.w).0
}

fn lsd(a: &[f32], b: &[f32]) -> f64 {
    (a.iter()
        .zip(b)
        .map(|(x, y)| ((x - y) as f64).powi(2))
        .sum::<f64>()
        / a.len().max(1) as f64)
        .sqrt()
}

/// What [`evaluate`] returns: the report and, per genre, the clips of the gallery.
pub struct Evaluation {
    pub report: EvalReport,
    /// One per genre, in the model's order.
    pub gallery: Vec<GalleryClips>,
}

/// A genre's clips for the gallery and the listening page (band dB features).
pub struct GalleryClips {
    /// The first generated clip.
    pub generated: Spectrogram,
    /// The first held-out real clip, if the genre has one.
    pub real: Option<Spectrogram>,
    /// The same clip through the VAE (`z = mu`), as the recon columns measure it.
    pub reconstructed: Option<Spectrogram>,
}

/// Standardised feature rows of a set of clips with their genre labels.
struct Labelled {
    x: Vec<Vec<f64>>,
    y: Vec<usize>,
}

impl Labelled {
    fn new(clips: &[Clip], stdz: &(Vec<f64>, Vec<f64>)) -> Self {
        let rows: Vec<Vec<f64>> = clips.iter().map(|c| c.analysis.features.clone()).collect();
        Labelled {
            x: standardise(&rows, stdz),
            y: clips.iter().map(|c| c.genre).collect(),
        }
    }

    /// The rows of genre `g` (all for `None`) with their weights ([`genre_weights`]), and
    /// their labels.
    fn pick(&self, g: Option<usize>) -> (stats::Weighted, Vec<usize>) {
        let mut set = stats::Weighted::default();
        let mut labels = Vec::new();
        for ((x, &y), w) in self.x.iter().zip(&self.y).zip(genre_weights(&self.y, g)) {
            if w > 0.0 {
                set.rows.push(x.clone());
                set.w.push(w);
                labels.push(y);
            }
        }
        (set, labels)
    }

    fn rows(&self, g: Option<usize>) -> stats::Weighted {
        self.pick(g).0
    }
}

/// The analysed clip sets the metrics compare.
struct ClipSets {
    train: Vec<Clip>,
    held: Vec<Clip>,
    generated: Vec<Clip>,
    /// Held-out clips through STFT magnitude and Griffin-Lim (the phase ceiling).
    resynth: Vec<Clip>,
    /// Held-out clips' band features rendered as generated clips are (the representation's
    /// ceiling).
    bands: Vec<Clip>,
    /// Held-out clips through the VAE (`z = mu`), rendered as generated clips are (the
    /// autoencoder's ceiling: what generation would reach with perfect latents).
    reconstructed: Vec<Clip>,
    white_noise: Vec<Clip>,
    mean_clip: Vec<Clip>,
}

/// The sets' features, standardised with the training clips' statistics.
struct FeatureSets {
    train: Labelled,
    held: Labelled,
    generated: Labelled,
    bands: Labelled,
    reconstructed: Labelled,
    white_noise: stats::Weighted,
    mean_clip: stats::Weighted,
}

impl FeatureSets {
    fn new(c: &ClipSets) -> Self {
        let rows = |v: &[Clip]| -> Vec<Vec<f64>> {
            v.iter().map(|c| c.analysis.features.clone()).collect()
        };
        let stdz = standardiser(&rows(&c.train));
        FeatureSets {
            train: Labelled::new(&c.train, &stdz),
            held: Labelled::new(&c.held, &stdz),
            generated: Labelled::new(&c.generated, &stdz),
            bands: Labelled::new(&c.bands, &stdz),
            reconstructed: Labelled::new(&c.reconstructed, &stdz),
            white_noise: stats::Weighted::uniform(standardise(&rows(&c.white_noise), &stdz)),
            mean_clip: stats::Weighted::uniform(standardise(&rows(&c.mean_clip), &stdz)),
        }
    }
}

/// The songs folder with the model's saved split: only its validation songs count as held-out
/// real, whatever has been added to the folder since.
fn load_dataset(model: &Model, songs: &Path) -> anyhow::Result<Dataset> {
    let dopts = DatasetOptions {
        saved_split: Some(crate::model_dir::load_split(&model.dir)?),
        ..Default::default()
    };
    let ds = Dataset::load(songs, &model.config.features, &dopts)?;
    if !ds.unlisted.is_empty() {
        log::warn!(
            "{} songs in {} are not in the model's split (added after training): left out",
            ds.unlisted.len(),
            songs.display()
        );
    }
    for g in &ds.genres {
        model.genre_index(g).with_context(|| {
            format!(
                "{}: songs of a genre the model was not trained on",
                songs.display()
            )
        })?;
    }
    Ok(ds)
}

/// Griffin-Lim spectral convergence on the first `n` held-out clips of each genre.
fn gl_ceiling(
    held_audio: &[(usize, Vec<f32>)],
    genres: &[String],
    stft: dsp::StftConfig,
    n: usize,
) -> anyhow::Result<GlReport> {
    let mut plan = StftPlan::new(stft)?;
    let mut glp = dsp::GriffinLim::new(stft)?;
    let mut per_genre = BTreeMap::new();
    for (gi, g) in genres.iter().enumerate() {
        let clips: Vec<&Vec<f32>> = held_audio
            .iter()
            .filter(|(x, _)| *x == gi)
            .map(|(_, a)| a)
            .take(n)
            .collect();
        let mut mean_sc = |iterations: usize, init: PhaseInit| -> anyhow::Result<f64> {
            let mut total = 0.0;
            for a in &clips {
                let mut spec = dsp::ComplexSpec::zeros(0, 0);
                plan.forward(a, &mut spec)?;
                let mut y = vec![0.0; a.len()];
                let cfg = GriffinLimConfig {
                    iterations,
                    init,
                    ..Default::default()
                };
                total += glp.run(&spec.magnitude(), &cfg, &mut y)? as f64;
            }
            Ok(total / clips.len().max(1) as f64)
        };
        let score = GlScore {
            random_32: mean_sc(32, PhaseInit::Random)?,
            random_100: mean_sc(100, PhaseInit::Random)?,
            pghi_32: mean_sc(32, PhaseInit::Pghi)?,
            pghi_100: mean_sc(100, PhaseInit::Pghi)?,
        };
        per_genre.insert(g.clone(), score);
    }
    Ok(GlReport { per_genre })
}

/// Every clip through STFT magnitude and Griffin-Lim as generation runs it.
fn resynthesise(audio: &[(usize, Vec<f32>)], stft: dsp::StftConfig) -> anyhow::Result<GenreAudio> {
    audio
        .par_iter()
        .map_init(
            || {
                (
                    StftPlan::new(stft).expect("valid"),
                    dsp::GriffinLim::new(stft).expect("valid"),
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
        .collect()
}

/// A clip's genre, band features (dB) and its song's tempo (BPM).
type BandClip = (usize, Spectrogram, Option<f32>);

/// Held-out band features as the model sees them, with their genre and song tempo.
struct HeldBands {
    clips: Vec<BandClip>,
    /// The mean training clip (band dB).
    mean_clip: Vec<f32>,
}

fn held_bands(
    ds: &Dataset,
    genre_of: &(dyn Fn(&str) -> usize + Sync),
) -> anyhow::Result<HeldBands> {
    let cfg = &ds.config;
    let mut reader = ClipReader::new(ds);
    let mean_clip: Vec<f32> =
        crate::dataset::mean_clip(&ds.clips(Split::Train), cfg.clip_len(), |r, b| {
            reader.read(r, b)
        })?
        .iter()
        .map(|&m| m as f32)
        .collect();
    let mut clips = Vec::new();
    for r in ds.clips(Split::Validation) {
        let mut band = Spectrogram::zeros(cfg.frames(), cfg.bands());
        reader.read(r, &mut band.data)?;
        let song = &ds.songs[r.song];
        clips.push((genre_of(&song.genre), band, song.meta.tempo_bpm));
    }
    Ok(HeldBands { clips, mean_clip })
}

/// Held-out clips through the VAE (`z = mu`, decoded as generated clips are): their log-spectral
/// distance against the mean training clip's, and the decoded clips with their songs' tempi.
fn reconstruction(
    held: &HeldBands,
    synth: &Synth,
    genres: &[String],
) -> (PerGenre<ReconstructionScore>, Vec<BandClip>) {
    let mut decoded = Vec::with_capacity(held.clips.len());
    let pairs: Vec<(usize, f64, f64)> = held
        .clips
        .iter()
        .map(|(g, band, bpm)| {
            let z = synth.encode(band, *g);
            let zs = ndarray::Array2::from_shape_vec((z.len(), 1), z).expect("latent column");
            let out = synth.decode(&zs, &synth.one_hot(&[*g])).remove(0);
            let scores = (
                *g,
                lsd(&out.data, &band.data),
                lsd(&held.mean_clip, &band.data),
            );
            decoded.push((*g, out, *bpm));
            scores
        })
        .collect();
    let labels: Vec<usize> = pairs.iter().map(|p| p.0).collect();
    let scores = PerGenre::build(genres, |g| {
        let w = genre_weights(&labels, g);
        let total = w.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let mean = |f: fn(&(usize, f64, f64)) -> f64| {
            pairs.iter().zip(&w).map(|(p, w)| w * f(p)).sum::<f64>() / total
        };
        ReconstructionScore {
            model_lsd_db: mean(|p| p.1),
            mean_clip_lsd_db: mean(|p| p.2),
            clips: w.iter().filter(|&&w| w > 0.0).count(),
        }
    });
    (scores, decoded)
}

/// Band features rendered to audio as generated clips are (bands back to bins, Griffin-Lim),
/// each at its song's tempo.
fn render_bands(clips: &[BandClip], synth: &Synth) -> anyhow::Result<GenreAudio> {
    let grid = synth.model.config.features.grid;
    clips
        .par_iter()
        .map(|(g, band, bpm)| -> anyhow::Result<(usize, Vec<f32>)> {
            let spec = RenderSpec {
                gl: GL_GENERATION,
                bpm: grid.and(*bpm),
                bars: None,
            };
            Ok((*g, synth.render(band, &spec)?.audio))
        })
        .collect()
}

/// `count` clips per genre through the one generation path; also the first one's bands.
fn generate_clips(
    synth: &Synth,
    genres: usize,
    opts: &EvalOptions,
) -> anyhow::Result<(GenreAudio, Vec<Spectrogram>)> {
    let (mut audio, mut first) = (Vec::new(), Vec::new());
    for g in 0..genres {
        let req = GenerateRequest {
            genre: g,
            count: opts.count,
            temperature: opts.temperature,
            seed: opts.seed,
            prior: Prior::Genre,
            gl: GL_GENERATION,
            bpm: None,
            bars: None,
        };
        let (clips, _) = generate(synth, &req)?;
        first.push(clips[0].spectrogram.clone());
        audio.extend(clips.into_iter().map(|c| (g, c.audio)));
    }
    Ok((audio, first))
}

/// White noise clips of the nominal example length (the Frechet ceiling).
fn white_noise(n: usize, samples: usize, seed: u64) -> GenreAudio {
    let mut rng = dsp::rng::SplitMix64::new(seed ^ 0xA0);
    (0..n)
        .map(|_| (0, (0..samples).map(|_| rng.next_signed() * 0.3).collect()))
        .collect()
}

fn classifier_score(clf: &Classifier, f: &FeatureSets, g: Option<usize>) -> ClassifierScore {
    let (hx, hy) = f.held.pick(g);
    let (gx, gy) = f.generated.pick(g);
    let probs: Vec<Vec<f64>> = gx.rows.iter().map(|x| clf.predict_proba(x)).collect();
    ClassifierScore {
        real_heldout_accuracy: clf.accuracy(&hx, &hy),
        generated_accuracy: clf.accuracy(&gx, &gy),
        generated_inception_score: inception_score(&probs),
    }
}

fn frechet_score(f: &FeatureSets, g: Option<usize>) -> FrechetScore {
    let held = f.held.rows(g);
    FrechetScore {
        generated: stats::frechet_between(&f.generated.rows(g), &held),
        floor_train_real: stats::frechet_between(&f.train.rows(g), &held),
        bands_resynth: stats::frechet_between(&f.bands.rows(g), &held),
        reconstructed: stats::frechet_between(&f.reconstructed.rows(g), &held),
        ceiling_white_noise: stats::frechet_between(&f.white_noise, &held),
        ceiling_mean_clip: stats::frechet_between(&f.mean_clip, &held),
    }
}

/// Generated minus held-out mean of each feature, in training standard deviations.
fn feature_gaps(f: &FeatureSets, g: Option<usize>) -> BTreeMap<String, f64> {
    let mean = |s: stats::Weighted| stats::weighted_mean(&s.rows, &s.w);
    let (gen, held) = (mean(f.generated.rows(g)), mean(f.held.rows(g)));
    clip_features::NAMES
        .iter()
        .zip(gen.iter().zip(&held))
        .map(|(n, (a, b))| (n.to_string(), a - b))
        .collect()
}

/// Weighted median and interquartile range of `f` over the clips of genre `g` (all for `None`,
/// weighted by [`genre_weights`]); clips where `f` has no value are left out.
fn median_of(
    clips: &[Clip],
    g: Option<usize>,
    f: impl Fn(&ClipAnalysis) -> Option<f64>,
) -> MedianIqr {
    let labels: Vec<usize> = clips.iter().map(|c| c.genre).collect();
    let (v, w): (Vec<f64>, Vec<f64>) = clips
        .iter()
        .zip(genre_weights(&labels, g))
        .filter_map(|(c, w)| f(&c.analysis).map(|v| (v, w)))
        .unzip();
    let (median, iqr) = stats::weighted_median_iqr(&v, &w);
    MedianIqr { median, iqr }
}

fn rhythm_side(clips: &[Clip], g: Option<usize>) -> RhythmSide {
    RhythmSide {
        tempo_bpm: median_of(clips, g, |a| a.tempo_bpm.map(f64::from)),
        onset_rate: median_of(clips, g, |a| Some(a.onset_rate)),
        regularity: median_of(clips, g, |a| Some(a.tempo_strength)).median,
    }
}

fn transient_score(c: &ClipSets, g: Option<usize>) -> TransientScore {
    let versus = |f: fn(&ClipAnalysis) -> f64| {
        let med = |clips: &[Clip]| median_of(clips, g, |a| Some(f(a))).median;
        Versus {
            generated: med(&c.generated),
            real: med(&c.held),
            resynth: med(&c.resynth),
            bands_resynth: med(&c.bands),
            reconstructed: med(&c.reconstructed),
        }
    };
    TransientScore {
        onset_sharpness: versus(|a| a.onset_sharpness),
        flatness: versus(|a| a.median_flatness),
    }
}

fn novelty_score(f: &FeatureSets, g: Option<usize>) -> NoveltyScore {
    let generated_nn_distance = nn_median(&f.generated.rows(g), &f.train.x);
    let real_nn_distance = nn_median(&f.held.rows(g), &f.train.x);
    NoveltyScore {
        generated_nn_distance,
        real_nn_distance,
        ratio: generated_nn_distance / real_nn_distance,
    }
}

fn diversity_score(f: &FeatureSets, g: Option<usize>) -> DiversityScore {
    let generated = mean_pairwise(&f.generated.rows(g));
    let real = mean_pairwise(&f.held.rows(g));
    DiversityScore {
        generated,
        real,
        ratio: generated / real,
    }
}

/// The first two principal components of the training features, for held-out and generated.
fn projection(f: &FeatureSets) -> Vec<ProjectedPoint> {
    let points = |l: &Labelled, real: bool| -> Vec<ProjectedPoint> {
        stats::pca2(&f.train.x, &l.x)
            .into_iter()
            .zip(&l.y)
            .map(|((x, y), &genre)| ProjectedPoint { x, y, genre, real })
            .collect()
    };
    let mut v = points(&f.held, true);
    v.extend(points(&f.generated, false));
    v
}

/// Run the evaluation of `model` on the songs folder `songs`.
pub fn evaluate(model: &Model, songs: &Path, opts: &EvalOptions) -> anyhow::Result<Evaluation> {
    // Each genre's clips are one generation request: refuse one too large before the songs
    // are read (2 bars at the slowest tempo, as generation would check it).
    crate::generate::check_request_size(
        &model.config.features,
        opts.count,
        None,
        crate::generate::MIN_BPM,
    )?;
    let ds = load_dataset(model, songs)?;
    let genres = model.config.genres.clone();
    let genre_of = |g: &str| genres.iter().position(|m| m == g).unwrap_or(0);
    let cfg = model.config.features.clone();
    let bar = crate::progress::bar(5, "evaluating");

    let train = analyse_all(real_audio(&ds, Split::Train, &genre_of)?, model);
    let held_audio = real_audio(&ds, Split::Validation, &genre_of)?;
    anyhow::ensure!(
        !held_audio.is_empty(),
        "{}: the model's split leaves no held-out songs here",
        songs.display()
    );
    let gl = gl_ceiling(&held_audio, &genres, cfg.stft(), opts.gl_clips)?;
    let resynth = analyse_all(resynthesise(&held_audio, cfg.stft())?, model);
    let held = analyse_all(held_audio, model);
    bar.inc(1);

    let mut synth = Synth::new(model)?;
    synth.postfilter = opts.postfilter;
    synth.shaper = opts.shaper;
    let bands = held_bands(&ds, &genre_of)?;
    let (reconstruction, decoded) = reconstruction(&bands, &synth, &genres);
    let bands_ceiling = analyse_all(render_bands(&bands.clips, &synth)?, model);
    let reconstructed = analyse_all(render_bands(&decoded, &synth)?, model);
    // The first held-out clip of each genre, as it is and through the VAE.
    let mut first_real: Vec<Option<(Spectrogram, Spectrogram)>> = vec![None; genres.len()];
    for ((g, band, _), (_, out, _)) in bands.clips.iter().zip(&decoded) {
        first_real[*g].get_or_insert_with(|| (band.clone(), out.clone()));
    }
    bar.inc(1);

    let (gen_audio, first_generated) = generate_clips(&synth, genres.len(), opts)?;
    let nominal = cfg.example_samples(DEFAULT_BPM).round() as usize;
    let mean_spec = Spectrogram {
        frames: cfg.frames(),
        bins: cfg.bands(),
        data: bands.mean_clip.clone(),
    };
    let mean_render = RenderSpec {
        gl: GL_GENERATION,
        bpm: cfg.grid.map(|_| DEFAULT_BPM),
        bars: None,
    };
    let mean_audio = synth.render(&mean_spec, &mean_render)?.audio;
    let sets = ClipSets {
        generated: analyse_all(gen_audio, model),
        white_noise: analyse_all(white_noise(held.len().max(10), nominal, opts.seed), model),
        mean_clip: analyse_all(vec![(0, mean_audio); 2], model),
        train,
        held,
        resynth,
        bands: bands_ceiling,
        reconstructed,
    };
    bar.inc(1);

    let f = FeatureSets::new(&sets);
    let clf = Classifier::train(&f.train.x, &f.train.y, genres.len());
    bar.inc(1);
    let heldout_songs = ds.saved_split().validation.into_iter().collect();
    let report = EvalReport {
        model: model.dir.clone(),
        songs: songs.to_path_buf(),
        genres: genres.clone(),
        parameters: model.vae.parameter_count(),
        counts: Counts {
            train_clips: sets.train.len(),
            heldout_clips: sets.held.len(),
            generated_clips: sets.generated.len(),
            heldout_songs,
            unlisted_songs: ds.unlisted.len(),
        },
        postfilter_strength: genres
            .iter()
            .enumerate()
            .map(|(g, name)| {
                let strength = synth.postfilter.strength_for_genre(
                    model.calibration.as_ref(),
                    g,
                    genres.len(),
                );
                (name.clone(), strength)
            })
            .collect(),
        sustain_cut: synth.shaper.depth,
        spectral_detail: model.detail.is_some(),
        gl,
        reconstruction,
        classifier: PerGenre::build(&genres, |g| classifier_score(&clf, &f, g)),
        frechet: PerGenre::build(&genres, |g| frechet_score(&f, g)),
        feature_gaps: PerGenre::build(&genres, |g| feature_gaps(&f, g)),
        rhythm: PerGenre::build(&genres, |g| RhythmScore {
            generated: rhythm_side(&sets.generated, g),
            real: rhythm_side(&sets.held, g),
        }),
        transients: PerGenre::build(&genres, |g| transient_score(&sets, g)),
        novelty: PerGenre::build(&genres, |g| novelty_score(&f, g)),
        diversity: PerGenre::build(&genres, |g| diversity_score(&f, g)),
        projection: projection(&f),
    };
    bar.finish_and_clear();
    Ok(Evaluation {
        report,
        gallery: first_generated
            .into_iter()
            .zip(first_real)
            .map(|(generated, real)| {
                let (real, reconstructed) = real.unzip();
                GalleryClips {
                    generated,
                    real,
                    reconstructed,
                }
            })
            .collect(),
    })
}
