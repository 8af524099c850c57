//! `beatgen transcribe IN OUT.mid [--bpm B] [--quantize Q] [--truth REF.mid]`: the groove of
//! any audio file as MIDI. The tempo and first bar line come from the dataset pipeline's
//! analysis (tag or file-name tempo first, as for training songs), the hits from
//! [`crate::groove::transcribe`].

use std::collections::BTreeMap;

use anyhow::Context;
use serde_json::json;

use crate::cli::TranscribeArgs;
use crate::dataset::features::{FeatureConfig, FeatureExtractor};
use crate::dataset::tempo_choice::{metadata_bpm, TempoSource};
use crate::dataset::Hint;
use crate::groove::quantize::{on_grid_fraction, quantize, BeatGrid};
use crate::groove::score::{score, TOLERANCE_SECONDS};
use crate::groove::transcribe::Transcriber;
use crate::groove::{Groove, Part};

/// Longest stretch of audio transcribed at once (seconds): bounds memory (a 600 s song peaks
/// at 120 MB).
pub const MAX_SECONDS: f64 = 600.0;

/// Tempo used when none is given or found (BPM).
const FALLBACK_BPM: f32 = 120.0;

pub fn run(a: TranscribeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.output
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi")),
        "{}: the output must be a .mid file",
        a.output.display()
    );
    anyhow::ensure!(
        a.seconds > 0.0 && a.seconds <= MAX_SECONDS,
        "--seconds must be in (0, {MAX_SECONDS}]"
    );
    if let Some(b) = a.bpm {
        anyhow::ensure!(
            (crate::generate::MIN_BPM..=crate::generate::MAX_BPM).contains(&b),
            "--bpm must be in {}..={}",
            crate::generate::MIN_BPM,
            crate::generate::MAX_BPM
        );
    }
    if let Some(b) = a.bar_line {
        anyhow::ensure!(
            b.is_finite() && b >= 0.0,
            "--bar-line must be a time in seconds (0 or more)"
        );
    }
    let truth = a
        .truth
        .as_deref()
        .map(crate::groove::midi::read)
        .transpose()?;
    let decoded = super::decode_part(&a.input, a.part.offset, Some(a.seconds))?;
    let x = &decoded.samples;
    let cfg = FeatureConfig::default();
    let sr = cfg.sample_rate as f64;
    // Tempo and the first bar line: as the dataset pipeline finds them.
    let (hint, source) = match a.bpm {
        Some(b) => (Some(b), "--bpm"),
        None => match metadata_bpm(&a.input, decoded.tagged_bpm) {
            Some((b, s)) => (
                Some(b),
                if s == TempoSource::Tag {
                    "tag"
                } else {
                    "file name"
                },
            ),
            None => (None, "detector"),
        },
    };
    let mut fx = FeatureExtractor::new(&cfg)?;
    // A bar line given in the file, in the part read.
    let bar_line = a.bar_line.map(|b| b - a.part.offset);
    let found = crate::dataset::find_examples_at(
        x,
        &mut fx,
        Hint {
            bpm: hint,
            bar_line,
        },
    )
    .ok();
    let detected = found.as_ref().and_then(|e| e.tempo.map(|t| t.bpm));
    let bpm = a.bpm.or(detected).or(hint).unwrap_or(FALLBACK_BPM);
    let bar = 240.0 / bpm as f64;
    let first_bar = found
        .as_ref()
        .and_then(|e| e.starts.first())
        .map(|&s| s / sr)
        .or(bar_line.map(|b| b.rem_euclid(bar)))
        .unwrap_or(0.0);
    let bar_line_source = if a.bar_line.is_some() {
        "--bar-line"
    } else {
        "detector"
    };
    let source = if a.bpm.is_none() && detected.is_none() {
        if hint.is_some() {
            source
        } else {
            "none (120 BPM assumed)"
        }
    } else {
        source
    };
    let mut transcriber = match &a.onsets {
        Some(p) => Transcriber::load(p)?,
        None => Transcriber::shipped()?,
    };
    let played = transcriber
        .groove(x, bpm as f64, &dsp::drums::DrumConfig::default())
        .with_context(|| format!("{}", a.input.display()))?;
    let grid = BeatGrid::new(bpm as f64, first_bar);
    let on_grid = on_grid_fraction(&played, &grid);
    let groove = quantize(&played, &grid, a.quantize);
    crate::groove::midi::write(&a.output, &groove)?;
    let counts: BTreeMap<&str, usize> = Part::ALL
        .iter()
        .map(|&p| (p.name(), groove.part(p).count()))
        .collect();
    let seconds = x.len() as f64 / sr;
    let scores = truth.map(|t| {
        // The reference is read from the same offset.
        let shifted = Groove {
            notes: t
                .notes
                .iter()
                .map(|n| crate::groove::Note {
                    seconds: n.seconds - a.part.offset,
                    ..*n
                })
                .filter(|n| n.seconds >= 0.0)
                .collect(),
            ..t
        };
        score(&shifted, &played, TOLERANCE_SECONDS, seconds)
    });
    if a.json {
        let score_json = scores.as_ref().map(|s| {
            s.iter()
                .map(|(p, c)| {
                    (
                        p.name(),
                        json!({"hits": c.hits, "extra": c.extra, "missed": c.missed,
                               "precision": c.precision(), "recall": c.recall(), "f1": c.f1()}),
                    )
                })
                .collect::<BTreeMap<_, _>>()
        });
        return super::print_json(&json!({
            "input": a.input, "output": a.output, "seconds": seconds,
            "bpm": bpm, "tempo_source": source, "first_bar_seconds": first_bar,
            "first_bar_source": bar_line_source,
            "quantize": a.quantize, "notes": counts, "on_grid": on_grid, "score": score_json,
        }));
    }
    println!(
        "{} -> {}: {} notes ({}) at {bpm:.1} BPM ({source}), first bar line at {first_bar:.3} s{}; {:.0}% of drum hits within a quarter of a 16th of the grid",
        a.input.display(),
        a.output.display(),
        groove.notes.len(),
        counts
            .iter()
            .map(|(p, n)| format!("{n} {p}"))
            .collect::<Vec<_>>()
            .join(", "),
        if a.bar_line.is_some() {
            " (--bar-line)"
        } else {
            ""
        },
        100.0 * on_grid
    );
    if let Some(s) = scores {
        println!(
            "{:<6} {:>5} {:>6} {:>7} {:>9} {:>7} {:>6}",
            "part", "hits", "extra", "missed", "precision", "recall", "F1"
        );
        for (p, c) in s {
            println!(
                "{:<6} {:>5} {:>6} {:>7} {:>9.3} {:>7.3} {:>6.3}",
                p.name(),
                c.hits,
                c.extra,
                c.missed,
                c.precision(),
                c.recall(),
                c.f1()
            );
        }
    }
    Ok(())
}
