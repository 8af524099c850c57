//! `eval` through the real binary on a tiny model: every metric group with per-genre values,
//! the report files, and the floors below the ceilings.

mod common;
use common::*;

#[test]
fn eval_reports_every_metric_per_genre_with_floors_and_ceilings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tiny_model(d);
    let v = json(&ok(
        d,
        &[
            "eval", "--model", "m", "songs", "--count", "3", "--out", "report", "--json",
        ],
    ));
    for key in [
        "gl",
        "reconstruction",
        "classifier",
        "frechet",
        "feature_gaps",
        "rhythm",
        "novelty",
        "diversity",
    ] {
        for g in ["house", "lo-fi"] {
            assert!(
                v[key]["per_genre"][g].is_object(),
                "{key}/{g} missing: {}",
                v[key]
            );
        }
    }
    assert_eq!(v["counts"]["generated_clips"], 6);
    // Training fitted a spectral detail, and rendering used it.
    assert_eq!(v["spectral_detail"], true);
    assert!(d.join("m/detail.safetensors").is_file());
    // The postfilter strength each genre got: the model's fitted one by default.
    let model = beatgen::model_dir::Model::load(&d.join("m")).unwrap();
    let fitted = model.calibration.unwrap().postfilter.unwrap();
    for (i, g) in model.config.genres.iter().enumerate() {
        let got = v["postfilter_strength"][g].as_f64().unwrap();
        assert!((got - fitted[i] as f64).abs() < 1e-6, "{g}: {got}");
    }
    // White noise is far from real beats; real training clips are much closer (the floor).
    let fd = &v["frechet"]["overall"];
    assert!(
        fd["floor_train_real"].as_f64().unwrap() < fd["ceiling_white_noise"].as_f64().unwrap(),
        "{fd}"
    );
    // Real clips' own bands through the renderer stay far nearer to them than white noise.
    assert!(
        fd["bands_resynth"].as_f64().unwrap() < fd["ceiling_white_noise"].as_f64().unwrap(),
        "{fd}"
    );
    // So do the held-out clips through the VAE (encoded, decoded, rendered as generated ones).
    assert!(
        fd["reconstructed"].as_f64().unwrap() < fd["ceiling_white_noise"].as_f64().unwrap(),
        "{fd}"
    );
    // The overall row weighs each genre the same, whatever its number of held-out clips: its
    // accuracy and reconstruction distance are the means of the genres'.
    for (key, field) in [
        ("classifier", "real_heldout_accuracy"),
        ("reconstruction", "model_lsd_db"),
    ] {
        let of = |g: &str| v[key]["per_genre"][g][field].as_f64().unwrap();
        let overall = v[key]["overall"][field].as_f64().unwrap();
        let mean = (of("house") + of("lo-fi")) / 2.0;
        assert!((overall - mean).abs() < 1e-9, "{key}: {overall} vs {mean}");
    }
    let flat = &v["transients"]["overall"]["flatness"];
    assert!(flat["reconstructed"].as_f64().unwrap() > 0.0, "{flat}");
    // The distance's make-up: every feature's gap, generated minus held-out, finite.
    let gaps = v["feature_gaps"]["per_genre"]["house"].as_object().unwrap();
    assert_eq!(gaps.len(), 22, "{gaps:?}");
    assert!(gaps["rms_dbfs"].as_f64().unwrap().is_finite(), "{gaps:?}");
    // PGHI beats random phase on real held-out clips.
    let gl = &v["gl"]["per_genre"]["house"];
    assert!(
        gl["pghi_32"].as_f64().unwrap() < gl["random_32"].as_f64().unwrap(),
        "{gl}"
    );
    for f in [
        "report.md",
        "projection.png",
        "generated-house.png",
        "real-house.png",
        "reconstructed-house.png",
        "reconstructed-house.mp3",
    ] {
        assert!(d.join("report").join(f).is_file(), "{f}");
    }
    // The listening page: a generated and a held-out real clip per genre, linked and playable.
    let page = std::fs::read_to_string(d.join("report/index.html")).unwrap();
    for g in ["house", "lo-fi"] {
        for kind in ["generated", "real"] {
            let name = format!("{kind}-{g}.mp3");
            assert!(page.contains(&format!("src=\"{name}\"")), "{name}: {page}");
            let dec = dsp::decode_file(&d.join("report").join(&name), &Default::default()).unwrap();
            assert!(dec.seconds() > 1.0, "{name}");
        }
    }
    assert!(
        page.contains("<pre>") && page.contains("classifier"),
        "{page}"
    );
    // The held-out songs come from the model's saved split: a song added to the folder after
    // training is left out and nothing moves between training and held-out.
    let held: Vec<String> = v["counts"]["heldout_songs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(
        held.iter().any(|s| s.starts_with("house/"))
            && held.iter().any(|s| s.starts_with("lo-fi/"))
    );
    let a_song = std::fs::read_dir(d.join("songs/house"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(&a_song, d.join("songs/house/aa-added-later.mp3")).unwrap();
    let again = json(&ok(
        d,
        &["eval", "--model", "m", "songs", "--count", "2", "--json"],
    ));
    assert_eq!(
        again["counts"]["heldout_songs"],
        v["counts"]["heldout_songs"]
    );
    assert_eq!(
        again["counts"]["heldout_clips"],
        v["counts"]["heldout_clips"]
    );
    assert_eq!(again["counts"]["train_clips"], v["counts"]["train_clips"]);
    assert_eq!(again["counts"]["unlisted_songs"], 1);
    let err = fails(d, &["eval", "--model", "m", "missing-songs"]);
    assert!(err.contains("missing-songs"), "{err}");
}
