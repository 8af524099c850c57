//! Decoding the committed fixtures, bad input, partial decodes of long files, and encoding round
//! trips. Fixture provenance: fixtures/README.md.

use std::path::{Path, PathBuf};

use dsp::{decode_file, write_audio, DecodeOptions, EncodeOptions, StftConfig, StftPlan};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}

fn decode(p: &Path) -> dsp::Decoded {
    decode_file(p, &DecodeOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Frequency (Hz) of the strongest bin in the middle frame at 22050 Hz.
fn peak_hz(x: &[f32]) -> f32 {
    let mut plan = StftPlan::new(StftConfig::default()).unwrap();
    let mut spec = dsp::ComplexSpec::zeros(0, 0);
    plan.forward(x, &mut spec).unwrap();
    let mag = spec.magnitude();
    let row = mag.frame(mag.frames / 2);
    let k = row
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    k as f32 * 22050.0 / 1024.0
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

#[test]
fn every_fixture_format_decodes_to_22050_mono_with_the_right_length() {
    // (file, source rate, channels, seconds, expected tone in Hz or 0 for none)
    let cases = [
        ("sine440_44k1_s16.wav", 44100, 1, 1.0, 440.0),
        ("chirp_48k_s24_stereo.wav", 48000, 2, 1.0, 0.0),
        ("sine1k_32k_f32.wav", 32000, 1, 1.0, 1000.0),
        ("sine440_22k05.flac", 22050, 1, 1.0, 440.0),
        ("sine440_44k1_stereo.ogg", 44100, 2, 1.0, 440.0),
        ("drum_loop_44k1.wav", 44100, 1, 2.0, 0.0),
        ("drum_loop_48k_stereo.flac", 48000, 2, 2.0, 0.0),
        ("drum_loop_44k1.mp3", 44100, 1, 2.0, 0.0),
        ("drum_loop_tagged.mp3", 44100, 1, 2.0, 0.0),
    ];
    for (name, rate, channels, seconds, tone) in cases {
        let d = decode(&fixture(name));
        assert_eq!(d.sample_rate, 22050, "{name}");
        assert_eq!(d.source_rate, rate, "{name}");
        assert_eq!(d.source_channels, channels, "{name}");
        let expected = (seconds * 22050.0) as usize;
        // MP3 keeps its encoder delay/padding unless the gapless info trims it: one frame slack.
        // Lossy codecs may keep part of their encoder delay/padding: allow one codec frame.
        let slack = if name.ends_with(".mp3") || name.ends_with(".ogg") {
            1152
        } else {
            1
        };
        assert!(
            d.samples.len().abs_diff(expected) <= slack,
            "{name}: {} samples, expected {expected}",
            d.samples.len()
        );
        assert!(d.warnings.is_empty(), "{name}: {:?}", d.warnings);
        assert!(rms(&d.samples) > 0.05, "{name} decodes to near silence");
        if tone > 0.0 {
            // Within one bin (21.5 Hz) of the tone; amplitude 0.5 gives RMS 0.354.
            assert!(
                (peak_hz(&d.samples) - tone).abs() < 22.0,
                "{name}: peak at {} Hz",
                peak_hz(&d.samples)
            );
            assert!(
                (rms(&d.samples[2000..20000]) - 0.3536).abs() < 0.01,
                "{name}: rms {}",
                rms(&d.samples)
            );
        }
    }
}

#[test]
fn mp3_matches_the_wav_it_was_encoded_from() {
    let wav = decode(&fixture("drum_loop_44k1.wav"));
    let mp3 = decode(&fixture("drum_loop_44k1.mp3"));
    let tagged = decode(&fixture("drum_loop_tagged.mp3"));
    assert_eq!(
        mp3.samples, tagged.samples,
        "ID3 tag and cover art must not change the audio"
    );
    // The declared tempo: ID3 TBPM in the tagged MP3, a Vorbis BPM comment in the FLAC;
    // files without one declare none.
    assert_eq!(tagged.tagged_bpm, Some(120.0));
    assert_eq!(
        decode(&fixture("drum_loop_48k_stereo.flac")).tagged_bpm,
        Some(120.0)
    );
    assert_eq!(mp3.tagged_bpm, None);
    assert_eq!(wav.tagged_bpm, None);
    // Best alignment within a frame, then the error is codec noise only.
    let n = 40000;
    let best = (0..1200)
        .map(|lag| {
            let e: f32 = wav.samples[..n]
                .iter()
                .zip(&mp3.samples[lag..lag + n])
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            (e / n as f32).sqrt()
        })
        .fold(f32::INFINITY, f32::min);
    assert!(best < 0.1 * rms(&wav.samples[..n]), "mp3 error rms {best}");
}

#[test]
fn cancelling_stereo_falls_back_to_one_channel_with_a_warning() {
    let d = decode(&fixture("cancel_stereo_44k1.wav"));
    assert!(
        rms(&d.samples) > 0.3,
        "became silence: rms {}",
        rms(&d.samples)
    );
    assert!(
        d.warnings.iter().any(|w| w.contains("cancel")),
        "{:?}",
        d.warnings
    );
    // A normal stereo file is a real mix and does not warn.
    assert!(decode(&fixture("drum_loop_48k_stereo.flac"))
        .warnings
        .is_empty());
}

fn err_of(p: &Path) -> String {
    match decode_file(p, &DecodeOptions::default()) {
        Ok(d) => panic!(
            "{} decoded to {} samples, expected an error",
            p.display(),
            d.samples.len()
        ),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_files_give_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.mp3");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "these are my lyrics, not audio\n".repeat(40)).unwrap();
    let image = dir.path().join("cover.mp3");
    let png = dsp::image::encode_rgb_png(4, 4, &[200u8; 48]).unwrap();
    std::fs::write(&image, png).unwrap();
    let folder = dir.path().join("album.mp3");
    std::fs::create_dir(&folder).unwrap();
    let missing = dir.path().join("missing.flac");
    for (p, what) in [
        (&empty, "empty"),
        (&text, "not a recognised audio file"),
        (&image, "not a recognised audio file"),
        (&folder, "directory"),
        (&missing, "No such file"),
    ] {
        let e = err_of(p);
        assert!(e.contains(&p.display().to_string()), "{e}");
        assert!(e.contains(what), "{e}");
        assert!(!e.contains('\n'), "multi-line error: {e}");
    }
}

/// A float WAV holding NaN, infinite or absurd sample values is refused as corrupt (NaN once
/// flowed through to a silent 120 BPM reading, or to the MP3 encoder, which aborted); values a
/// little over full scale are audio and decode.
#[test]
fn float_files_with_values_that_are_not_audio_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bad: Option<f32>, level: f32| {
        let p = dir.path().join(name);
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 22050,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&p, spec).unwrap();
        for i in 0..22050 {
            let v = if i == 5000 { bad.unwrap_or(0.0) } else { 0.0 };
            w.write_sample(v + level * (i as f32 * 0.05).sin()).unwrap();
        }
        w.finalize().unwrap();
        p
    };
    for (name, bad, what) in [
        ("nan.wav", Some(f32::NAN), "samples are NaN or infinite"),
        (
            "inf.wav",
            Some(f32::NEG_INFINITY),
            "samples are NaN or infinite",
        ),
        ("huge.wav", Some(1e20), "beyond the 1000 accepted"),
    ] {
        let e = err_of(&write(name, bad, 0.5));
        assert!(e.contains(name) && e.contains(what), "{e}");
    }
    let hot = decode(&write("hot.wav", None, 2.0));
    let peak = hot.samples.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(peak > 1.5 && peak < 2.5, "{peak}");
}

#[test]
fn truncated_mp3_decodes_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("drum_loop_44k1.mp3")).unwrap();
    let p = dir.path().join("cut.mp3");
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let d = decode(&p);
    let secs = d.seconds();
    assert!((0.8..1.2).contains(&secs), "{secs} s from half a 2 s file");
}

#[test]
fn garbage_in_the_middle_of_an_mp3_is_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(fixture("drum_loop_44k1.mp3")).unwrap();
    // Overwrite 3 kB in the middle with deterministic junk (including fake sync bytes).
    let mid = bytes.len() / 2;
    for (i, b) in bytes[mid..mid + 3000].iter_mut().enumerate() {
        *b = if i % 97 == 0 {
            0xFF
        } else {
            (i * 7919 % 251) as u8
        };
    }
    let p = dir.path().join("damaged.mp3");
    std::fs::write(&p, &bytes).unwrap();
    let d = decode(&p);
    assert!(d.seconds() > 1.0, "only {} s survived", d.seconds());
    assert!(
        d.warnings.iter().any(|w| w.contains("skipped")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn wav_header_claiming_more_data_decodes_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("sine440_44k1_s16.wav")).unwrap();
    let p = dir.path().join("short.wav");
    // Keep the header (which promises 1 s) and only a quarter of the data.
    std::fs::write(&p, &bytes[..44 + 88200 / 4]).unwrap();
    let d = decode(&p);
    assert!((d.seconds() - 0.25).abs() < 0.01, "{}", d.seconds());
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("header promises") && w.contains("0.75 s skipped")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn long_file_part_is_decoded_from_the_right_place() {
    // 25 minutes of 8 kHz WAV whose level encodes the second: 0.01 * (second mod 50).
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("long.wav");
    let rate = 8000u32;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&p, spec).unwrap();
    for s in 0..25 * 60 {
        let v = (0.01 * (s % 50) as f32 * 32767.0) as i16;
        for _ in 0..rate {
            w.write_sample(v).unwrap();
        }
    }
    w.finalize().unwrap();
    let opts = DecodeOptions {
        offset_seconds: 1207.0,
        max_seconds: Some(3.0),
        ..Default::default()
    };
    let d = decode_file(&p, &opts).unwrap();
    assert_eq!(d.samples.len(), 3 * 22050);
    // Seconds 1207, 1208, 1209 hold levels 0.07, 0.08, 0.09.
    for (i, level) in [0.07f32, 0.08, 0.09].iter().enumerate() {
        let v = d.samples[i * 22050 + 11025];
        assert!(
            (v - level).abs() < 2e-3,
            "second {}: {v} vs {level}",
            1207 + i
        );
    }
    // An offset past the end is an error, not a panic or an empty success.
    let past = DecodeOptions {
        offset_seconds: 99999.0,
        max_seconds: Some(3.0),
        ..Default::default()
    };
    assert!(decode_file(&p, &past).is_err());
}

#[test]
fn encoders_round_trip_with_length_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let x: Vec<f32> = (0..66150)
        .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 22050.0).sin())
        .collect();
    // (file, options, length slack, level tolerance): LAME itself lowers this tone's RMS by
    // about 6% at 22050 Hz (the lame command-line tool does the same).
    for (name, opts, slack, tol) in [
        ("a.wav", EncodeOptions::default(), 0, 0.002),
        (
            "b.wav",
            EncodeOptions {
                wav_float: true,
                ..Default::default()
            },
            0,
            0.002,
        ),
        ("c.mp3", EncodeOptions::default(), 1152, 0.03),
    ] {
        let p = dir.path().join(name);
        write_audio(&p, &x, 22050, &opts).unwrap();
        let d = decode(&p);
        assert_eq!(d.source_rate, 22050, "{name}");
        assert!(
            d.samples.len().abs_diff(x.len()) <= slack,
            "{name}: {}",
            d.samples.len()
        );
        assert!((peak_hz(&d.samples) - 440.0).abs() < 22.0, "{name}");
        assert!(
            (rms(&d.samples[5000..60000]) - 0.3536).abs() < tol,
            "{name}: rms {}",
            rms(&d.samples)
        );
    }
    // 16-bit PCM is exact to a quantisation step.
    let d = decode(&dir.path().join("a.wav"));
    let err = x
        .iter()
        .zip(&d.samples)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(err <= 1.0 / 32767.0 + 1e-6, "{err}");
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    // Unknown extension: a clear error.
    let e = write_audio(
        &dir.path().join("x.ogg"),
        &x,
        22050,
        &EncodeOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("x.ogg") && e.contains("unsupported output format"),
        "{e}"
    );
}
