//! The groove as MIDI: make-corpus --midi writes the true notes, transcribe recovers them from
//! the MP3, spec-generate --midi writes a groove per loop on the grid of the loop's tempo.

mod common;
use common::*;

use beatgen::groove::midi::read;
use beatgen::groove::{Part, DRUM_CHANNEL};

/// The first MP3 in `folder`.
fn first_mp3(folder: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "mp3"))
        .unwrap()
}

/// `transcribe SONG t.mid --truth SONG.mid --json EXTRA...` in `d`: its output and the JSON.
fn transcribe_with_truth(
    d: &std::path::Path,
    song: &std::path::Path,
    extra: &[&str],
) -> (String, serde_json::Value) {
    let truth = song.with_extension("mid");
    let mut args = vec![
        "transcribe",
        song.to_str().unwrap(),
        "t.mid",
        "--truth",
        truth.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = ok(d, &args);
    let j = json(&out);
    (out, j)
}

/// The synthesiser's true notes for a house song at its tempo, written beside the MP3, and
/// transcribed back from the MP3 with --truth: the kick (four on the floor) and claps are
/// found; an off-by-one-beat or codec-delay error would make every onset miss the 30 ms window.
#[test]
fn make_corpus_midi_and_transcribe_agree_on_a_house_song() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "make-corpus",
            "c",
            "--per-genre",
            "1",
            "--seconds",
            "8",
            "--genres",
            "house",
            "--midi",
        ],
    );
    let song = first_mp3(&d.join("c/house"));
    let truth = read(&song.with_extension("mid")).unwrap();
    // The file name carries the song's tempo ("house-01-124bpm.mp3").
    let name = song.file_name().unwrap().to_string_lossy().into_owned();
    let bpm: f64 = name
        .trim_end_matches("bpm.mp3")
        .rsplit('-')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((truth.bpm - bpm).abs() <= 0.5, "{} vs {name}", truth.bpm);
    // Four kicks a bar, two claps a bar.
    let kicks = truth.part(Part::Kick).count();
    let bars = 8.0 / (4.0 * 60.0 / truth.bpm);
    assert!(
        (kicks as f64 - 4.0 * bars).abs() <= 4.0,
        "{kicks} kicks in {bars} bars"
    );
    let (out, j) = transcribe_with_truth(d, &song, &[]);
    assert_eq!(j["tempo_source"], "file name");
    for part in ["kick", "snare"] {
        let f1 = j["score"][part]["f1"].as_f64().unwrap();
        assert!(f1 >= 0.75, "{part} F1 {f1}: {out}");
    }
    // The written file: fully quantised by default, so every drum note sits on a 16th or
    // 16th-triplet line from the first bar line (within a tick).
    let got = read(&d.join("t.mid")).unwrap();
    let first_bar = j["first_bar_seconds"].as_f64().unwrap();
    let beat = 60.0 / got.bpm;
    let tick = beat / 480.0;
    for n in got.notes.iter().filter(|n| n.channel == DRUM_CHANNEL) {
        let x = (n.seconds - first_bar) / beat;
        let off = |steps: f64| ((x * steps).round() / steps - x).abs() * beat;
        assert!(off(4.0).min(off(6.0)) <= 1.5 * tick, "{n:?} off the grid");
    }
}

#[test]
fn transcribe_refuses_bad_arguments_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = fixture("drum_loop_tagged.mp3");
    let f = f.to_str().unwrap();
    let e = fails(d, &["transcribe", f, "out.wav"]);
    assert!(e.contains("out.wav") && e.contains(".mid"), "{e}");
    let e = fails(d, &["transcribe", f, "o.mid", "--quantize", "2"]);
    assert!(e.contains("fraction"), "{e}");
    let e = fails(d, &["transcribe", "missing.mp3", "o.mid"]);
    assert!(e.contains("missing.mp3"), "{e}");
    std::fs::write(d.join("bad.mid"), b"MThd garbage").unwrap();
    let e = fails(d, &["transcribe", f, "o.mid", "--truth", "bad.mid"]);
    assert!(e.contains("bad.mid"), "{e}");
    let e = fails(d, &["transcribe", f, "o.mid", "--bar-line=-1"]);
    assert!(e.contains("--bar-line must be a time"), "{e}");
    assert!(!d.join("o.mid").exists());
}

/// `--bar-line`: the grid goes through the bar line given (a time in the file, so it moves
/// with `--offset`), and the quantised notes sit on 16th lines counted from it.
#[test]
fn transcribe_puts_the_grid_through_a_given_bar_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let song =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("songs/house/house-01-122bpm.mp3");
    let song = song.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["transcribe", song, "t.mid", "--json"];
        args.extend_from_slice(extra);
        json(&ok(d, &args))
    };
    let detected = run(&[]);
    assert_eq!(detected["first_bar_source"], "detector");
    assert!(
        detected["first_bar_seconds"].as_f64().unwrap() < 0.1,
        "{detected}"
    );
    for (extra, expect) in [
        (vec!["--bar-line", "1.0"], 1.0),
        (vec!["--bar-line", "1.0", "--offset", "0.5"], 0.5),
    ] {
        let j = run(&extra);
        assert_eq!(j["first_bar_source"], "--bar-line");
        let first = j["first_bar_seconds"].as_f64().unwrap();
        assert!((first - expect).abs() < 0.001, "{extra:?}: {j}");
        let got = read(&d.join("t.mid")).unwrap();
        let step = 15.0 / got.bpm;
        for n in got.notes.iter().filter(|n| n.channel == DRUM_CHANNEL) {
            let x = (n.seconds - first) / step;
            let off = |k: f64| ((x * k).round() / k - x).abs() * step;
            assert!(
                off(1.0).min(off(1.5)) < 0.002,
                "{n:?} off the grid from {first}"
            );
        }
    }
}

/// spec-generate --midi on a tiny model: a .mid per loop at the requested tempo, covering the
/// loop's length, every drum note on the grid when fully quantised and the played timing
/// kept with --midi-quantize none; the PNG grows by the note lanes; the page links the MIDI.
#[test]
fn spec_generate_writes_a_groove_per_loop() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tiny_model(d);
    let gen = |out: &str, q: &str| {
        let extra = [
            "--count",
            "2",
            "--bpm",
            "100",
            "--bars",
            "4",
            "--dump-png",
            "--midi",
            "--midi-quantize",
            q,
            "--json",
        ];
        ok(d, &generate_args("house", out, &extra))
    };
    let j = json(&gen("q", "full"));
    let files = j["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    let beat = 0.6;
    for f in files {
        let mid = d.join(f["midi"].as_str().unwrap());
        let g = read(&mid).unwrap();
        assert!((g.bpm - 100.0).abs() < 1e-6);
        let seconds = f["seconds"].as_f64().unwrap();
        assert!((seconds - 16.0 * beat).abs() < 1e-3, "{seconds}");
        for n in &g.notes {
            assert!(n.seconds >= 0.0 && n.seconds < seconds, "{n:?}");
            if n.channel == DRUM_CHANNEL {
                let x = n.seconds / beat;
                let off = |steps: f64| ((x * steps).round() / steps - x).abs() * beat;
                assert!(off(4.0).min(off(6.0)) < 0.002, "{n:?}");
            }
        }
        let notes: Vec<u64> = f["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(notes.iter().sum::<u64>() as usize, g.notes.len());
        let png = d.join(f["png"].as_str().unwrap());
        assert_eq!(png_size(&png), (256, 513 + 4 + 4 * 12));
    }
    let page = std::fs::read_to_string(d.join("q/index.html")).unwrap();
    assert!(page.contains("house-seed0-01-4bars.mid"), "{page}");
    // Unquantised: the same onsets as played, so not all on the grid lines unless the
    // transcription already was; the note count and tempo are the same.
    let j2 = json(&gen("n", "none"));
    for (a, b) in files.iter().zip(j2["files"].as_array().unwrap()) {
        let qa = read(&d.join(a["midi"].as_str().unwrap())).unwrap();
        let qb = read(&d.join(b["midi"].as_str().unwrap())).unwrap();
        assert_eq!(qa.notes.len(), qb.notes.len());
        let moved = qa
            .notes
            .iter()
            .zip(&qb.notes)
            .filter(|(x, y)| (x.seconds - y.seconds).abs() > 1e-3)
            .count();
        let on = b["on_grid"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&on));
        assert!(moved > 0 || on == 1.0, "quantising moved nothing");
    }
}

/// A model of fixed 3 s clips has no bar grid to put a groove on: --midi is refused before
/// anything is written.
#[test]
fn midi_needs_a_bar_grid_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tiny_model_with(d, &["--representation", "clips"]);
    let e = fails(d, &generate_args("house", "o", &["--midi"]));
    assert!(e.contains("--midi") && e.contains("bar-grid"), "{e}");
    assert!(!d.join("o").exists());
}

/// train-onsets on a small corpus with its true notes writes weights that transcribe --onsets
/// reads: trained on two songs per genre for a few epochs, the network finds the kicks and
/// snares of a song it did not see (a wrong frame alignment of the targets would miss every
/// 30 ms window). Bad arguments are refused with one line naming the problem.
#[test]
fn train_onsets_writes_weights_that_transcribe_uses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let corpus = |name: &str, seed: &str, per_genre: &str| {
        ok(
            d,
            &[
                "make-corpus",
                name,
                "--per-genre",
                per_genre,
                "--seconds",
                "12",
                "--seed",
                seed,
                "--midi",
                "--genres",
                "house,boom-bap",
            ],
        )
    };
    corpus("train", "5", "2");
    corpus("test", "6", "1");
    let out = ok(
        d,
        &[
            "train-onsets",
            "train",
            "--out",
            "w.safetensors",
            "--epochs",
            "4",
            "--json",
        ],
    );
    let j = json(&out);
    assert_eq!(j["songs"], 4);
    let loss: Vec<f64> = j["loss"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(loss[3] < loss[0], "{loss:?}");
    let song = first_mp3(&d.join("test/house"));
    let (out, j) = transcribe_with_truth(d, &song, &["--onsets", "w.safetensors"]);
    for part in ["kick", "snare"] {
        let f1 = j["score"][part]["f1"].as_f64().unwrap();
        assert!(f1 >= 0.8, "{part} F1 {f1}: {out}");
    }
    // No notes beside the songs; not a weights file; a weights file of another network.
    ok(
        d,
        &[
            "make-corpus",
            "bare",
            "--per-genre",
            "1",
            "--seconds",
            "4",
            "--genres",
            "house",
        ],
    );
    let e = fails(d, &["train-onsets", "bare", "--out", "x.safetensors"]);
    assert!(e.contains("bare") && e.contains(".mid"), "{e}");
    let e = fails(d, &["train-onsets", "train", "--out", "x.bin"]);
    assert!(e.contains("x.bin") && e.contains(".safetensors"), "{e}");
    let f = song.to_str().unwrap();
    std::fs::write(d.join("junk.safetensors"), b"not safetensors").unwrap();
    let e = fails(
        d,
        &["transcribe", f, "o.mid", "--onsets", "junk.safetensors"],
    );
    assert!(e.contains("junk.safetensors"), "{e}");
    assert!(!d.join("o.mid").exists());
    assert!(!d.join("x.safetensors").exists());
}
