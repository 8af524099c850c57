//! `beatgen train-onsets FOLDER... --out FILE.safetensors`: train the drum-onset network
//! ([`crate::groove::onset_net`]) on songs whose true notes lie beside them as `SONG.mid`
//! (`make-corpus --midi` writes such folders). The weights beatgen ships were made this way by
//! `docs/train_onsets.sh`.

use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;
use serde_json::json;

use crate::cli::TrainOnsetsArgs;
use crate::dataset::scan::scan;
use crate::groove::onset_net::{self, OnsetTraining, TrainingSong, PARTS};
use crate::groove::transcribe::{Transcriber, WEIGHTS_FORMAT, WEIGHTS_PREFIX};
use crate::groove::Part;
use crate::vae::layer::Init;

/// The parts of the network's outputs, in order.
const OUTPUT_PARTS: [Part; PARTS] = [Part::Kick, Part::Snare, Part::Hat];

/// Seconds read of each song (its start), as `transcribe` reads at most.
const SONG_SECONDS: f64 = super::transcribe::MAX_SECONDS;

/// Most audio trained on at once (seconds): its input levels are held in memory (about 23 KB
/// a second, 1.6 GB for 20 hours).
const MAX_TOTAL_SECONDS: f64 = 20.0 * 3600.0;

pub fn run(a: TrainOnsetsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("safetensors")),
        "{}: the output must be a .safetensors file",
        a.out.display()
    );
    anyhow::ensure!(a.epochs >= 1, "--epochs must be at least 1");
    anyhow::ensure!((0.0..=40.0).contains(&a.eq_db), "--eq-db must be in 0..=40");
    let mut pairs = Vec::new();
    for folder in &a.folders {
        let songs = scan(folder)?;
        let before = pairs.len();
        pairs.extend(
            songs
                .into_iter()
                .map(|s| (s.path.with_extension("mid"), s.path))
                .filter(|(mid, _)| mid.is_file()),
        );
        anyhow::ensure!(
            pairs.len() > before,
            "{}: no songs with their notes beside them (SONG.mid, as `make-corpus --midi` writes)",
            folder.display()
        );
    }
    let clock = Instant::now();
    // Frames read so far; songs past the limit are not kept.
    let hop = crate::groove::transcribe::onset_features().hop as f64;
    let max_frames = (MAX_TOTAL_SECONDS * dsp::SAMPLE_RATE as f64 / hop) as u64;
    let total = std::sync::atomic::AtomicU64::new(0);
    let loaded: Vec<anyhow::Result<Option<TrainingSong>>> = pairs
        .par_iter()
        .map_init(
            || Transcriber::new(onset_net::OnsetNet::new(&mut Init::Zeros)),
            |tr, (mid, audio)| {
                // Past the limit the run fails below: do not spend hours analysing the rest.
                if total.load(std::sync::atomic::Ordering::Relaxed) > max_frames {
                    return Ok(None);
                }
                let tr = tr.as_mut().map_err(|e| anyhow::anyhow!("{e}"))?;
                let song = training_song(tr, audio, mid)
                    .with_context(|| format!("{}", audio.display()))?;
                let frames = song.levels.frames as u64;
                let before = total.fetch_add(frames, std::sync::atomic::Ordering::Relaxed);
                Ok((before + frames <= max_frames).then_some(song))
            },
        )
        .collect();
    anyhow::ensure!(
        loaded.iter().all(|s| !matches!(s, Ok(None))),
        "{}: more than {} hours of songs, more than train-onsets holds in memory: train on fewer",
        a.folders
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        MAX_TOTAL_SECONDS / 3600.0
    );
    let mut songs = Vec::new();
    let mut skipped = 0;
    for s in loaded {
        match s {
            Ok(s) => songs.extend(s),
            Err(e) => {
                log::warn!("skipped: {e:#}");
                skipped += 1;
            }
        }
    }
    anyhow::ensure!(
        !songs.is_empty(),
        "no song could be read ({skipped} skipped)"
    );
    let frames: usize = songs.iter().map(|s| s.levels.frames).sum();
    let onsets: Vec<usize> = (0..PARTS)
        .map(|p| {
            songs
                .iter()
                .map(|s| s.targets.row(p).iter().filter(|&&v| v == 1.0).count())
                .sum()
        })
        .collect();
    let read_seconds = clock.elapsed().as_secs_f64();
    let cfg = OnsetTraining {
        epochs: a.epochs,
        eq_db: a.eq_db,
        ..Default::default()
    };
    let clock = Instant::now();
    let mut losses = Vec::new();
    let mut rng = dsp::rng::SplitMix64::new(a.seed);
    let net = onset_net::train(&songs, &cfg, &mut rng, |epoch, loss| {
        log::info!("epoch {epoch}: loss {loss:.5}");
        losses.push(loss);
    });
    let train_seconds = clock.elapsed().as_secs_f64();
    crate::model_dir::tensors::save_stack(&a.out, &net.stack, WEIGHTS_PREFIX, WEIGHTS_FORMAT)?;
    if a.json {
        return super::print_json(&json!({
            "out": a.out, "songs": songs.len(), "skipped": skipped, "frames": frames,
            "onsets": OUTPUT_PARTS.iter().zip(&onsets).map(|(p, n)| (p.name(), n)).collect::<std::collections::BTreeMap<_, _>>(),
            "epochs": a.epochs, "loss": losses, "read_seconds": read_seconds,
            "train_seconds": train_seconds,
        }));
    }
    println!(
        "{}: trained on {} songs ({skipped} skipped), {frames} frames, {} onsets ({}); loss {:.4} after {} epochs; reading {read_seconds:.1} s, training {train_seconds:.1} s",
        a.out.display(),
        songs.len(),
        onsets.iter().sum::<usize>(),
        OUTPUT_PARTS
            .iter()
            .zip(&onsets)
            .map(|(p, n)| format!("{} {n}", p.name()))
            .collect::<Vec<_>>()
            .join(", "),
        losses.last().copied().unwrap_or(f64::NAN),
        a.epochs,
    );
    Ok(())
}

/// A song's network input and its targets from the notes in `mid`.
fn training_song(
    tr: &mut Transcriber,
    audio: &std::path::Path,
    mid: &std::path::Path,
) -> anyhow::Result<TrainingSong> {
    let truth = crate::groove::midi::read(mid)?;
    let decoded = super::decode_part(audio, 0.0, Some(SONG_SECONDS))?;
    let db = tr.bands(&decoded.samples)?;
    let fs = tr.frame_seconds();
    let onsets = OUTPUT_PARTS.map(|p| truth.part(p).map(|n| n.seconds / fs).collect());
    Ok(TrainingSong {
        targets: onset_net::targets(db.frames, &onsets),
        levels: onset_net::levels(&db),
    })
}
