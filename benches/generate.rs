//! Criterion benchmark of one generated clip, latent to MP3 file, split into its stages:
//! decoder (the default network on the default representation: 2 bars, 256 frames x 128
//! bands), rendering (the bar grid mapped to 120 BPM, PGHI + 32 Griffin-Lim iterations, the
//! spec-generate default, 2 bars = 4 s), and MP3 encoding + atomic write. The weights are
//! random (the time does not depend on their values); the output goes through an output
//! calibration (identity maps: its cost does not depend on the knots either), is
//! denormalised to a realistic dB range and goes through the spectral postfilter (strength 1);
//! rendering goes through a spectral detail of made-up weights (its cost does not depend on
//! them either).
//! Run: `cargo bench --bench generate`.

use beatgen::calibration::Calibration;
use beatgen::dataset::features::{FeatureConfig, Normalization};
use beatgen::detail::SpectralDetail;
use beatgen::generate::{RenderSpec, Synth};
use beatgen::model_dir::{Model, ModelConfig, TrainOptions, FORMAT_VERSION};
use beatgen::vae::{Architecture, Vae, VaeConfig};
use criterion::{criterion_group, criterion_main, Criterion};
use dsp::{GriffinLimConfig, PhaseInit};
use ndarray::Array2;

fn bench(c: &mut Criterion) {
    let features = FeatureConfig::default();
    let vae_cfg = VaeConfig::new(
        features.frames(),
        features.bands(),
        5,
        64,
        &Architecture::default(),
    );
    let bands = features.bands();
    let config = ModelConfig {
        format_version: FORMAT_VERSION,
        features: features.clone(),
        vae: vae_cfg.clone(),
        genres: ["boom-bap", "drill", "house", "lo-fi", "trap"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        normalization: Normalization {
            mean: vec![-45.0; bands],
            std: vec![12.0; bands],
        },
        training: TrainOptions::default(),
        songs_dir: "songs".into(),
        genre_tempi: vec![None; 5],
        genre_latent: Vec::new(),
    };
    let mut calibration = Calibration::new(bands);
    for _ in 0..5 {
        calibration.push_genre(&[], &[]);
    }
    calibration.postfilter = Some(vec![1.0; 5]);
    let model = Model {
        config,
        vae: Vae::new(vae_cfg, &mut dsp::rng::SplitMix64::new(0)).unwrap(),
        calibration: Some(calibration),
        detail: Some(SpectralDetail {
            weights: Array2::from_shape_fn((bands + 1, features.bins()), |(b, k)| {
                ((b * 31 + k * 17) % 11) as f32 * 0.01 - 0.05
            }),
        }),
        dir: ".".into(),
    };
    let synth = Synth::new(&model).unwrap();
    let z = Array2::from_shape_fn((64, 1), |(i, _)| ((i * 7 % 13) as f32 - 6.0) / 6.0);
    let genre = synth.one_hot(&[4]);
    let gl = RenderSpec {
        gl: GriffinLimConfig {
            iterations: 32,
            init: PhaseInit::Pghi,
            ..Default::default()
        },
        bpm: Some(120.0),
        bars: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clip.mp3");
    let spec = synth.decode(&z, &genre).remove(0);
    let audio = synth.render(&spec, &gl).unwrap().audio;

    let mut g = c.benchmark_group("one 2-bar clip at 120 BPM (4 s)");
    g.sample_size(20);
    g.bench_function("decoder", |b| b.iter(|| synth.decode(&z, &genre)));
    g.bench_function("postfilter (part of the decoder stage)", |b| {
        b.iter(|| {
            let mut v = spec.data.clone();
            beatgen::postfilter::sharpen(&mut v, bands, 1.0);
            v
        })
    });
    g.bench_function("transient shaper (part of the decoder stage)", |b| {
        b.iter(|| {
            let mut v = spec.data.clone();
            synth.shaper.apply(&mut v, synth.fx.band_centres_hz());
            v
        })
    });
    g.bench_function(
        "spectral detail of the 256 grid frames (part of rendering)",
        |b| b.iter(|| synth.to_bin_db(&spec)),
    );
    g.bench_function("render: grid to 120 BPM + griffin-lim (pghi + 32)", |b| {
        b.iter(|| synth.render(&spec, &gl).unwrap())
    });
    g.bench_function("mp3 encode + write", |b| {
        b.iter(|| dsp::write_audio(&out, &audio, 22050, &dsp::EncodeOptions::default()).unwrap())
    });
    g.bench_function("latent to mp3 file (total)", |b| {
        b.iter(|| {
            let s = synth.decode(&z, &genre).remove(0);
            let a = synth.render(&s, &gl).unwrap().audio;
            dsp::write_audio(&out, &a, 22050, &dsp::EncodeOptions::default()).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
