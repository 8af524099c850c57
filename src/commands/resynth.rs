//! `beatgen resynth IN OUT`: the magnitude-only round trip through Griffin-Lim.

use std::time::Instant;

use anyhow::Context;
use dsp::{ComplexSpec, EncodeOptions, GriffinLim, GriffinLimConfig, StftConfig, StftPlan};
use serde_json::json;

use crate::cli::ResynthArgs;

pub fn run(a: ResynthArgs) -> anyhow::Result<()> {
    dsp::AudioFormat::from_path(&a.output)?;
    let decoded = super::decode_part(&a.input, a.part.offset, Some(a.seconds))?;
    let stft = StftConfig {
        pad: a.pad,
        ..Default::default()
    };
    let mut plan = StftPlan::new(stft)?;
    let mut spec = ComplexSpec::zeros(0, 0);
    plan.forward(&decoded.samples, &mut spec)?;
    let mag = spec.magnitude();
    let cfg = GriffinLimConfig {
        iterations: a.iters,
        momentum: a.momentum,
        init: a.init,
        seed: a.seed,
    };
    let mut gl = GriffinLim::new(stft)?;
    let mut y = vec![0.0; decoded.samples.len()];
    let mut times = Vec::with_capacity(a.repeat as usize);
    let mut sc = 0.0;
    for _ in 0..a.repeat {
        let start = Instant::now();
        sc = gl.run(&mag, &cfg, &mut y)?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let gl_seconds = times[times.len() / 2];
    // Written at the input's level, peaks above the ceiling limited (as generated audio is).
    crate::generate::output_limiter().apply(&mut y, decoded.sample_rate, false);
    dsp::write_audio(
        &a.output,
        &y,
        decoded.sample_rate,
        &EncodeOptions::default(),
    )
    .with_context(|| format!("writing {}", a.output.display()))?;
    if a.json {
        super::print_json(&json!({
            "input": a.input, "output": a.output, "spectral_convergence_db": sc,
            "iterations": a.iters, "init": a.init.to_string(), "momentum": (a.momentum as f64 * 1e6).round() / 1e6,
            "gl_seconds": gl_seconds, "audio_seconds": decoded.seconds(), "frames": mag.frames,
        }))
    } else {
        println!(
            "{} -> {}: spectral convergence {sc:.2} dB after {} iterations ({} init) in {:.3} s for {:.2} s of audio",
            a.input.display(),
            a.output.display(),
            a.iters,
            a.init,
            gl_seconds,
            decoded.seconds()
        );
        Ok(())
    }
}
