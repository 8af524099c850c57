//! `beatgen make-corpus DIR`

use std::time::Instant;

use serde_json::json;

use crate::cli::MakeCorpusArgs;
use crate::corpus::{make_corpus, CorpusOptions, Genre};

pub fn run(a: MakeCorpusArgs) -> anyhow::Result<()> {
    let genres = match &a.genres {
        None => Genre::ALL.to_vec(),
        Some(names) => names
            .iter()
            .map(|n| {
                Genre::from_name(n.trim()).ok_or_else(|| {
                    let known: Vec<&str> = Genre::ALL.iter().map(|g| g.name()).collect();
                    anyhow::anyhow!("unknown genre {n:?} (known: {})", known.join(", "))
                })
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let opts = CorpusOptions {
        per_genre: a.per_genre,
        seconds: a.seconds,
        seed: a.seed,
        genres,
        mp3_kbps: a.kbps,
        soundfont: a.soundfont.clone(),
        midi: a.midi,
    };
    let start = Instant::now();
    let bar = crate::progress::bar(0, "synthesising");
    let rows = make_corpus(&a.dir, &opts, &bar)?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    if a.json {
        let songs: Vec<_> = rows
            .iter()
            .map(|r| json!({"path": r.path, "genre": r.spec.genre.name(), "bpm": r.spec.bpm, "swing": r.spec.swing, "sample_rate": r.spec.sample_rate}))
            .collect();
        return super::print_json(&json!({"dir": a.dir, "songs": songs, "seconds": secs}));
    }
    println!(
        "wrote {} songs ({} genres x {}, {} s each){} and manifest.tsv to {} in {secs:.1} s",
        rows.len(),
        opts.genres.len(),
        opts.per_genre,
        opts.seconds,
        if opts.midi {
            " with their notes as MIDI"
        } else {
            ""
        },
        a.dir.display()
    );
    Ok(())
}
