//! A spectrogram image with the groove drawn under it: one lane per part (kick, snare, hat,
//! bass from the top), a tick per note at its onset (a bar for a bass note's length), beat
//! lines in grey and bar lines in white, on the spectrogram's own time axis.

use super::{Groove, Part};

/// Height of a lane, and the gap above the lanes (pixels).
const LANE: usize = 12;
const GAP: usize = 4;

fn colour(p: Part) -> [u8; 3] {
    match p {
        Part::Kick => [230, 70, 60],
        Part::Snare => [250, 210, 60],
        Part::Hat => [80, 210, 230],
        Part::Bass => [110, 220, 110],
    }
}

/// The pixels (`width x height` RGB, top row first) with lanes appended below; returns the new
/// height. Column `x` is at `x * frame_seconds`; beats are `beat_seconds` long, 4 to a bar,
/// the first bar starting at 0.
pub fn with_notes(
    width: usize,
    height: usize,
    mut px: Vec<u8>,
    frame_seconds: f64,
    beat_seconds: f64,
    g: &Groove,
) -> (usize, Vec<u8>) {
    let lanes_h = GAP + Part::ALL.len() * LANE;
    let new_h = height + lanes_h;
    px.resize(width * new_h * 3, 0);
    let mut set = |x: usize, y: usize, c: [u8; 3]| {
        if x < width && y < new_h {
            px[(y * width + x) * 3..(y * width + x) * 3 + 3].copy_from_slice(&c);
        }
    };
    let col = |s: f64| (s / frame_seconds).round();
    let mut k = 0;
    loop {
        let x = col(k as f64 * beat_seconds);
        if x >= width as f64 {
            break;
        }
        let c = if k % 4 == 0 { [255; 3] } else { [90; 3] };
        for y in height + GAP..new_h {
            set(x as usize, y, c);
        }
        k += 1;
    }
    for (lane, &p) in Part::ALL.iter().enumerate() {
        let top = height + GAP + lane * LANE + 2;
        for n in g.part(p) {
            let x0 = col(n.seconds);
            if x0 < 0.0 {
                continue;
            }
            let len = if p == Part::Bass {
                col(n.length).max(2.0) as usize
            } else {
                2
            };
            // Louder notes are taller.
            let h = 2 + (LANE - 4) * n.velocity as usize / 127;
            for x in x0 as usize..x0 as usize + len {
                for y in top + (LANE - 4 - h.min(LANE - 4))..top + LANE - 4 + 2 {
                    set(x, y, colour(p));
                }
            }
        }
    }
    (new_h, px)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groove::{Note, DRUM_CHANNEL, SNARE};

    #[test]
    fn a_snare_on_beat_2_is_drawn_in_its_lane_at_its_column() {
        let g = Groove {
            bpm: 120.0,
            notes: vec![Note {
                seconds: 0.5,
                length: 0.2,
                channel: DRUM_CHANNEL,
                key: SNARE,
                velocity: 127,
            }],
        };
        // 100 columns of 10 ms over a 2-row black image.
        let (h, px) = with_notes(100, 2, vec![0; 100 * 2 * 3], 0.01, 0.5, &g);
        assert_eq!(h, 2 + GAP + 4 * LANE);
        let at = |x: usize, y: usize| &px[(y * 100 + x) * 3..(y * 100 + x) * 3 + 3];
        let snare_row = 2 + GAP + LANE + LANE / 2;
        assert_eq!(at(51, snare_row), colour(Part::Snare));
        assert_eq!(at(40, snare_row), [0, 0, 0]);
        // Its neighbour lanes stay empty there; the bar line at 0 is white.
        assert_eq!(at(51, 2 + GAP + LANE / 2), [0, 0, 0]);
        assert_eq!(at(0, 2 + GAP + 1), [255, 255, 255]);
    }
}
