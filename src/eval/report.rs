//! The evaluation report: one struct per metric, serialised as `eval --json` prints it, and
//! rendered as the terminal table and `report.md` from the same values.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

/// A metric overall and per genre (keyed by genre name).
#[derive(Debug, Clone, Serialize)]
pub struct PerGenre<T> {
    pub overall: T,
    pub per_genre: BTreeMap<String, T>,
}

impl<T> PerGenre<T> {
    /// Evaluate `f` for the overall row (`None`: all clips, each genre weighing the same) and
    /// for each genre index.
    pub fn build(genres: &[String], mut f: impl FnMut(Option<usize>) -> T) -> Self {
        PerGenre {
            overall: f(None),
            per_genre: genres
                .iter()
                .enumerate()
                .map(|(i, g)| (g.clone(), f(Some(i))))
                .collect(),
        }
    }

    /// The overall value for `"overall"`, else the genre's.
    pub fn get(&self, key: &str) -> Option<&T> {
        if key == "overall" {
            Some(&self.overall)
        } else {
            self.per_genre.get(key)
        }
    }
}

/// Griffin-Lim spectral convergence (dB, lower is better) on held-out real clips.
#[derive(Debug, Clone, Serialize)]
pub struct GlScore {
    pub random_32: f64,
    pub random_100: f64,
    pub pghi_32: f64,
    pub pghi_100: f64,
}

/// Griffin-Lim per genre (no overall value).
#[derive(Debug, Clone, Serialize)]
pub struct GlReport {
    pub per_genre: BTreeMap<String, GlScore>,
}

/// Log-spectral distance (RMS dB over band values) of held-out clips through the VAE, and of
/// the mean training clip (the baseline).
#[derive(Debug, Clone, Serialize)]
pub struct ReconstructionScore {
    pub model_lsd_db: f64,
    pub mean_clip_lsd_db: f64,
    pub clips: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassifierScore {
    pub real_heldout_accuracy: f64,
    pub generated_accuracy: f64,
    pub generated_inception_score: f64,
}

/// Frechet distances to the held-out real clips' features.
#[derive(Debug, Clone, Serialize)]
pub struct FrechetScore {
    pub generated: f64,
    pub floor_train_real: f64,
    /// Held-out clips' bands rendered as generated clips are, vs the same clips as they are.
    pub bands_resynth: f64,
    /// Held-out clips through the VAE (`z = mu`), rendered as generated clips are.
    pub reconstructed: f64,
    pub ceiling_white_noise: f64,
    pub ceiling_mean_clip: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MedianIqr {
    pub median: f64,
    pub iqr: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RhythmSide {
    pub tempo_bpm: MedianIqr,
    pub onset_rate: MedianIqr,
    /// Median tempo strength.
    pub regularity: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RhythmScore {
    pub generated: RhythmSide,
    pub real: RhythmSide,
}

/// Medians of one clip measure over generated, held-out real, Griffin-Lim resynthesised real,
/// real band features rendered as generated clips are, and real clips through the VAE
/// (`z = mu`) rendered as generated clips are.
#[derive(Debug, Clone, Serialize)]
pub struct Versus {
    pub generated: f64,
    pub real: f64,
    pub resynth: f64,
    pub bands_resynth: f64,
    pub reconstructed: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransientScore {
    pub onset_sharpness: Versus,
    pub flatness: Versus,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoveltyScore {
    pub generated_nn_distance: f64,
    pub real_nn_distance: f64,
    pub ratio: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiversityScore {
    pub generated: f64,
    pub real: f64,
    pub ratio: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    pub train_clips: usize,
    pub heldout_clips: usize,
    pub generated_clips: usize,
    /// The held-out songs (paths relative to the songs folder), from the model's saved split.
    pub heldout_songs: Vec<String>,
    /// Songs in the folder that the model's split does not list (added since), left out.
    pub unlisted_songs: usize,
}

/// A point of the feature projection picture: (x, y, genre index, held-out real or generated).
#[derive(Debug, Clone, Copy)]
pub struct ProjectedPoint {
    pub x: f64,
    pub y: f64,
    pub genre: usize,
    pub real: bool,
}

/// Everything `eval` measured.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub model: PathBuf,
    pub songs: PathBuf,
    pub genres: Vec<String>,
    pub parameters: usize,
    pub counts: Counts,
    /// The spectral postfilter strength each genre's decoded clips got.
    pub postfilter_strength: BTreeMap<String, f32>,
    /// The transient shaper's depth on every decoded clip (0: off).
    pub sustain_cut: f32,
    /// Whether rendering added the model's spectral detail (see [`crate::detail`]).
    pub spectral_detail: bool,
    pub gl: GlReport,
    pub reconstruction: PerGenre<ReconstructionScore>,
    pub classifier: PerGenre<ClassifierScore>,
    pub frechet: PerGenre<FrechetScore>,
    /// Per feature: generated mean minus held-out mean, in training standard deviations.
    pub feature_gaps: PerGenre<BTreeMap<String, f64>>,
    pub rhythm: PerGenre<RhythmScore>,
    pub transients: PerGenre<TransientScore>,
    pub novelty: PerGenre<NoveltyScore>,
    pub diversity: PerGenre<DiversityScore>,
    /// For the projection picture (not serialised).
    #[serde(skip)]
    pub projection: Vec<ProjectedPoint>,
}

/// Feature gaps shown in the text reports (all are in the JSON).
pub const GAPS_SHOWN: usize = 4;

/// Two decimals below 100, none above; `-` for a value that could not be measured.
fn num(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// Four decimals (flatness is small), `-` if not measured.
fn small(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "-".into()
    }
}

impl EvalReport {
    /// The summary table (Markdown): one row per genre and one overall.
    pub fn table(&self) -> String {
        let mut s = String::from("| genre | recon LSD dB (mean clip) | classifier: real / generated | FD generated (floor / bands+GL / recon / noise / mean clip) | onset sharpness gen / real / GL / bands+GL / recon | flatness gen / real / GL / bands+GL / recon | tempo gen / real | novelty ratio | diversity ratio |\n|---|---|---|---|---|---|---|---|---|\n");
        let five = |v: &Versus, f: fn(f64) -> String| {
            format!(
                "{} / {} / {} / {} / {}",
                f(v.generated),
                f(v.real),
                f(v.resynth),
                f(v.bands_resynth),
                f(v.reconstructed)
            )
        };
        for key in self.genres.iter().map(String::as_str).chain(["overall"]) {
            let (Some(rc), Some(cl), Some(fd), Some(rh), Some(tr), Some(nv), Some(dv)) = (
                self.reconstruction.get(key),
                self.classifier.get(key),
                self.frechet.get(key),
                self.rhythm.get(key),
                self.transients.get(key),
                self.novelty.get(key),
                self.diversity.get(key),
            ) else {
                continue;
            };
            let label = if key == "overall" {
                "overall (each genre weighs the same)"
            } else {
                key
            };
            let _ = writeln!(
                s,
                "| {label} | {} ({}) | {} / {} | {} ({} / {} / {} / {} / {}) | {} | {} | {} / {} | {} | {} |",
                num(rc.model_lsd_db),
                num(rc.mean_clip_lsd_db),
                num(cl.real_heldout_accuracy),
                num(cl.generated_accuracy),
                num(fd.generated),
                num(fd.floor_train_real),
                num(fd.bands_resynth),
                num(fd.reconstructed),
                num(fd.ceiling_white_noise),
                num(fd.ceiling_mean_clip),
                five(&tr.onset_sharpness, num),
                five(&tr.flatness, small),
                num(rh.generated.tempo_bpm.median),
                num(rh.real.tempo_bpm.median),
                num(nv.ratio),
                num(dv.ratio),
            );
        }
        s
    }

    /// One line: Griffin-Lim on held-out clips per genre, random / PGHI at 32 iterations.
    pub fn gl_line(&self) -> String {
        let parts: Vec<String> = self
            .gl
            .per_genre
            .iter()
            .map(|(g, v)| format!("{g} {}/{} dB", num(v.random_32), num(v.pghi_32)))
            .collect();
        format!(
            "Griffin-Lim SC on held-out clips, random/PGHI at 32 iterations: {}",
            parts.join(", ")
        )
    }

    /// One line: the overall feature gaps, largest first (the first `n`).
    pub fn gaps_line(&self, n: usize) -> String {
        let mut gaps: Vec<(&String, &f64)> = self.feature_gaps.overall.iter().collect();
        gaps.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        let parts: Vec<String> = gaps
            .iter()
            .take(n)
            .map(|(k, v)| format!("{k} {v:+.2}"))
            .collect();
        format!(
            "Largest feature gaps, generated minus held-out real (training SDs): {}",
            parts.join(", ")
        )
    }

    /// `report.md`: the table, the gallery (`generated-GENRE.png`, `real-GENRE.png` beside it)
    /// and the projection picture (`projection.png`).
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "# beatgen eval\n\nModel `{}` on `{}`: {} held-out real clips, {} generated; postfilter strength {}; sustain cut {}; spectral detail {}.\n\n{}\n\n{}\n\n{}\n\n",
            self.model.display(),
            self.songs.display(),
            self.counts.heldout_clips,
            self.counts.generated_clips,
            self.genres
                .iter()
                .map(|g| format!("{g} {:.2}", self.postfilter_strength[g]))
                .collect::<Vec<_>>()
                .join(", "),
            self.sustain_cut,
            crate::detail::describe(self.spectral_detail),
            self.table(),
            self.gl_line(),
            self.gaps_line(GAPS_SHOWN)
        );
        md.push_str(
            "| genre | generated | held-out real | held-out real through the VAE |\n|---|---|---|---|\n",
        );
        for g in &self.genres {
            let _ = writeln!(
                md,
                "| {g} | ![generated {g}](generated-{g}.png) | ![real {g}](real-{g}.png) | ![reconstructed {g}](reconstructed-{g}.png) |"
            );
        }
        md.push_str("\n\nFeature projection (first two principal components of the training clips' features; filled: held-out real, hollow: generated; colour: genre):\n\n![projection](projection.png)\n");
        let legend: Vec<String> = self
            .genres
            .iter()
            .enumerate()
            .map(|(i, g)| format!("{} {g}", crate::plot::colour_name(i)))
            .collect();
        let _ = writeln!(md, "\nColours: {}.", legend.join(", "));
        md
    }
}
