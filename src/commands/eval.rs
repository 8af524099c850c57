//! `beatgen eval --model DIR SONGS`

use anyhow::Context;
use serde_json::Value;

use crate::cli::EvalArgs;
use crate::eval::{evaluate, EvalOptions};
use crate::vae::checkpoint::Model;

fn f(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |x| {
        if x.abs() >= 100.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.2}")
        }
    })
}

/// The summary table: one row per genre and one overall.
fn table(r: &Value) -> String {
    let mut s = String::new();
    s.push_str("| genre | recon LSD dB (mean clip) | classifier: real / generated | FD generated (floor / noise / mean clip) | onset sharpness gen / real / GL / bands+GL | flatness gen / real / GL / bands+GL | tempo gen / real | novelty ratio | diversity ratio |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|\n");
    let mut keys: Vec<String> = r["genres"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect();
    keys.push("overall".into());
    for g in keys {
        let get = |k: &str| {
            if g == "overall" {
                r[k]["overall"].clone()
            } else {
                r[k]["per_genre"][&g].clone()
            }
        };
        let (rc, cl, fd, rh, nv, dv, tr) = (
            get("reconstruction"),
            get("classifier"),
            get("frechet"),
            get("rhythm"),
            get("novelty"),
            get("diversity"),
            get("transients"),
        );
        let three = |m: &Value, fmt: &dyn Fn(&Value) -> String| {
            format!(
                "{} / {} / {} / {}",
                fmt(&m["generated"]),
                fmt(&m["real"]),
                fmt(&m["resynth"]),
                fmt(&m["bands_resynth"])
            )
        };
        let small = |v: &Value| v.as_f64().map_or("-".into(), |x| format!("{x:.4}"));
        s.push_str(&format!(
            "| {g} | {} ({}) | {} / {} | {} ({} / {} / {}) | {} | {} | {} / {} | {} | {} |\n",
            f(&rc["model_lsd_db"]),
            f(&rc["mean_clip_lsd_db"]),
            f(&cl["real_heldout_accuracy"]),
            f(&cl["generated_accuracy"]),
            f(&fd["generated"]),
            f(&fd["floor_train_real"]),
            f(&fd["ceiling_white_noise"]),
            f(&fd["ceiling_mean_clip"]),
            three(&tr["onset_sharpness"], &f),
            three(&tr["flatness"], &small),
            f(&rh["generated"]["tempo_bpm"]["median"]),
            f(&rh["real"]["tempo_bpm"]["median"]),
            f(&nv["ratio"]),
            f(&dv["ratio"]),
        ));
    }
    s
}

pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.count >= 2,
        "--count must be at least 2 (diversity needs pairs)"
    );
    let model = Model::load(&a.model)?;
    let (report, first_specs) = evaluate(
        &model,
        &a.songs,
        &EvalOptions {
            count: a.count,
            seed: a.seed,
            gl_clips: 3,
        },
    )?;
    let gl_line = {
        let mut parts = Vec::new();
        for (g, v) in report["gl"]["per_genre"].as_object().unwrap() {
            parts.push(format!(
                "{g} {}/{} dB",
                f(&v["random_32"]),
                f(&v["pghi_32"])
            ));
        }
        format!(
            "Griffin-Lim SC on held-out clips, random/PGHI at 32 iterations: {}",
            parts.join(", ")
        )
    };
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
        for (g, (generated, real)) in model.config.genres.iter().zip(&first_specs) {
            png(format!("generated-{g}.png"), generated)?;
            if let Some(real) = real {
                png(format!("real-{g}.png"), real)?;
            }
        }
        let pts: Vec<(f64, f64, usize, bool)> = report["projection"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_f64().unwrap_or(0.0),
                    p[1].as_f64().unwrap_or(0.0),
                    p[2].as_u64().unwrap_or(0) as usize,
                    p[3] == "real",
                )
            })
            .collect();
        crate::plot::scatter_plot(&pts, 640, 480).save(&out.join("projection.png"))?;
        let mut md = format!(
            "# beatgen eval\n\nModel `{}` on `{}`: {} held-out real clips, {} generated.\n\n{}\n\n{gl_line}\n\n",
            a.model.display(),
            a.songs.display(),
            report["counts"]["heldout_clips"],
            report["counts"]["generated_clips"],
            table(&report)
        );
        md.push_str("| genre | generated | held-out real |\n|---|---|---|\n");
        for g in &model.config.genres {
            md.push_str(&format!(
                "| {g} | ![generated {g}](generated-{g}.png) | ![real {g}](real-{g}.png) |\n"
            ));
        }
        md.push_str("\n\nFeature projection (first two principal components of the training clips' features; filled: held-out real, hollow: generated; colour: genre):\n\n![projection](projection.png)\n");
        let colours = ["blue", "orange", "green", "red", "purple", "brown"];
        let legend: Vec<String> = model
            .config
            .genres
            .iter()
            .enumerate()
            .map(|(i, g)| format!("{} {g}", colours[i % colours.len()]))
            .collect();
        md.push_str(&format!("\nColours: {}.\n", legend.join(", ")));
        dsp::atomic::write_atomically(&out.join("report.md"), md.as_bytes())?;
    }
    if a.json {
        let mut r = report.clone();
        r.as_object_mut().unwrap().remove("projection");
        return super::print_json(&r);
    }
    print!("{}", table(&report));
    println!("{gl_line}");
    Ok(())
}
