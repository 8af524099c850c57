//! Criterion benchmarks on the DSP work unit: a 3.0 s mono clip at
//! 22050 Hz, n_fft 1024, hop 256 (259 frames x 513 bins), Griffin-Lim with momentum 0.99.
//! Run: `cargo bench -p dsp` (threads: RAYON_NUM_THREADS, default all cores).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use dsp::{ComplexSpec, GriffinLim, GriffinLimConfig, PhaseInit, StftConfig, StftPlan};

/// The work-unit clip: a synthetic beat (decaying kick tones, noise hats) plus a chord.
fn clip() -> Vec<f32> {
    let sr = 22050.0f32;
    let mut state = 12345u32;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as f32 / u32::MAX as f32 * 2.0 - 1.0
    };
    (0..66150)
        .map(|i| {
            let t = i as f32 / sr;
            let beat = (t * 2.0).fract() / 2.0;
            let eighth = (t * 4.0).fract() / 4.0;
            let kick = (2.0 * std::f32::consts::PI * (50.0 + 120.0 * (-beat * 40.0).exp()) * beat)
                .sin()
                * (-beat * 10.0).exp();
            let hat = noise() * (-eighth * 60.0).exp() * 0.3;
            let chord: f32 = [220.0f32, 277.2, 329.6]
                .iter()
                .map(|f| (2.0 * std::f32::consts::PI * f * t).sin())
                .sum();
            0.6 * kick + hat + 0.05 * chord
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let x = clip();
    let cfg = StftConfig::default();
    let mut plan = StftPlan::new(cfg).unwrap();
    let mut spec = ComplexSpec::zeros(0, 0);
    plan.forward(&x, &mut spec).unwrap();
    let mag = spec.magnitude();

    c.bench_function("stft 3s (259x513)", |b| {
        b.iter(|| plan.forward(&x, &mut spec).unwrap())
    });
    let mut y = vec![0.0f32; x.len()];
    c.bench_function("istft 3s (259x513)", |b| {
        b.iter(|| plan.inverse(&spec, &mut y).unwrap())
    });

    let mut gl = GriffinLim::new(cfg).unwrap();
    for (name, iters, init) in [
        ("griffin-lim 1 iteration", 1, PhaseInit::Random),
        ("griffin-lim 32 iterations", 32, PhaseInit::Random),
        ("griffin-lim 100 iterations", 100, PhaseInit::Random),
        ("griffin-lim pghi + 32 iterations", 32, PhaseInit::Pghi),
        ("pghi only", 0, PhaseInit::Pghi),
    ] {
        let gcfg = GriffinLimConfig {
            iterations: iters,
            init,
            ..Default::default()
        };
        c.bench_function(name, |b| {
            b.iter_batched(
                || (),
                |_| gl.run(&mag, &gcfg, &mut y).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }

    // The output limiter on the clip made 12 dB too loud (every hit limited), as a loop.
    let loud: Vec<f32> = x.iter().map(|v| v * 4.0).collect();
    let limiter = dsp::limiter::Limiter::default();
    c.bench_function("limiter 3s (cyclic, hits 12 dB over)", |b| {
        b.iter_batched(
            || loud.clone(),
            |mut v| limiter.apply(&mut v, 22050, true),
            BatchSize::SmallInput,
        )
    });
}

criterion_group! {
    name = dsp_benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(dsp_benches);
