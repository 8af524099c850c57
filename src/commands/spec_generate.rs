//! `beatgen spec-generate --model DIR --genre G --out DIR`: translates the arguments into a
//! [`GenerateRequest`], runs the one generation path and writes the files.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use crate::cli::SpecGenerateArgs;
use crate::generate::{generate, GenerateRequest, Synth, Timing};
use crate::groove::transcribe::Transcriber;
use crate::listen_page::{Entry, Page, Section};
use crate::model_dir::Model;
use crate::postfilter::Postfilter;
use crate::transient_shaper::TransientShaper;
use dsp::GriffinLimConfig;

/// One written file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Generated {
    pub path: PathBuf,
    pub seconds: f64,
    /// The tempo it was rendered at (bar-grid models).
    pub bpm: Option<f32>,
    /// The tempo beatgen's detector hears in it.
    pub tempo_bpm: Option<f32>,
    pub spectral_convergence_db: f32,
    /// Sample positions of the loop seams (where the generated bars repeat).
    pub seams: Vec<usize>,
    /// Its spectrogram PNG, when one was written.
    pub png: Option<PathBuf>,
    /// Its groove as MIDI, when asked for.
    pub midi: Option<PathBuf>,
    /// Notes per part in the groove (kick, snare, hat, bass), with MIDI.
    pub notes: Option<[usize; 4]>,
    /// The fraction of transcribed drum hits within a quarter of a 16th of the grid, with MIDI.
    pub on_grid: Option<f64>,
}

impl Generated {
    /// Its entry on a listening page.
    pub fn page_entry(&self) -> Entry {
        let opt = |t: Option<f32>| t.map_or("-".to_string(), |t| format!("{t:.1}"));
        let groove = match (self.notes, self.on_grid) {
            (Some([k, s, h, b]), Some(on)) => format!(
                "; MIDI: {k} kick, {s} snare, {h} hat, {b} bass notes, {:.0}% on the grid",
                100.0 * on
            ),
            _ => String::new(),
        };
        Entry {
            audio: self.path.clone(),
            image: self.png.clone(),
            caption: format!(
                "{:.2} s at {} BPM (heard {} BPM){groove}",
                self.seconds,
                opt(self.bpm),
                opt(self.tempo_bpm)
            ),
            midi: self.midi.clone(),
        }
    }
}

/// Where and how generated clips are written.
pub struct Output {
    pub dir: PathBuf,
    /// `mp3` or `wav`.
    pub format: String,
    pub dump_png: bool,
    /// Write each clip's groove as MIDI, quantised by this amount (1 full, 0 none).
    pub midi_quantize: Option<f64>,
    /// Spectral postfilter on the decoded spectrograms ([`Synth::postfilter`]).
    pub postfilter: Postfilter,
    /// Transient shaper after it ([`Synth::shaper`]).
    pub shaper: TransientShaper,
}

pub fn run(a: SpecGenerateArgs) -> anyhow::Result<Vec<Generated>> {
    let model = Model::load(&a.model)?;
    let output = Output {
        dir: a.out.clone(),
        format: a.render.format.clone(),
        dump_png: a.render.dump_png,
        midi_quantize: a.midi.midi.then_some(a.midi.midi_quantize),
        postfilter: a.postfilter,
        shaper: a.sustain_cut.into(),
    };
    let req = request(&model, &a)?;
    let (out, timing) = write_generated(&model, &req, &output)?;
    let strength = a.postfilter.strength_for_genre(
        model.calibration.as_ref(),
        req.genre,
        model.config.genres.len(),
    );
    let page = Page {
        title: format!("beatgen: {} loops of {}", out.len(), a.genre),
        summary: vec![format!(
            "Model {}, seed {}, temperature {}, postfilter {} (strength {strength:.2}), sustain cut {}, spectral detail {}.",
            a.model.display(),
            a.seed,
            a.temperature,
            a.postfilter,
            a.sustain_cut,
            crate::detail::describe(model.detail.is_some())
        )],
        preformatted: None,
        sections: vec![Section {
            title: a.genre.clone(),
            entries: out.iter().map(Generated::page_entry).collect(),
        }],
    }
    .write(&a.out)?;
    if a.json {
        super::print_json(&json!({"genre": a.genre, "postfilter_strength": strength,
                "sustain_cut": a.sustain_cut.0, "spectral_detail": model.detail.is_some(),
                "files": out,
                "timing_seconds": timing, "page": page}))?;
    } else {
        println!(
            "{:<48} {:>8} {:>8} {:>10} {:>8}",
            "file", "seconds", "bpm", "heard", "SC (dB)"
        );
        let opt = |t: Option<f32>| t.map_or("-".to_string(), |t| format!("{t:.1}"));
        for g in &out {
            println!(
                "{:<48} {:>8.2} {:>8} {:>10} {:>8.1}",
                g.path.display(),
                g.seconds,
                opt(g.bpm),
                opt(g.tempo_bpm),
                g.spectral_convergence_db
            );
            if let (Some(m), Some([k, s, h, b]), Some(on)) = (&g.midi, g.notes, g.on_grid) {
                println!(
                    "  groove {}: {k} kick, {s} snare, {h} hat, {b} bass notes; {:.0}% of drum hits on the grid",
                    m.display(),
                    100.0 * on
                );
            }
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
        println!("listen: open {}", page.display());
    }
    Ok(out)
}

/// The request the arguments describe.
pub fn request(model: &Model, a: &SpecGenerateArgs) -> anyhow::Result<GenerateRequest> {
    Ok(GenerateRequest {
        genre: model.genre_index(&a.genre)?,
        count: a.count,
        temperature: a.temperature,
        seed: a.seed,
        prior: a.prior,
        gl: GriffinLimConfig {
            iterations: a.render.gl_iters,
            init: a.render.init,
            ..Default::default()
        },
        bpm: a.bpm,
        bars: a.bars,
    })
}

/// Generate and write the files (`GENRE-seedS-NN[-Bbars].EXT`); returns them with the time
/// spent per stage.
pub fn write_generated(
    model: &Model,
    req: &GenerateRequest,
    o: &Output,
) -> anyhow::Result<(Vec<Generated>, Timing)> {
    anyhow::ensure!(
        o.midi_quantize.is_none() || model.config.features.grid.is_some(),
        "--midi needs a bar-grid model (this one was trained on fixed 3 s clips)"
    );
    let mut synth = Synth::new(model)?;
    synth.postfilter = o.postfilter;
    synth.shaper = o.shaper;
    // Generated before the folder is made: a refused request leaves nothing behind.
    let (clips, mut timing) = generate(&synth, req)?;
    std::fs::create_dir_all(&o.dir)
        .with_context(|| format!("{}: cannot create", o.dir.display()))?;
    let f = &model.config.features;
    let ext = o.format.as_str();
    let genre = &model.config.genres[req.genre];
    let t2 = Instant::now();
    let mut out = Vec::new();
    let mut transcriber: Option<Transcriber> = None;
    for (i, c) in clips.iter().enumerate() {
        let db = synth.fx.bin_db(&c.audio)?;
        let heard = heard_tempo(db, f, c.bpm);
        let bars = req.bars.map_or(String::new(), |b| format!("-{b}bars"));
        let path = o
            .dir
            .join(format!("{genre}-seed{}-{:02}{bars}.{ext}", req.seed, i + 1));
        let groove = match (o.midi_quantize, c.bpm) {
            (Some(amount), Some(bpm)) => {
                let tr = match &mut transcriber {
                    Some(t) => t,
                    None => transcriber.insert(Transcriber::shipped()?),
                };
                Some(clip_groove(tr, f, c, bpm, amount)?)
            }
            _ => None,
        };
        let png = o.dump_png.then(|| synth.to_bin_db(&c.spectrogram));
        super::write_clip(&path, &c.audio, f.sample_rate, None)?;
        if let Some(db) = &png {
            write_png(&path.with_extension("png"), db, groove.as_ref())?;
        }
        let png = png.map(|_| path.with_extension("png"));
        let midi = match &groove {
            Some(g) => {
                let p = path.with_extension("mid");
                crate::groove::midi::write(&p, &g.groove)?;
                Some(p)
            }
            None => None,
        };
        out.push(Generated {
            midi,
            notes: groove
                .as_ref()
                .map(|g| crate::groove::Part::ALL.map(|p| g.groove.part(p).count())),
            on_grid: groove.as_ref().map(|g| g.on_grid),
            path,
            seconds: c.audio.len() as f64 / f.sample_rate as f64,
            bpm: c.bpm,
            tempo_bpm: heard.map(|t| t.bpm),
            spectral_convergence_db: c.spectral_convergence_db,
            seams: c.seams.clone(),
            png,
        });
    }
    timing.encoding = t2.elapsed().as_secs_f64();
    Ok((out, timing))
}

/// A generated clip's groove, as written to MIDI.
struct ClipGroove {
    /// Over the clip's whole length, quantised.
    groove: crate::groove::Groove,
    /// Of one cycle of the loop, as transcribed: for the PNG, whose time axis is the cycle's.
    cycle: crate::groove::Groove,
    /// Seconds per column of the PNG (a frame of the bar grid at the clip's tempo).
    frame_seconds: f64,
    /// Fraction of transcribed drum hits on the grid.
    on_grid: f64,
}

/// Transcribe a clip's audio (a loop of whole cycles) and quantise it by `amount`.
fn clip_groove(
    tr: &mut Transcriber,
    f: &crate::dataset::features::FeatureConfig,
    c: &crate::generate::GeneratedClip,
    bpm: f32,
    amount: f64,
) -> anyhow::Result<ClipGroove> {
    use crate::groove::quantize::{on_grid_fraction, quantize, BeatGrid};
    let mut played = tr.loop_groove(&c.audio, bpm as f64, &dsp::drums::DrumConfig::default())?;
    let period = f.example_samples(bpm) / f.sample_rate as f64;
    let seconds = c.audio.len() as f64 / f.sample_rate as f64;
    let grid = BeatGrid::new(bpm as f64, 0.0);
    // A note whose grid line is the clip's end is the next cycle's first hit, heard early.
    let lines = quantize(&played, &grid, 1.0);
    let mut keep = lines.notes.iter().map(|n| n.seconds < seconds - 1e-9);
    played.notes.retain(|_| keep.next().unwrap_or(true));
    let mut cycle = played.clone();
    cycle.notes.retain(|n| n.seconds < period);
    let frames = f.grid.map_or(1, |g| g.frames());
    Ok(ClipGroove {
        on_grid: on_grid_fraction(&played, &grid),
        groove: quantize(&played, &grid, amount),
        cycle,
        frame_seconds: period / frames as f64,
    })
}

/// The spectrogram PNG, with the groove's lanes under it when there is one.
fn write_png(
    path: &std::path::Path,
    db: &dsp::Spectrogram,
    groove: Option<&ClipGroove>,
) -> anyhow::Result<()> {
    let (w, h, px) = dsp::image::spectrogram_rgb(db, dsp::spectrogram::FLOOR_DB, 0.0);
    let (h, px) = match groove {
        Some(g) => crate::groove::roll::with_notes(
            w as usize,
            h as usize,
            px,
            g.frame_seconds,
            60.0 / g.groove.bpm,
            &g.cycle,
        ),
        None => (h as usize, px),
    };
    dsp::image::write_rgb_png(path, w, h as u32, &px)?;
    Ok(())
}

/// The tempo the detector hears in a written loop: with the tempo it was rendered at, the
/// detector's reading near it (its autocorrelation peak within 4%, refined), as a song's tagged
/// tempo is read; else, or when it has no reading there, its best reading. A loop whose beat
/// period is off shows it; which of the pattern's metrical levels (a drill loop's beat or its
/// 3:2 syncopation) is the tempo is the request's to say.
fn heard_tempo(
    db: &dsp::Spectrogram,
    f: &crate::dataset::features::FeatureConfig,
    rendered_bpm: Option<f32>,
) -> Option<dsp::tempo::Tempo> {
    let env = dsp::tempo::tempo_envelope(db, &f.projection_for_tempo());
    let (lo, hi) = dsp::tempo::DEFAULT_BPM_RANGE;
    let analysis = dsp::tempo::TempoAnalysis::new(&env, f.frame_rate(), lo, hi)?;
    rendered_bpm
        .and_then(|b| analysis.near(b))
        .or_else(|| analysis.best())
}
