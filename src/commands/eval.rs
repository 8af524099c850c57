//! `beatgen eval --model DIR SONGS`

use anyhow::Context;

use crate::cli::EvalArgs;
use crate::eval::{evaluate, EvalOptions, Evaluation};
use crate::model_dir::Model;

pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.count >= 2,
        "--count must be at least 2 (diversity needs pairs)"
    );
    let model = Model::load(&a.model)?;
    let Evaluation { report, gallery } = evaluate(
        &model,
        &a.songs,
        &EvalOptions {
            count: a.count,
            seed: a.seed,
            ..Default::default()
        },
    )?;
    if let Some(out) = &a.out {
        std::fs::create_dir_all(out)
            .with_context(|| format!("{}: cannot create", out.display()))?;
        let synth = crate::generate::Synth::new(&model)?;
        let png = |name: String, s: &dsp::Spectrogram| {
            dsp::image::write_spectrogram_png(
                &out.join(name),
                &synth.to_bin_db(s),
                dsp::spectrogram::FLOOR_DB,
                0.0,
            )
        };
        for (g, (generated, real)) in model.config.genres.iter().zip(&gallery) {
            png(format!("generated-{g}.png"), generated)?;
            if let Some(real) = real {
                png(format!("real-{g}.png"), real)?;
            }
        }
        let pts: Vec<(f64, f64, usize, bool)> = report
            .projection
            .iter()
            .map(|p| (p.x, p.y, p.genre, p.real))
            .collect();
        crate::plot::scatter_plot(&pts, 640, 480).save(&out.join("projection.png"))?;
        dsp::atomic::write_atomically(&out.join("report.md"), report.markdown().as_bytes())?;
    }
    if a.json {
        return super::print_json(&report);
    }
    print!("{}", report.table());
    println!("{}", report.gl_line());
    Ok(())
}
