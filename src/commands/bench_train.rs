//! Hidden `beatgen bench-train`: the training unit (the default network, or `--arch mlp`, on
//! the default representation, batch 32) on random data, for `bench/training.py`.

use std::time::Instant;

use serde_json::json;

use crate::cli::BenchTrainArgs;
use crate::dataset::features::FeatureConfig;
use crate::vae::shards::ShardedStep;
use crate::vae::{AdamConfig, AdamState, Objective, Vae, VaeConfig};
use dsp::rng::SplitMix64;

/// Peak resident memory of this process in MB (Linux `VmHWM`), if known.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn run(a: BenchTrainArgs) -> anyhow::Result<()> {
    let f = FeatureConfig::default();
    let cfg = VaeConfig::new(
        f.frames(),
        f.bands(),
        crate::corpus::Genre::ALL.len(), // the bundled corpus's genres
        a.net.latent,
        &a.net.architecture()?,
    );
    let mut vae = Vae::new(cfg.clone(), &mut SplitMix64::new(0))?;
    let b = a.batch_size.max(1);
    crate::train::check_training_memory(&vae, b)?;
    let mut adam = AdamState::new(&vae);
    let acfg = AdamConfig {
        clip_norm: crate::model_dir::TrainOptions::default().clip_norm,
        ..Default::default()
    };
    let mut shards = ShardedStep::new(&vae, b);
    let mut rng = SplitMix64::new(0);
    let clip: Vec<f32> = (0..cfg.clip_len()).map(|_| rng.normal()).collect();
    for col in 0..b {
        let (ws, c) = shards.locate(col);
        ws.set_sample(c, &clip, col % cfg.n_genres);
    }
    let mut step = |shards: &mut ShardedStep, rng: &mut SplitMix64| {
        shards.sample_eps(rng);
        shards.forward_backward(&mut vae, &Objective::default());
        adam.apply_with_norm(&mut vae, &acfg, shards.grad_norm());
    };
    for _ in 0..3 {
        step(&mut shards, &mut rng);
    }
    let mut rates: Vec<f64> = (0..a.windows.max(1))
        .map(|_| {
            let t = Instant::now();
            for _ in 0..a.steps.max(1) {
                step(&mut shards, &mut rng);
            }
            (a.steps.max(1) * b) as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let rate = rates[rates.len() / 2];
    let peak = peak_rss_mb();
    if a.json {
        return super::print_json(
            &json!({"samples_per_second": rate, "peak_mb": peak, "threads": rayon::current_num_threads(), "parameters": vae.parameter_count(), "network": &vae.cfg, "batch": b}),
        );
    }
    println!(
        "{rate:.0} samples/s (batch {b}, {} threads), peak memory {:.0} MB",
        rayon::current_num_threads(),
        peak.unwrap_or(f64::NAN)
    );
    Ok(())
}
