//! `beatgen dataset-info SONGS`: a typed summary of what the dataset pipeline sees, printed as
//! a table or as JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use crate::cli::DatasetInfoArgs;
use crate::dataset::cache::AnalysisTiming;
use crate::dataset::{Dataset, Skipped, Song};

/// One genre's row.
#[derive(Serialize)]
struct GenreRow {
    songs: usize,
    songs_train: usize,
    songs_validation: usize,
    clips_train: usize,
    clips_validation: usize,
    seconds: f64,
    tempo_min: Option<f32>,
    tempo_max: Option<f32>,
    songs_with_tempo: usize,
}

/// Everything `dataset-info` reports (the `--json` object, less the per-song list).
#[derive(Serialize)]
struct Summary {
    songs_dir: PathBuf,
    files: usize,
    usable_songs: usize,
    genres: BTreeMap<String, GenreRow>,
    total_seconds: f64,
    sample_rates: BTreeSet<u32>,
    channel_counts: BTreeSet<usize>,
    clips_train: usize,
    clips_validation: usize,
    skipped: Vec<Skipped>,
    single_song_genres: Vec<String>,
    decoded: usize,
    cached: usize,
    /// Songs per tempo source (`tag`, `file-name`, `detector`, `genre`, `none`).
    tempo_sources: BTreeMap<&'static str, usize>,
    /// Songs whose tempo choice was unsure ([`Song::tempo_unsure`]).
    tempo_unsure: Vec<PathBuf>,
    /// Songs whose first bar line was unsure ([`Song::bar_lines_unsure`]).
    bar_lines_unsure: Vec<PathBuf>,
    /// Songs cut on a bar line the user gave (`--bar-lines`).
    bar_lines_given: usize,
    /// Thread-seconds of analysis, summed over the songs (timed when each was analysed).
    analysis_seconds: AnalysisTiming,
    /// Frames x bands of one example.
    clip_shape: [usize; 2],
    /// Wall time of this run.
    seconds: f64,
}

pub fn run(a: DatasetInfoArgs) -> anyhow::Result<()> {
    let (cfg, opts) = super::dataset_setup(&a.data, a.seed)?;
    if let Some(dir) = &a.clicks {
        super::clicks::check(&cfg, dir, &a.songs)?;
    }
    let start = Instant::now();
    let ds = Dataset::load(&a.songs, &cfg, &opts)?;
    let summary = summarise(
        &ds,
        [cfg.frames(), cfg.bands()],
        start.elapsed().as_secs_f64(),
    );
    let clicks = match &a.clicks {
        Some(dir) => Some(super::clicks::write(&ds, &cfg, dir, &a.clicks_format)?),
        None => None,
    };
    if a.json {
        let mut v = serde_json::to_value(&summary)?;
        v["songs"] = ds.songs.iter().map(song_json).collect();
        if let Some(c) = &clicks {
            v["clicks"] = serde_json::to_value(c)?;
        }
        return super::print_json(&v);
    }
    print_text(&summary, &ds);
    if let Some(c) = &clicks {
        println!(
            "clicks: {} songs with their bar grid in {} ({}){}",
            c.files.len(),
            c.dir.display(),
            super::clicks::pitches(),
            if c.failed.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} could not be written (see the warnings)",
                    c.failed.len()
                )
            }
        );
        println!("listen: open {}", c.page.display());
    }
    Ok(())
}

fn summarise(ds: &Dataset, clip_shape: [usize; 2], seconds: f64) -> Summary {
    let genres = ds
        .counts()
        .into_iter()
        .map(|(g, c)| {
            let songs: Vec<&Song> = ds.songs.iter().filter(|s| s.genre == g).collect();
            let tempi: Vec<f32> = songs.iter().filter_map(|s| s.meta.tempo_bpm).collect();
            let row = GenreRow {
                songs: c[0] + c[1],
                songs_train: c[0],
                songs_validation: c[1],
                clips_train: c[2],
                clips_validation: c[3],
                seconds: songs.iter().map(|s| s.meta.seconds).sum(),
                tempo_min: tempi.iter().copied().reduce(f32::min),
                tempo_max: tempi.iter().copied().reduce(f32::max),
                songs_with_tempo: tempi.len(),
            };
            (g, row)
        })
        .collect::<BTreeMap<_, _>>();
    let mut analysis_seconds = AnalysisTiming::default();
    let mut tempo_sources = BTreeMap::new();
    for s in &ds.songs {
        analysis_seconds.decode += s.meta.timing.decode;
        analysis_seconds.tempo += s.meta.timing.tempo;
        analysis_seconds.examples += s.meta.timing.examples;
        *tempo_sources.entry(s.tempo_source.name()).or_default() += 1;
    }
    Summary {
        songs_dir: ds.root.clone(),
        files: ds.songs.len() + ds.skipped.len(),
        usable_songs: ds.songs.len(),
        total_seconds: ds.songs.iter().map(|s| s.meta.seconds).sum(),
        sample_rates: ds.songs.iter().map(|s| s.meta.source_rate).collect(),
        channel_counts: ds.songs.iter().map(|s| s.meta.source_channels).collect(),
        clips_train: genres.values().map(|r| r.clips_train).sum(),
        clips_validation: genres.values().map(|r| r.clips_validation).sum(),
        genres,
        skipped: ds.skipped.clone(),
        single_song_genres: ds.single_song_genres.clone(),
        decoded: ds.decoded,
        cached: ds.cached,
        tempo_sources,
        tempo_unsure: ds
            .songs
            .iter()
            .filter(|s| s.tempo_unsure())
            .map(|s| s.path.clone())
            .collect(),
        bar_lines_unsure: ds
            .songs
            .iter()
            .filter(|s| s.bar_lines_unsure())
            .map(|s| s.path.clone())
            .collect(),
        bar_lines_given: ds.songs.iter().filter(|s| s.meta.downbeat_given).count(),
        analysis_seconds,
        clip_shape,
        seconds,
    }
}

fn song_json(s: &Song) -> serde_json::Value {
    let readings: Vec<serde_json::Value> = s
        .meta
        .tempo_readings
        .iter()
        .map(|r| json!({"bpm": r.0, "strength": r.1}))
        .collect();
    json!({
        "path": s.path, "genre": s.genre, "split": s.split, "seconds": s.meta.seconds,
        "source_rate": s.meta.source_rate, "channels": s.meta.source_channels,
        "tempo_bpm": s.meta.tempo_bpm, "tempo_strength": s.meta.tempo_strength,
        "tempo_source": s.tempo_source, "tempo_margin": s.tempo_margin,
        "tempo_readings": readings,
        "group_reading": s.meta.group_reading.map(|r| json!({"bpm": r.0, "strength": r.1})),
        "tagged_bpm": s.meta.tagged_bpm, "hat_rate": s.meta.hat_rate, "snare_period": s.meta.snare_period,
        "first_downbeat_seconds": s.meta.downbeat_seconds,
        "downbeat_confidence": s.meta.downbeat_confidence,
        "downbeat_source": if s.meta.downbeat_given { "given" } else { "detector" },
        "clips": s.meta.clip_starts.len(), "silent_clips": s.meta.silent_clips,
        "warnings": s.meta.warnings,
    })
}

fn print_text(m: &Summary, ds: &Dataset) {
    println!(
        "{}: {} audio files, {} usable, {:.1} min of audio; source rates {:?} Hz, channels {:?}",
        m.songs_dir.display(),
        m.files,
        m.usable_songs,
        m.total_seconds / 60.0,
        m.sample_rates,
        m.channel_counts
    );
    println!(
        "{:<12} {:>6} {:>12} {:>12} {:>16}",
        "genre", "songs", "train clips", "val clips", "tempo (BPM)"
    );
    for (g, r) in &m.genres {
        let tempo = match (r.tempo_min, r.tempo_max) {
            (Some(l), Some(h)) => format!("{l:.1}-{h:.1}"),
            _ => "-".into(),
        };
        println!(
            "{:<12} {:>6} {:>12} {:>12} {:>16}",
            g,
            format!("{}+{}", r.songs_train, r.songs_validation),
            r.clips_train,
            r.clips_validation,
            tempo
        );
    }
    for g in &m.single_song_genres {
        println!("note: genre {g} has a single song; it is kept in training (no validation clips)");
    }
    let sources: Vec<String> = m
        .tempo_sources
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    println!("tempo from: {}", sources.join(", "));
    if m.bar_lines_given > 0 {
        println!(
            "bar lines given (--bar-lines): {} of {} songs",
            m.bar_lines_given, m.usable_songs
        );
    }
    let t = &m.analysis_seconds;
    println!(
        "analysis time (thread-seconds, when each song was analysed): decode {:.2} s, tempo and bar lines {:.2} s ({:.1}%), examples {:.2} s",
        t.decode,
        t.tempo,
        100.0 * t.tempo / (t.decode + t.tempo + t.examples).max(1e-9),
        t.examples
    );
    for s in ds.songs.iter().filter(|s| s.tempo_unsure()) {
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
    for s in ds.songs.iter().filter(|s| s.bar_lines_unsure()) {
        println!(
            "bar lines unsure: {} (first at {:.3} s, confidence {:.2}: check that a bar starts there, by ear with --clicks)",
            s.path.display(),
            s.meta.downbeat_seconds.unwrap_or(f64::NAN),
            s.meta.downbeat_confidence
        );
    }
    for s in &m.skipped {
        println!("skipped {}: {}", s.path.display(), s.reason);
    }
    println!(
        "{} train + {} validation clips of {} x {} (frames x bands); {} songs decoded, {} from cache, in {:.1} s",
        m.clips_train,
        m.clips_validation,
        m.clip_shape[0],
        m.clip_shape[1],
        m.decoded,
        m.cached,
        m.seconds
    );
}
