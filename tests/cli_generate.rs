//! `spec-generate`, `spec-reconstruct` and `spec-interpolate` through the real binary, on a tiny
//! model trained in the test: determinism, genre validation, decodable output of the right
//! length and rate, loops, interpolation end points.

mod common;
use common::*;

use std::path::Path;

fn decode(p: &Path) -> dsp::Decoded {
    dsp::decode_file(p, &dsp::DecodeOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn generation_is_deterministic_validated_and_decodable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tiny_model(d);
    let gen = |out: &str, seed: &str, extra: &[&str]| {
        let mut args = generate_args("house", out, &["--count", "2", "--seed", seed, "--json"]);
        args.extend_from_slice(extra);
        json(&ok(d, &args))
    };
    let a = gen("a", "5", &["--dump-png"]);
    gen("b", "5", &[]);
    gen("c", "6", &[]);
    let files = a["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    for f in files {
        let p = d.join(f["path"].as_str().unwrap());
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with("house-seed5-"), "{name}");
        let same = std::fs::read(d.join("b").join(&name)).unwrap();
        assert_eq!(
            std::fs::read(&p).unwrap(),
            same,
            "{name}: same seed must give identical bytes"
        );
        let other = std::fs::read(d.join("c").join(name.replace("seed5", "seed6"))).unwrap();
        assert_ne!(same, other);
        let dec = decode(&p);
        assert_eq!(dec.source_rate, 22050);
        // Two bars at the genre's training tempo, to the sample: the MP3's LAME tag tells the
        // decoder the encoder's delay and padding.
        let bpm = f["bpm"].as_f64().unwrap();
        let cfg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("m/config.json")).unwrap())
                .unwrap();
        assert!(
            (bpm - cfg["genre_tempi"][0].as_f64().unwrap()).abs() < 1e-3,
            "{bpm}"
        );
        let expect = (2.0 * 240.0 / bpm * 22050.0).round() as usize;
        assert_eq!(dec.samples.len(), expect);
        let peak = dec.samples.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak > 0.5 && peak < 1.0, "peak {peak}");
        // The decoded bar grid: 256 frames (2 bars x 16 steps x 8) by 513 bins.
        assert_eq!(png_size(&p.with_extension("png")), (256, 513));
    }
    // By default the postfilter runs at the strength the model fitted for the genre (this
    // tiny model's decoder is not smoother than its clips: 0), which the output reports; a
    // strength given changes the audio.
    let model = beatgen::model_dir::Model::load(&d.join("m")).unwrap();
    let house = model
        .config
        .genres
        .iter()
        .position(|g| g == "house")
        .unwrap();
    let fitted = model
        .calibration
        .as_ref()
        .unwrap()
        .postfilter
        .as_ref()
        .unwrap()[house];
    assert!((0.0..=4.0).contains(&fitted), "{fitted}");
    let reported = a["postfilter_strength"].as_f64().unwrap();
    assert!(
        (reported - fitted as f64).abs() < 1e-6,
        "{reported} vs {fitted}"
    );
    let (off, on) = (
        gen("off", "5", &["--postfilter", "0"]),
        gen("on", "5", &["--postfilter", "2"]),
    );
    assert_eq!(off["postfilter_strength"].as_f64(), Some(0.0));
    assert_eq!(on["postfilter_strength"].as_f64(), Some(2.0));
    let name = "house-seed5-01.mp3";
    assert_ne!(
        std::fs::read(d.join("off").join(name)).unwrap(),
        std::fs::read(d.join("on").join(name)).unwrap()
    );
    // WAV output is exact in length.
    let w = json(&ok(
        d,
        &generate_args(
            "lo-fi",
            "w",
            &["--count", "1", "--format", "wav", "--bpm", "93", "--json"],
        ),
    ));
    let p = d.join(w["files"][0]["path"].as_str().unwrap());
    // 2 bars at 93 BPM: 2 x 4 x 60 / 93 x 22050 = 113,806.45 samples.
    assert_eq!(decode(&p).samples.len(), 113806);
    // The error of `spec-generate --model MODEL --genre GENRE --out x EXTRA...`.
    let refused = |model: &str, genre: &str, extra: &[&str]| {
        let mut args = vec![
            "spec-generate",
            "--model",
            model,
            "--genre",
            genre,
            "--out",
            "x",
        ];
        args.extend_from_slice(extra);
        fails(d, &args)
    };
    // A loop longer than the documented limit, or an impossible tempo, is refused up front
    // (100000 bars once grew to 24 GB before the machine killed it).
    for (flag, value) in [("--bars", "100000"), ("--bpm", "0")] {
        let err = refused("m", "house", &[flag, value]);
        assert!(
            err.contains("--bpm must be in 40..=250 and --bars in 1..=512"),
            "{err}"
        );
    }
    // More clips, or more audio, than one run holds in memory is refused before any is made.
    let err = refused("m", "house", &["--count", "1001"]);
    assert!(
        err.contains("1001 clips at once") && err.contains("1 to 1000"),
        "{err}"
    );
    let err = refused(
        "m",
        "house",
        &["--count", "100", "--bars", "512", "--bpm", "40"],
    );
    assert!(err.contains("ask for fewer clips or bars"), "{err}");
    assert!(
        !d.join("x").exists(),
        "a refused request made its output folder"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // An infinite temperature (it once reached LAME as NaN samples and aborted the process),
    // and more Griffin-Lim iterations than a run may take.
    let err = refused("m", "house", &["--temperature", "inf"]);
    assert!(err.contains("--temperature a non-negative number"), "{err}");
    let err = refused("m", "house", &["--gl-iters", "100000"]);
    assert!(
        err.contains("iterations") && err.contains("at most 10000"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!d.join("x").exists());
    // A postfilter strength out of range, or not a number, is one line naming the option.
    for value in ["9", "-1", "nan"] {
        let err = refused("m", "house", &[&format!("--postfilter={value}")]);
        assert!(
            err.contains("--postfilter")
                && err.contains("expected `fitted` or a strength in 0..=4"),
            "{err}"
        );
    }
    // An unknown genre lists the model's genres.
    let err = refused("m", "polka", &[]);
    assert!(
        err.contains("unknown genre \"polka\"") && err.contains("house, lo-fi"),
        "{err}"
    );
    // A model directory whose training has not finished an epoch says so.
    std::fs::create_dir(d.join("half")).unwrap();
    std::fs::copy(d.join("m/config.json"), d.join("half/config.json")).unwrap();
    let err = refused("half", "house", &[]);
    assert!(err.contains("no trained weights yet"), "{err}");
    let err = refused("nope", "house", &[]);
    assert!(
        err.contains("nope") && err.contains("no such model directory"),
        "{err}"
    );
    // A config.json with an impossible STFT setting is refused on load with one line naming
    // the file and the field (it once reached a division by zero).
    let cfg_path = d.join("m/config.json");
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    // The same for fields that once passed and made silent garbage: a latent spread over 0
    // steps (the genre never reached the decoder), genre statistics of the wrong size (a
    // 1-value latent), a stored genre tempo out of range.
    let broken: [(&[&str], serde_json::Value, &str); 4] = [
        (&["features", "hop"], 0.into(), "hop 0 is not in 1..=n_fft"),
        (
            &["vae", "latent_steps"],
            0.into(),
            "cannot be spread over 0 time steps",
        ),
        (
            &["genre_latent"],
            serde_json::json!([{"mean": [1.0], "std": [1.0]}]),
            "genre_latent must hold a mean and a std of",
        ),
        (
            &["genre_tempi"],
            serde_json::json!([1e30, 1e30]),
            "each in 40..=250 BPM",
        ),
    ];
    for (field, value, expected) in broken {
        let mut cfg = original.clone();
        let mut slot = &mut cfg;
        for key in field {
            slot = &mut slot[*key];
        }
        *slot = value;
        std::fs::write(&cfg_path, serde_json::to_string(&cfg).unwrap()).unwrap();
        let err = refused("m", "house", &[]);
        assert!(
            err.contains("config.json") && err.contains(expected),
            "{field:?}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn loops_have_whole_bars_and_interpolation_ends_match_reconstructions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tiny_model(d);
    let v = json(&ok(
        d,
        &generate_args(
            "house",
            "l",
            &[
                "--count", "1", "--bars", "3", "--bpm", "100", "--format", "wav", "--json",
            ],
        ),
    ));
    let f = &v["files"][0];
    // Exactly 3 bars of 4/4 at 100 BPM: 3 x 2.4 s.
    assert!((f["seconds"].as_f64().unwrap() - 7.2).abs() < 1e-9, "{f}");
    assert_eq!(f["seams"], serde_json::json!([105840]));
    let audio = decode(&d.join(f["path"].as_str().unwrap())).samples;
    assert_eq!(audio.len(), 158760);
    assert!(audio.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
    // No click at the seams: their spectral flux stays at the level of the loop's own onsets.
    let seams: Vec<usize> = f["seams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap() as usize)
        .collect();
    assert!(!seams.is_empty());
    let mut plan = dsp::StftPlan::new(dsp::StftConfig::default()).unwrap();
    let ratio = beatgen::loops::seam_flux_ratio(&audio, &seams, &mut plan);
    assert!(ratio < 1.5, "seam flux ratio {ratio}");

    // Interpolation from a file to itself: every step is the file's reconstruction.
    let song = std::fs::read_dir(d.join("songs/house"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let song = song.to_str().unwrap();
    // spec-generate --seed 3 renders its first clip with Griffin-Lim seed 3000; use that
    // everywhere, and one tempo, so the three commands are comparable sample for sample.
    ok(
        d,
        &[
            "spec-reconstruct",
            "--model",
            "m",
            song,
            "rec.wav",
            "--seed",
            "3000",
            "--bpm",
            "120",
            "--json",
        ],
    );
    ok(
        d,
        &[
            "spec-interpolate",
            "--model",
            "m",
            song,
            "seed:3:lo-fi",
            "--steps",
            "3",
            "--out",
            "i",
            "--format",
            "wav",
            "--seed",
            "3000",
            "--bpm",
            "120",
        ],
    );
    let rec = decode(&d.join("rec.wav")).samples;
    let first = decode(&d.join("i/step-01.wav")).samples;
    assert_eq!(rec, first, "step 1 must be A's reconstruction");
    // The last step is the seed's decoded latent, exactly as spec-generate draws and renders it.
    ok(
        d,
        &generate_args(
            "lo-fi",
            "g",
            &[
                "--count", "1", "--seed", "3", "--format", "wav", "--bpm", "120",
            ],
        ),
    );
    let last = decode(&d.join("i/step-03.wav")).samples;
    let generated = decode(&d.join("g/lo-fi-seed3-01.wav")).samples;
    assert_eq!(last, generated, "the last step must be B's decoding");
    // Three steps of 2 bars at 120 BPM.
    assert_eq!(decode(&d.join("i/sequence.wav")).samples.len(), 3 * 88200);
    let err = fails(
        d,
        &[
            "spec-interpolate",
            "--model",
            "m",
            "seed:x",
            "seed:1",
            "--out",
            "j",
        ],
    );
    assert!(err.contains("seed:N"), "{err}");
}
