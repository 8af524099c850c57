//! `spec-dump` and `resynth` through the real binary.

mod common;
use common::*;

#[test]
fn spec_dump_writes_one_pixel_per_frame_and_bin() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("drum_loop_48k_stereo.flac");
    let out = ok(
        dir.path(),
        &["spec-dump", input.to_str().unwrap(), "loop.png", "--json"],
    );
    let v = json(&out);
    // 2.0 s at 22050 Hz = 44100 samples -> 1 + 44100/256 = 173 frames, 513 bins.
    assert_eq!(v["frames"], 173);
    assert_eq!(png_size(&dir.path().join("loop.png")), (173, 513));
    // A part of the file.
    ok(
        dir.path(),
        &[
            "spec-dump",
            input.to_str().unwrap(),
            "part.png",
            "--offset",
            "0.5",
            "--seconds",
            "1",
        ],
    );
    assert_eq!(
        png_size(&dir.path().join("part.png")),
        (1 + 22050 / 256, 513)
    );
}

#[test]
fn resynth_reports_and_writes_decodable_audio() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("drum_loop_44k1.wav");
    for (out, init) in [("r.wav", "random"), ("p.mp3", "pghi")] {
        let v = json(&ok(
            dir.path(),
            &[
                "resynth",
                input.to_str().unwrap(),
                out,
                "--iters",
                "16",
                "--init",
                init,
                "--json",
            ],
        ));
        for key in [
            "spectral_convergence_db",
            "iterations",
            "init",
            "gl_seconds",
        ] {
            assert!(v.get(key).is_some(), "missing {key}: {v}");
        }
        assert_eq!(v["iterations"], 16);
        assert_eq!(v["init"], init);
        assert!(
            v["spectral_convergence_db"].as_f64().unwrap() < -15.0,
            "{v}"
        );
        let d = dsp::decode_file(&dir.path().join(out), &dsp::DecodeOptions::default()).unwrap();
        assert_eq!(d.source_rate, 22050);
        assert_eq!(d.samples.len(), 2 * 22050, "{out}");
    }
    // The human summary is one line with the numbers.
    let line = ok(
        dir.path(),
        &["resynth", input.to_str().unwrap(), "s.wav", "--iters", "4"],
    );
    assert_eq!(line.lines().count(), 1);
    assert!(
        line.contains("spectral convergence") && line.contains("4 iterations"),
        "{line}"
    );
}

#[test]
fn bad_input_is_one_clear_line_and_a_failure_code() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("song.mp3"), "not really an mp3").unwrap();
    let sine = fixture("sine440_22k05.flac");
    let sine = sine.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["resynth", "missing.wav", "o.wav"], "missing.wav"),
        (
            &["resynth", "song.mp3", "o.wav"],
            "song.mp3: not a recognised audio file",
        ),
        (&["spec-dump", ".", "o.png"], "is a directory"),
        (&["resynth", sine, "o.ogg"], "unsupported output format"),
        (&["resynth", sine, "o.wav", "--init", "magic"], "magic"),
    ];
    for (args, needle) in cases {
        let err = fails(dir.path(), args);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let err = fails(dir.path(), &["resynth", "song.mp3", "o.wav"]);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
