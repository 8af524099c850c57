//! `beatgen eval --model DIR SONGS`

use anyhow::Context;

use crate::cli::EvalArgs;
use crate::eval::report::GAPS_SHOWN;
use crate::eval::{evaluate, EvalOptions, Evaluation, GalleryClips};
use crate::generate::RenderSpec;
use crate::listen_page::{Entry, Page, Section};
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
            temperature: a.temperature,
            postfilter: a.postfilter,
            shaper: a.sustain_cut.into(),
            ..Default::default()
        },
    )?;
    if let Some(out) = &a.out {
        write_out_dir(out, &model, &a, &report, &gallery)?;
    }
    if a.json {
        return super::print_json(&report);
    }
    print!("{}", report.table());
    println!("{}", report.gl_line());
    println!("{}", report.gaps_line(GAPS_SHOWN));
    Ok(())
}

/// `--out DIR`: the spectrograms, projection, `report.md` and the listening page.
fn write_out_dir(
    out: &std::path::Path,
    model: &Model,
    a: &EvalArgs,
    report: &crate::eval::report::EvalReport,
    gallery: &[GalleryClips],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let synth = crate::generate::Synth::new(model)?;
    let grid = model.config.features.grid.is_some();
    let sr = model.config.features.sample_rate;
    let png = |name: String, s: &dsp::Spectrogram| {
        dsp::image::write_spectrogram_png(
            &out.join(name),
            &synth.to_bin_db(s),
            dsp::spectrogram::FLOOR_DB,
            0.0,
        )
    };
    // Per genre: the first generated clip, the first held-out real clip and that clip
    // through the VAE, as pictures and as audio rendered the same way (the real one from
    // its own model bands, so that they differ only by what the VAE does), on the
    // listening page.
    let mut sections = Vec::new();
    for (i, (g, c)) in model.config.genres.iter().zip(gallery).enumerate() {
        let spec = RenderSpec {
            gl: Default::default(),
            bpm: grid.then(|| synth.default_bpm(i)),
            bars: None,
        };
        let mut entries = Vec::new();
        let clips = [
            (
                "generated",
                Some(&c.generated),
                "generated (the first of eval's clips)",
            ),
            (
                "real",
                c.real.as_ref(),
                "held-out real, its model bands rendered like the generated clips",
            ),
            (
                "reconstructed",
                c.reconstructed.as_ref(),
                "the same held-out clip through the encoder and decoder (z = mu): generation with perfect latents",
            ),
        ];
        for (label, s, what) in clips {
            let Some(s) = s else { continue };
            let image = format!("{label}-{g}.png");
            png(image.clone(), s)?;
            let audio = out.join(format!("{label}-{g}.mp3"));
            let r = synth.render(s, &spec)?;
            super::write_clip(&audio, &r.audio, sr, None)?;
            let at = spec
                .bpm
                .map_or(String::new(), |b| format!(" at {b:.1} BPM"));
            entries.push(Entry {
                audio,
                image: Some(out.join(image)),
                caption: format!("{what}; {:.2} s{at}", r.audio.len() as f64 / sr as f64),
                midi: None,
            });
        }
        sections.push(Section {
            title: g.clone(),
            entries,
        });
    }
    let pts: Vec<(f64, f64, usize, bool)> = report
        .projection
        .iter()
        .map(|p| (p.x, p.y, p.genre, p.real))
        .collect();
    crate::plot::scatter_plot(&pts, 640, 480).save(&out.join("projection.png"))?;
    dsp::atomic::write_atomically(&out.join("report.md"), report.markdown().as_bytes())?;
    let page = Page {
        title: format!("beatgen eval: {}", a.model.display()),
        summary: vec![format!(
            "Model {} on {}: the metrics (see report.md), then per genre a generated clip, a held-out real one, and that real one through the VAE.",
            a.model.display(),
            a.songs.display()
        )],
        preformatted: Some(format!(
            "{}{}\n{}\n",
            report.table(),
            report.gl_line(),
            report.gaps_line(GAPS_SHOWN)
        )),
        sections,
    }
    .write(out)?;
    crate::progress::say(format_args!("listen: open {}", page.display()));
    Ok(())
}
