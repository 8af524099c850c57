//! Helpers for the integration tests: run the real binary in a temporary folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Run `beatgen ARGS` in `dir` with no terminal (so no progress bars), and the user's cache
/// directory in `dir/.cache` (so tests never touch the real one).
pub fn beatgen(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_beatgen"))
        .args(args)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .env_remove("RUST_LOG")
        .output()
        .expect("run beatgen")
}

/// The arguments `spec-generate --model m --genre GENRE --out OUT EXTRA...` (the tiny model).
pub fn generate_args<'a>(genre: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "spec-generate",
        "--model",
        "m",
        "--genre",
        genre,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

/// Run and require success; returns stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = beatgen(dir, args);
    assert!(
        out.status.success(),
        "beatgen {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Run and require failure; returns stderr.
pub fn fails(dir: &Path, args: &[&str]) -> String {
    let out = beatgen(dir, args);
    assert!(
        !out.status.success(),
        "beatgen {args:?} should fail but printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not one JSON object ({e}): {s}"))
}

/// (width, height) of a PNG file.
pub fn png_size(p: &Path) -> (u32, u32) {
    let dec = png::Decoder::new(std::fs::File::open(p).unwrap());
    let r = dec.read_info().unwrap();
    (r.info().width, r.info().height)
}

/// The arguments of a tiny convolutional network (for fast tests).
pub const TINY_NET: [&str; 10] = [
    "--bands",
    "16",
    "--channels",
    "8",
    "--conv-layers",
    "2",
    "--kernel",
    "3",
    "--latent",
    "4",
];

/// A tiny corpus (house and lo-fi, 3 songs of 12 s each) and a tiny model `m` trained on it.
pub fn tiny_model(d: &Path) {
    tiny_model_with(d, &[]);
}

/// [`tiny_model`], with `extra` options for `spec-train`.
pub fn tiny_model_with(d: &Path, extra: &[&str]) {
    ok(
        d,
        &[
            "make-corpus",
            "songs",
            "--per-genre",
            "3",
            "--seconds",
            "12",
            "--genres",
            "house,lo-fi",
            "--seed",
            "4",
        ],
    );
    let mut args = vec![
        "spec-train",
        "songs",
        "--model",
        "m",
        "--batch-size",
        "4",
        "--epochs",
        "2",
    ];
    args.extend_from_slice(&TINY_NET);
    args.extend_from_slice(extra);
    ok(d, &args);
}

/// Write `x` (mono, clamped to [-1, 1]) as a 16-bit WAV at `sample_rate`.
pub fn write_wav(path: &Path, sample_rate: u32, x: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &v in x {
        w.write_sample((v.clamp(-1.0, 1.0) * 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}
