//! Criterion benchmark of the training unit: the default VAE on the default representation
//! (latent 64, 5 genres), and the MLP of the first version for comparison, batch 32, one
//! optimiser step (forward, backward, Adam) on random standardised data.
//! Run: `cargo bench --bench training` (threads: RAYON_NUM_THREADS, default all cores).

use beatgen::dataset::features::FeatureConfig;
use beatgen::vae::{
    AdamConfig, AdamState, Architecture, Objective, ReconLoss, Vae, VaeConfig, Workspace,
};
use criterion::{criterion_group, criterion_main, Criterion};
use dsp::rng::SplitMix64;

fn bench(c: &mut Criterion) {
    let f = FeatureConfig::default();
    for (name, arch) in [
        ("conv (default)", Architecture::default()),
        (
            "mlp 512/256",
            Architecture::Mlp {
                hidden: vec![512, 256],
            },
        ),
    ] {
        let cfg = VaeConfig::new(f.frames(), f.bands(), 5, 64, &arch);
        let mut vae = Vae::new(cfg.clone(), &mut SplitMix64::new(0)).unwrap();
        let mut adam = AdamState::new(&vae);
        let acfg = AdamConfig {
            clip_norm: beatgen::model_dir::TrainOptions::default().clip_norm,
            ..Default::default()
        };
        let obj = Objective::default();
        let mut ws = Workspace::new(&vae, 32);
        let mut rng = SplitMix64::new(1);
        let clip: Vec<f32> = (0..cfg.clip_len()).map(|_| rng.normal()).collect();
        for b in 0..32 {
            ws.set_sample(b, &clip, b % 5);
        }
        ws.sample_eps(&mut rng);
        let mut g = c.benchmark_group(format!(
            "training unit {name} (batch 32, {} parameters)",
            vae.parameter_count()
        ));
        g.sample_size(10);
        g.bench_function("forward", |b| {
            b.iter(|| vae.forward(&mut ws, true, ReconLoss::Mse))
        });
        g.bench_function("forward + backward", |b| {
            b.iter(|| vae.forward_backward(&mut ws, &obj))
        });
        g.bench_function("adam step", |b| b.iter(|| adam.apply(&mut vae, &acfg)));
        g.bench_function("full step", |b| {
            b.iter(|| {
                vae.forward_backward(&mut ws, &obj);
                adam.apply(&mut vae, &acfg)
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
