//! Criterion benchmark of the training unit (../shared/DESIGN.md): the default VAE (input 128
//! bands x 259 frames = 33,152 values, hidden 512/256, latent 64, 5 genres), batch 32, one
//! optimiser step (forward, backward, Adam) on random standardised data.
//! Run: `cargo bench --bench training` (threads: RAYON_NUM_THREADS, default all cores).

use beatgen::vae::{AdamConfig, AdamState, Vae, VaeConfig, Workspace};
use criterion::{criterion_group, criterion_main, Criterion};
use dsp::rng::SplitMix64;

fn bench(c: &mut Criterion) {
    let cfg = VaeConfig::new(33152, 5);
    let mut vae = Vae::new(cfg.clone(), 0);
    let mut adam = AdamState::new(&vae);
    let acfg = AdamConfig {
        clip_norm: Some(1000.0),
        ..Default::default()
    };
    let mut ws = Workspace::new(&cfg, 32);
    let mut rng = SplitMix64::new(1);
    let clip: Vec<f32> = (0..33152).map(|_| rng.normal()).collect();
    for b in 0..32 {
        ws.set_sample(b, &clip, b % 5);
    }
    ws.sample_eps(&mut rng);
    let mut g = c.benchmark_group("training unit (batch 32)");
    g.sample_size(10);
    g.bench_function("forward", |b| b.iter(|| vae.forward(&mut ws, true)));
    g.bench_function("forward + backward", |b| {
        b.iter(|| vae.forward_backward(&mut ws, 1.0))
    });
    g.bench_function("adam step (34.3M parameters)", |b| {
        b.iter(|| adam.apply(&mut vae, &acfg))
    });
    g.bench_function("full step", |b| {
        b.iter(|| {
            vae.forward_backward(&mut ws, 1.0);
            adam.apply(&mut vae, &acfg)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
