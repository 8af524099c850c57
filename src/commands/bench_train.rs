//! Hidden `beatgen bench-train`: the training unit of ../shared/DESIGN.md on random data.

use std::time::Instant;

use serde_json::json;

use crate::cli::BenchTrainArgs;
use crate::vae::{AdamConfig, AdamState, Vae, VaeConfig, Workspace};
use dsp::rng::SplitMix64;

/// Peak resident memory of this process in MB (Linux `VmHWM`), if known.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn run(a: BenchTrainArgs) -> anyhow::Result<()> {
    let cfg = VaeConfig::new(128 * 259, 5);
    let mut vae = Vae::new(cfg.clone(), 0);
    let mut adam = AdamState::new(&vae);
    let acfg = AdamConfig {
        clip_norm: Some(1000.0),
        ..Default::default()
    };
    let b = a.batch_size.max(1);
    let mut ws = Workspace::new(&cfg, b);
    let mut rng = SplitMix64::new(0);
    let clip: Vec<f32> = (0..cfg.input_dim).map(|_| rng.normal()).collect();
    for col in 0..b {
        ws.set_sample(col, &clip, col % cfg.n_genres);
    }
    let mut step = |ws: &mut Workspace, rng: &mut SplitMix64| {
        ws.sample_eps(rng);
        vae.forward_backward(ws, 1.0);
        adam.apply(&mut vae, &acfg);
    };
    for _ in 0..3 {
        step(&mut ws, &mut rng);
    }
    let mut rates: Vec<f64> = (0..a.windows.max(1))
        .map(|_| {
            let t = Instant::now();
            for _ in 0..a.steps.max(1) {
                step(&mut ws, &mut rng);
            }
            (a.steps.max(1) * b) as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let rate = rates[rates.len() / 2];
    let peak = peak_rss_mb();
    if a.json {
        return super::print_json(
            &json!({"samples_per_second": rate, "peak_mb": peak, "threads": rayon::current_num_threads()}),
        );
    }
    println!(
        "{rate:.0} samples/s (batch {b}, {} threads), peak memory {:.0} MB",
        rayon::current_num_threads(),
        peak.unwrap_or(f64::NAN)
    );
    Ok(())
}
