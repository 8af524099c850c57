//! Snapping note onsets to the bar grid. Each beat is read either as four 16th notes or as six
//! 16th-note triplets: triplets when the onsets of that beat sit clearly closer to the triplet
//! grid (their squared distances to it sum to less than [`TRIPLET_EVIDENCE`] times those to the
//! 16th grid), so a straight beat stays straight and a triplet hi-hat roll stays a roll. Each
//! onset then moves a fraction of the way to its grid line: 1 is full quantisation, 0 keeps
//! the played timing, 0.5 halves every offset (a humanised groove).

use super::{Groove, Note};

/// How much less squared distance the triplet grid must give a beat's onsets to be chosen.
pub const TRIPLET_EVIDENCE: f64 = 0.25;

/// A steady beat grid: beat `k` at `origin + k * beat` seconds (any integer `k`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeatGrid {
    /// A beat line (a downbeat), seconds.
    pub origin: f64,
    /// Seconds per beat (quarter note).
    pub beat: f64,
}

impl BeatGrid {
    pub fn new(bpm: f64, origin: f64) -> Self {
        BeatGrid {
            origin,
            beat: 60.0 / bpm,
        }
    }
}

/// Parse a quantisation amount as the command line spells it: `full` (1), `none` (0), or a
/// number in [0, 1].
pub fn parse_amount(s: &str) -> Result<f64, String> {
    match s {
        "full" => Ok(1.0),
        "none" => Ok(0.0),
        _ => match s.parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
            _ => Err(format!(
                "'{s}' is not full, none or a fraction between 0 and 1"
            )),
        },
    }
}

/// Steps per beat of each grid.
const SIXTEENTHS: f64 = 4.0;
const TRIPLETS: f64 = 6.0;

/// The grid line of every note of `g` (seconds, in the notes' order).
pub fn grid_lines(g: &Groove, grid: &BeatGrid) -> Vec<f64> {
    // Position in beats; an onset just before a beat line belongs to that beat.
    let pos = |n: &Note| (n.seconds - grid.origin) / grid.beat;
    let beat_of = |p: f64| (p + 0.5 / TRIPLETS).floor() as i64;
    let off = |x: f64, steps: f64| x - (x * steps).round() / steps;
    let mut beats: std::collections::HashMap<i64, (f64, f64)> = Default::default();
    for n in &g.notes {
        let p = pos(n);
        let x = p - beat_of(p) as f64;
        let c = beats.entry(beat_of(p)).or_default();
        c.0 += off(x, SIXTEENTHS).powi(2);
        c.1 += off(x, TRIPLETS).powi(2);
    }
    g.notes
        .iter()
        .map(|n| {
            let p = pos(n);
            let k = beat_of(p);
            let (c16, c3) = beats[&k];
            let steps = if c3 < TRIPLET_EVIDENCE * c16 {
                TRIPLETS
            } else {
                SIXTEENTHS
            };
            let x = p - k as f64;
            grid.origin + (k as f64 + (x * steps).round() / steps) * grid.beat
        })
        .collect()
}

/// `g` with every onset moved `amount` of the way to its grid line (lengths kept).
pub fn quantize(g: &Groove, grid: &BeatGrid, amount: f64) -> Groove {
    let notes = g
        .notes
        .iter()
        .zip(grid_lines(g, grid))
        .map(|(n, line)| Note {
            seconds: n.seconds + amount * (line - n.seconds),
            ..*n
        })
        .collect();
    Groove { bpm: g.bpm, notes }
}

/// How far from its grid line a note may be and still be on the grid: a quarter of a 16th
/// note (31 ms at 120 BPM), in beats.
pub const ON_GRID_BEATS: f64 = 1.0 / 16.0;

/// The fraction of `g`'s drum notes within [`ON_GRID_BEATS`] of their grid line (1 when there
/// are none).
pub fn on_grid_fraction(g: &Groove, grid: &BeatGrid) -> f64 {
    let lines = grid_lines(g, grid);
    let drums: Vec<bool> = g
        .notes
        .iter()
        .zip(&lines)
        .filter(|(n, _)| n.channel == super::DRUM_CHANNEL)
        .map(|(n, line)| (n.seconds - line).abs() <= ON_GRID_BEATS * grid.beat)
        .collect();
    if drums.is_empty() {
        1.0
    } else {
        drums.iter().filter(|&&b| b).count() as f64 / drums.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groove::{DRUM_CHANNEL, KICK};

    fn groove(times: &[f64]) -> Groove {
        Groove {
            bpm: 120.0,
            notes: times
                .iter()
                .map(|&seconds| Note {
                    seconds,
                    length: 0.1,
                    channel: DRUM_CHANNEL,
                    key: KICK,
                    velocity: 100,
                })
                .collect(),
        }
    }

    fn times(g: &Groove) -> Vec<f64> {
        g.notes.iter().map(|n| n.seconds).collect()
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn straight_sixteenths_snap_and_triplet_rolls_stay_rolls() {
        // 120 BPM: a beat is 0.5 s, a 16th 0.125 s, a 16th triplet 1/12 s. Grid origin 0.1 s.
        let grid = BeatGrid::new(120.0, 0.1);
        // Beat 0: 16ths played a little late or early; beat 1: a triplet roll, 5 ms late;
        // one onset 10 ms before beat 3 belongs to beat 3.
        let played = [
            0.1 + 0.01,
            0.1 + 0.125 - 0.012,
            0.1 + 0.375 + 0.008,
            0.6 + 0.005,
            0.6 + 1.0 / 12.0 + 0.005,
            0.6 + 2.0 / 12.0 + 0.005,
            0.6 + 3.0 / 12.0 + 0.005,
            1.6 - 0.01,
        ];
        let full = quantize(&groove(&played), &grid, 1.0);
        let want = [
            0.1,
            0.225,
            0.475,
            0.6,
            0.6 + 1.0 / 12.0,
            0.6 + 2.0 / 12.0,
            0.6 + 3.0 / 12.0,
            1.6,
        ];
        assert!(close(&times(&full), &want), "{:?}", times(&full));
        let none = quantize(&groove(&played), &grid, 0.0);
        assert!(close(&times(&none), &played));
        let half = quantize(&groove(&played), &grid, 0.5);
        let mid: Vec<f64> = played
            .iter()
            .zip(&want)
            .map(|(p, w)| 0.5 * (p + w))
            .collect();
        assert!(close(&times(&half), &mid), "{:?}", times(&half));
    }

    #[test]
    fn amounts_parse_as_documented() {
        assert_eq!(parse_amount("full"), Ok(1.0));
        assert_eq!(parse_amount("none"), Ok(0.0));
        assert_eq!(parse_amount("0.5"), Ok(0.5));
        assert!(parse_amount("1.5").is_err());
        assert!(parse_amount("half").is_err());
    }
}
