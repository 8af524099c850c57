//! `beatgen dataset-info SONGS`

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde_json::json;

use crate::cli::DatasetInfoArgs;
use crate::dataset::cache::AnalysisTiming;
use crate::dataset::tempo_choice::UNSURE_MARGIN;
use crate::dataset::Dataset;

pub fn run(a: DatasetInfoArgs) -> anyhow::Result<()> {
    let (cfg, opts) = super::dataset_setup(&a.data, a.seed)?;
    let start = Instant::now();
    let ds = Dataset::load(&a.songs, &cfg, &opts)?;
    let secs = start.elapsed().as_secs_f64();
    let counts = ds.counts();
    let mut per_genre = BTreeMap::new();
    for (g, c) in &counts {
        let songs: Vec<_> = ds.songs.iter().filter(|s| &s.genre == g).collect();
        let tempi: Vec<f32> = songs.iter().filter_map(|s| s.meta.tempo_bpm).collect();
        let (lo, hi) = tempi
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &t| {
                (l.min(t), h.max(t))
            });
        let seconds: f64 = songs.iter().map(|s| s.meta.seconds).sum();
        per_genre.insert(
            g.clone(),
            json!({
                "songs": c[0] + c[1], "songs_train": c[0], "songs_validation": c[1],
                "clips_train": c[2], "clips_validation": c[3], "seconds": seconds,
                "tempo_min": (!tempi.is_empty()).then_some(lo), "tempo_max": (!tempi.is_empty()).then_some(hi),
                "songs_with_tempo": tempi.len(),
            }),
        );
    }
    let rates: BTreeSet<u32> = ds.songs.iter().map(|s| s.meta.source_rate).collect();
    let layouts: BTreeSet<usize> = ds.songs.iter().map(|s| s.meta.source_channels).collect();
    let total_seconds: f64 = ds.songs.iter().map(|s| s.meta.seconds).sum();
    let clips_train: usize = counts.values().map(|c| c[2]).sum();
    let clips_validation: usize = counts.values().map(|c| c[3]).sum();
    let files = ds.songs.len() + ds.skipped.len();
    let mut timing = AnalysisTiming::default();
    for s in &ds.songs {
        timing.decode += s.meta.timing.decode;
        timing.tempo += s.meta.timing.tempo;
        timing.examples += s.meta.timing.examples;
    }
    let mut sources: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &ds.songs {
        *sources.entry(s.tempo_source.name()).or_default() += 1;
    }
    let unsure: Vec<&crate::dataset::Song> = ds
        .songs
        .iter()
        .filter(|s| s.tempo_margin < UNSURE_MARGIN)
        .collect();
    if a.json {
        return super::print_json(&json!({
            "songs_dir": ds.root, "files": files, "usable_songs": ds.songs.len(), "genres": per_genre,
            "total_seconds": total_seconds, "sample_rates": rates, "channel_counts": layouts,
            "clips_train": clips_train, "clips_validation": clips_validation, "skipped": ds.skipped,
            "single_song_genres": ds.single_song_genres, "decoded": ds.decoded, "cached": ds.cached,
            "tempo_sources": sources, "tempo_unsure": unsure.iter().map(|s| &s.path).collect::<Vec<_>>(),
            "analysis_seconds": timing,
            "clip_shape": [cfg.frames(), cfg.bands()], "seconds": secs,
            "songs": ds.songs.iter().map(|s| json!({
                "path": s.path, "genre": s.genre, "split": s.split, "seconds": s.meta.seconds,
                "source_rate": s.meta.source_rate, "channels": s.meta.source_channels,
                "tempo_bpm": s.meta.tempo_bpm, "tempo_strength": s.meta.tempo_strength,
                "tempo_source": s.tempo_source, "tempo_margin": s.tempo_margin,
                "tempo_readings": s.meta.tempo_readings.iter().map(|r| json!({"bpm": r.0, "strength": r.1})).collect::<Vec<_>>(),
                "tagged_bpm": s.meta.tagged_bpm,
                "first_downbeat_seconds": s.meta.downbeat_seconds, "downbeat_confidence": s.meta.downbeat_confidence,
                "clips": s.meta.clip_starts.len(), "silent_clips": s.meta.silent_clips,
            })).collect::<Vec<_>>(),
        }));
    }
    println!(
        "{}: {files} audio files, {} usable, {:.1} min of audio; source rates {:?} Hz, channels {:?}",
        ds.root.display(),
        ds.songs.len(),
        total_seconds / 60.0,
        rates,
        layouts
    );
    println!(
        "{:<12} {:>6} {:>12} {:>12} {:>16}",
        "genre", "songs", "train clips", "val clips", "tempo (BPM)"
    );
    for (g, v) in &per_genre {
        let tempo = match (v["tempo_min"].as_f64(), v["tempo_max"].as_f64()) {
            (Some(l), Some(h)) => format!("{l:.1}-{h:.1}"),
            _ => "-".into(),
        };
        println!(
            "{:<12} {:>6} {:>12} {:>12} {:>16}",
            g,
            format!("{}+{}", v["songs_train"], v["songs_validation"]),
            v["clips_train"].to_string(),
            v["clips_validation"].to_string(),
            tempo
        );
    }
    for g in &ds.single_song_genres {
        println!("note: genre {g} has a single song; it is kept in training (no validation clips)");
    }
    let sources: Vec<String> = sources.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!("tempo from: {}", sources.join(", "));
    println!(
        "analysis time (thread-seconds, when each song was analysed): decode {:.2} s, tempo and bar lines {:.2} s ({:.1}%), examples {:.2} s",
        timing.decode,
        timing.tempo,
        100.0 * timing.tempo / (timing.decode + timing.tempo + timing.examples).max(1e-9),
        timing.examples
    );
    for s in &unsure {
        let readings: Vec<String> = s
            .meta
            .tempo_readings
            .iter()
            .map(|r| format!("{:.1}", r.0))
            .collect();
        println!(
            "tempo unsure: {} at {:.1} BPM (readings {}; margin {:.2})",
            s.path.display(),
            s.meta.tempo_bpm.unwrap_or(f32::NAN),
            readings.join(", "),
            s.tempo_margin
        );
    }
    for s in &ds.skipped {
        println!("skipped {}: {}", s.path.display(), s.reason);
    }
    println!(
        "{clips_train} train + {clips_validation} validation clips of {} x {} (frames x bands); {} songs decoded, {} from cache, in {secs:.1} s",
        cfg.frames(),
        cfg.bands(),
        ds.decoded,
        ds.cached
    );
    Ok(())
}
