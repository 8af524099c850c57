//! The genres the synthesiser knows, with their tempo ranges and feel.

use serde::{Deserialize, Serialize};

/// A beat style with its own tempo range and pattern grammar (see `pattern.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Genre {
    BoomBap,
    Trap,
    LoFi,
    House,
    Drill,
}

impl Genre {
    pub const ALL: [Genre; 5] = [
        Genre::BoomBap,
        Genre::Trap,
        Genre::LoFi,
        Genre::House,
        Genre::Drill,
    ];

    /// Folder name, also the label the dataset pipeline reads back.
    pub fn name(self) -> &'static str {
        match self {
            Genre::BoomBap => "boom-bap",
            Genre::Trap => "trap",
            Genre::LoFi => "lo-fi",
            Genre::House => "house",
            Genre::Drill => "drill",
        }
    }

    pub fn from_name(s: &str) -> Option<Genre> {
        Genre::ALL.into_iter().find(|g| g.name() == s)
    }

    /// Tempo range in BPM (inclusive).
    pub fn bpm_range(self) -> (f32, f32) {
        match self {
            Genre::BoomBap => (85.0, 95.0),
            Genre::Trap => (130.0, 150.0),
            Genre::LoFi => (70.0, 85.0),
            Genre::House => (120.0, 128.0),
            Genre::Drill => (138.0, 145.0),
        }
    }

    /// Swing range: the delay of every second note of the swing grid (16ths; 8ths for lo-fi),
    /// as a fraction of a grid step.
    pub fn swing_range(self) -> (f32, f32) {
        match self {
            Genre::BoomBap => (0.15, 0.33),
            Genre::LoFi => (0.2, 0.4),
            Genre::House => (0.0, 0.1),
            Genre::Trap | Genre::Drill => (0.0, 0.0),
        }
    }
}
