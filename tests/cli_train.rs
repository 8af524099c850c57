//! `spec-train` through the real binary on a tiny corpus and a tiny network: exact resume,
//! incompatible resume, damaged model directories, NaN guard.

mod common;
use common::*;

use std::path::Path;

/// A tiny network and batch (the latent is given separately by the tests that change it).
const SMALL: [&str; 10] = [
    "--bands",
    "16",
    "--channels",
    "8",
    "--conv-layers",
    "2",
    "--kernel",
    "3",
    "--batch-size",
    "8",
];

fn corpus(dir: &Path) {
    ok(
        dir,
        &[
            "make-corpus",
            "songs",
            "--per-genre",
            "3",
            "--seconds",
            "12",
            "--genres",
            "trap,lo-fi",
            "--seed",
            "3",
        ],
    );
}

/// `spec-train --resume` of `model` (4 epochs) with the tiny network but the given latent
/// size, channels and batch size; it must fail: returns stderr.
fn resume_fails(dir: &Path, model: &str, latent: &str, channels: &str, batch: &str) -> String {
    fails(
        dir,
        &[
            "spec-train",
            "songs",
            "--model",
            model,
            "--bands",
            "16",
            "--channels",
            channels,
            "--conv-layers",
            "2",
            "--kernel",
            "3",
            "--latent",
            latent,
            "--batch-size",
            batch,
            "--epochs",
            "4",
            "--resume",
        ],
    )
}

fn train(dir: &Path, model: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["spec-train", "songs", "--model", model, "--latent", "4"];
    args.extend_from_slice(&SMALL);
    args.extend_from_slice(extra);
    beatgen(dir, &args)
}

#[test]
fn interrupted_and_resumed_run_ends_with_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    corpus(d);
    let full = train(d, "full", &["--epochs", "3", "--json"]);
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    let v = json(&String::from_utf8(full.stdout).unwrap());
    // Every epoch takes the whole batches of the training clips.
    let info = json(&ok(
        d,
        &["dataset-info", "songs", "--bands", "16", "--json"],
    ));
    let per_epoch = info["clips_train"].as_u64().unwrap() / 8;
    assert!(per_epoch >= 1, "{info}");
    assert_eq!(
        (v["epochs"].as_u64(), v["steps"].as_u64()),
        (Some(3), Some(3 * per_epoch))
    );
    assert!(
        v["val_recon"].as_f64().unwrap().is_finite()
            && v["baseline_val_recon"].as_f64().unwrap() > 0.0,
        "{v}"
    );
    assert!(train(d, "part", &["--epochs", "1"]).status.success());
    let resumed = train(d, "part", &["--epochs", "3", "--resume"]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    for f in [
        "weights.safetensors",
        "checkpoint.safetensors",
        "calibration.safetensors",
        "detail.safetensors",
        "loss.csv",
    ] {
        let (a, b) = (
            std::fs::read(d.join("full").join(f)).unwrap(),
            std::fs::read(d.join("part").join(f)).unwrap(),
        );
        if f == "loss.csv" {
            // Timings differ; every loss value must not.
            let strip = |s: &[u8]| -> Vec<String> {
                String::from_utf8_lossy(s)
                    .lines()
                    .map(|l| {
                        let c: Vec<&str> = l.split(',').collect();
                        [&c[..6], &c[7..]].concat().join(",").to_string()
                    })
                    .collect()
            };
            assert_eq!(strip(&a), strip(&b));
        } else {
            // Tensors after the header (the checkpoint's metadata also records timings).
            let data = |s: &[u8]| {
                s[8 + u64::from_le_bytes(s[..8].try_into().unwrap()) as usize..].to_vec()
            };
            assert!(
                data(&a) == data(&b),
                "{f}: tensors differ between the uninterrupted and the resumed run"
            );
        }
    }
    let csv = std::fs::read_to_string(d.join("full/loss.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert_eq!(png_size(&d.join("full/loss.png")), (640, 360));
    // No temporary files are left in the model directory.
    assert!(std::fs::read_dir(d.join("full")).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with('.')));

    // A resume with a different architecture or option names the field.
    let err = resume_fails(d, "part", "6", "8", "8");
    assert!(
        err.contains("cannot resume part") && err.contains("latent (saved 4, now 6)"),
        "{err}"
    );
    let err = resume_fails(d, "part", "4", "6", "8");
    assert!(err.contains("architecture"), "{err}");
    let err = resume_fails(d, "part", "4", "8", "4");
    assert!(err.contains("batch-size (saved 8, now 4)"), "{err}");
    // Training into an existing model without --resume is refused.
    let err = String::from_utf8(train(d, "full", &["--epochs", "1"]).stderr).unwrap();
    assert!(err.contains("already holds a model"), "{err}");
}

#[test]
fn damaged_model_directories_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    corpus(d);
    assert!(train(d, "m", &["--epochs", "1"]).status.success());
    let resume = |d: &Path| {
        let mut args = vec![
            "spec-train",
            "songs",
            "--model",
            "m",
            "--epochs",
            "2",
            "--resume",
            "--latent",
            "4",
        ];
        args.extend_from_slice(&SMALL);
        fails(d, &args)
    };
    // Corrupt checkpoint.
    let ck = d.join("m/checkpoint.safetensors");
    let good = std::fs::read(&ck).unwrap();
    std::fs::write(&ck, &good[..good.len() / 2]).unwrap();
    let err = resume(d);
    assert!(
        err.contains("checkpoint.safetensors") && err.contains("not a valid safetensors file"),
        "{err}"
    );
    std::fs::remove_file(&ck).unwrap();
    let err = resume(d);
    assert!(
        err.contains("checkpoint.safetensors") && err.contains("cannot read"),
        "{err}"
    );
    std::fs::write(&ck, &good).unwrap();
    // A damaged output calibration stops generation with the file named; without the file the
    // model decodes uncalibrated.
    let cal = d.join("m/calibration.safetensors");
    let good_cal = std::fs::read(&cal).unwrap();
    std::fs::write(&cal, &good_cal[..good_cal.len() / 2]).unwrap();
    let generate = generate_args("trap", "g", &["--count", "1"]);
    let err = fails(d, &generate);
    assert!(
        err.contains("calibration.safetensors") && err.contains("not a valid safetensors file"),
        "{err}"
    );
    std::fs::remove_file(&cal).unwrap();
    ok(d, &generate);
    std::fs::write(&cal, &good_cal).unwrap();
    // The same for the spectral detail: without it the bands render through their smooth
    // inverse.
    let detail = d.join("m/detail.safetensors");
    let good_detail = std::fs::read(&detail).unwrap();
    std::fs::write(&detail, &good_detail[..good_detail.len() / 2]).unwrap();
    let err = fails(d, &generate);
    assert!(
        err.contains("detail.safetensors") && err.contains("not a valid safetensors file"),
        "{err}"
    );
    std::fs::remove_file(&detail).unwrap();
    let with_json = generate_args("trap", "g", &["--count", "1", "--json"]);
    assert_eq!(json(&ok(d, &with_json))["spectral_detail"], false);
    std::fs::write(&detail, &good_detail).unwrap();
    assert_eq!(json(&ok(d, &with_json))["spectral_detail"], true);
    // Another format version.
    let cfg = d.join("m/config.json");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("\"format_version\": 3", "\"format_version\": 99"),
    )
    .unwrap();
    let err = resume(d);
    assert!(
        err.contains("model format version 99, this beatgen reads version 3"),
        "{err}"
    );
    // demo reads the folder's state (no weights) and does not mistake another version or a
    // damaged file for "no model": it stops before training, naming the folder or file.
    let demo = |d: &Path| {
        fails(
            d,
            &["demo", "--songs", "songs", "--model", "m", "--out", "o"],
        )
    };
    let err = demo(d);
    assert!(
        err.contains("another beatgen version") && err.contains("--retrain"),
        "{err}"
    );
    // A model of the second version (no saved split) is refused with what to do.
    std::fs::write(
        &cfg,
        text.replace("\"format_version\": 3", "\"format_version\": 2"),
    )
    .unwrap();
    let err = resume(d);
    assert!(
        err.contains("saved split") && err.contains("retrain"),
        "{err}"
    );
    // A model of the first version (3 s clips, MLP) is refused with what to do.
    std::fs::write(
        &cfg,
        text.replace("\"format_version\": 3", "\"format_version\": 1"),
    )
    .unwrap();
    let err = resume(d);
    assert!(
        err.contains("first version") && err.contains("retrain"),
        "{err}"
    );
    std::fs::write(&cfg, "{ not json").unwrap();
    let err = resume(d);
    assert!(
        err.contains("not valid JSON") && !err.contains("panicked"),
        "{err}"
    );
    let err = demo(d);
    assert!(
        err.contains("config.json") && err.contains("not valid JSON"),
        "{err}"
    );
    assert!(!d.join("o").exists());
}

#[test]
fn a_diverging_loss_stops_with_a_clear_message_and_keeps_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    corpus(d);
    assert!(train(d, "m", &["--epochs", "1"]).status.success());
    let files = ["checkpoint.safetensors", "weights.safetensors", "loss.csv"];
    let read = |d: &Path| files.map(|f| std::fs::read(d.join("m").join(f)).unwrap());
    let before = read(d);
    // The same model resumed with an absurd learning rate (the one option a resume may
    // change): epoch 2 diverges; the model directory keeps epoch 1 exactly.
    let out = train(d, "m", &["--epochs", "3", "--resume", "--lr", "1e12"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success());
    assert!(
        err.contains("the loss became")
            && err.contains("at epoch 2")
            && err.contains("(epoch 1) is kept in m"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        before == read(d),
        "the diverging run changed the model directory"
    );
}

/// A latent per time step (`--step-latent`): a model trains with it, says so in its config
/// and generates distinct loops; `--latent` beside it is refused.
#[test]
fn a_latent_per_step_trains_and_generates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    corpus(d);
    let mut args = vec![
        "spec-train",
        "songs",
        "--model",
        "m",
        "--epochs",
        "2",
        "--step-latent",
        "1",
    ];
    args.extend_from_slice(&SMALL);
    ok(d, &args);
    let cfg = json(&std::fs::read_to_string(d.join("m/config.json")).unwrap());
    // 256 frames -> 128 -> 64 steps of one latent value each.
    assert_eq!(
        (
            cfg["vae"]["latent"].as_u64(),
            cfg["vae"]["latent_steps"].as_u64()
        ),
        (Some(64), Some(64))
    );
    ok(
        d,
        &generate_args("trap", "g", &["--count", "2", "--format", "wav"]),
    );
    let mut loops: Vec<_> = std::fs::read_dir(d.join("g"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    loops.sort();
    assert_eq!(loops.len(), 2, "{loops:?}");
    assert_ne!(
        std::fs::read(&loops[0]).unwrap(),
        std::fs::read(&loops[1]).unwrap()
    );
    args.extend_from_slice(&["--latent", "8"]);
    let err = fails(d, &args);
    assert!(err.contains("--latent"), "{err}");
}

/// Networks too large for memory are refused with one line before anything is written: a
/// layer with too many weights, a stack of too many, a network whose training buffers would
/// pass the memory limit (and so is a batch larger than the training clips, and an infinite
/// setting); the same model directory then takes a sensible run.
#[test]
fn oversized_networks_are_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    corpus(d);
    let base = ["spec-train", "songs", "--model", "m", "--epochs", "1"];
    for (extra, expected) in [
        (&["--latent", "1000000000"][..], "weights, more than"),
        (
            &["--channels", "3000"][..],
            "GB to train, more than the 8 GB",
        ),
        // Fewer training clips than one batch.
        (&["--batch-size", "400"][..], "fewer than one batch"),
        // Every layer within its own limit, 18 GB of weights in all.
        (
            &["--channels", "3000", "--conv-layers", "100"][..],
            "a network's encoder or decoder may have",
        ),
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let err = fails(d, &args);
        assert!(err.contains(expected), "{extra:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(std::fs::read_dir(d.join("m")).unwrap().next().is_none());
    }
    // Infinite or NaN settings are refused before anything is read or written.
    for extra in [
        &["--beta", "inf"][..],
        &["--lr", "inf"],
        &["--clip-norm", "nan"],
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let err = fails(d, &args);
        assert!(err.contains("non-negative numbers"), "{extra:?}: {err}");
        assert!(std::fs::read_dir(d.join("m")).unwrap().next().is_none());
    }
    assert!(train(d, "m", &["--epochs", "1"]).status.success());
    // The training benchmark builds the same networks and refuses the same way.
    for args in [
        &["bench-train", "--channels", "3000"][..],
        &["bench-train", "--batch-size", "100000000"][..],
    ] {
        let err = fails(d, args);
        assert!(err.contains("GB to train"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

/// `demo` reusing a model trained before the spectral detail existed fits the detail on the
/// model's training songs (the same file a training writes) and says so; the weights stay.
#[test]
fn demo_fits_the_spectral_detail_of_an_older_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Enough clips for the demo's batch of 32.
    ok(
        d,
        &[
            "make-corpus",
            "songs",
            "--per-genre",
            "5",
            "--seconds",
            "16",
            "--genres",
            "trap,lo-fi",
            "--seed",
            "3",
        ],
    );
    let demo = [
        "demo", "--songs", "songs", "--model", "m", "--out", "o", "--epochs", "1",
    ];
    ok(d, &demo);
    let (detail, weights) = (
        d.join("m/detail.safetensors"),
        d.join("m/weights.safetensors"),
    );
    let (fitted, trained) = (
        std::fs::read(&detail).unwrap(),
        std::fs::read(&weights).unwrap(),
    );
    std::fs::remove_file(&detail).unwrap();
    let progress = |d: &Path| {
        let out = beatgen(d, &demo);
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let out = progress(d);
    assert!(
        out.contains("up to date") && out.contains("fitted its spectral detail"),
        "{out}"
    );
    assert_eq!(std::fs::read(&detail).unwrap(), fitted);
    assert_eq!(std::fs::read(&weights).unwrap(), trained);
    // With the file present, nothing is fitted again.
    let out = progress(d);
    assert!(!out.contains("fitted its spectral detail"), "{out}");
}
