//! `beatgen spec-dump IN OUT.png`

use anyhow::Context;
use dsp::spectrogram::{log_spectrogram, FLOOR_DB};
use dsp::{StftConfig, StftPlan};
use serde_json::json;

use crate::cli::SpecDumpArgs;

pub fn run(a: SpecDumpArgs) -> anyhow::Result<()> {
    let decoded = super::decode_part(&a.input, a.part.offset, a.seconds)?;
    let mut plan = StftPlan::new(StftConfig::default())?;
    let db = log_spectrogram(&mut plan, &decoded.samples)?;
    dsp::image::write_spectrogram_png(&a.output, &db, FLOOR_DB, 0.0)
        .with_context(|| format!("writing {}", a.output.display()))?;
    if a.json {
        super::print_json(&json!({
            "input": a.input, "output": a.output, "seconds": decoded.seconds(),
            "frames": db.frames, "bins": db.bins, "source_rate": decoded.source_rate,
            "source_channels": decoded.source_channels,
        }))
    } else {
        println!(
            "{}: {:.2} s -> {} ({} x {} px, {} Hz {}ch source)",
            a.input.display(),
            decoded.seconds(),
            a.output.display(),
            db.frames,
            db.bins,
            decoded.source_rate,
            decoded.source_channels
        );
        Ok(())
    }
}
