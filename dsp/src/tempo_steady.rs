//! Whether a song keeps one tempo. The bar grid is a song's first bar line and one tempo, so
//! in a file that changes tempo (two songs in one file, a DJ mix, a live take that drifts) the
//! grid leaves the music: examples cut there do not start on bar lines. [`off_tempo_spans`]
//! reads the tempo of each stretch of [`SPAN_BEATS`] beats on its own and lists the stretches
//! that do not move at the song's tempo.

use crate::tempo::{Tempo, TempoAnalysis, DEFAULT_BPM_RANGE};

/// Beats per stretch read on its own: 8 bars of 4/4 (13-26 s at 75-150 BPM).
pub const SPAN_BEATS: f32 = 16.0;

/// A stretch keeps the song's tempo when its onset envelope repeats at that tempo, or at its
/// half or double ([`TempoAnalysis::repeats_at`]), at least this share as strongly as at the
/// stretch's own best reading.
pub const KEEP_RATIO: f32 = 0.5;

/// A stretch of a song that does not move at the song's tempo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OffTempo {
    /// First and one-past-last frame of the stretch.
    pub frames: (usize, usize),
    /// The stretch's own tempo (BPM).
    pub bpm: f32,
}

/// The stretches of an onset envelope (`frame_rate` frames per second) that do not keep
/// `tempo`: the envelope is cut into stretches of [`SPAN_BEATS`] beats of `tempo` (the rest
/// joins the last one), each read on its own with [`TempoAnalysis`] over
/// [`DEFAULT_BPM_RANGE`]. A stretch in which nothing repeats (a break) is not listed;
/// neighbouring stretches at the same tempo are listed as one (with the first one's BPM).
/// Empty when fewer than two stretches fit: a song's tempo is read from the whole of it.
pub fn off_tempo_spans(env: &[f32], frame_rate: f32, tempo: &Tempo) -> Vec<OffTempo> {
    let span = (SPAN_BEATS * tempo.period_frames).round() as usize;
    if span == 0 || env.len() < 2 * span {
        return Vec::new();
    }
    let n = env.len() / span;
    let (lo, hi) = DEFAULT_BPM_RANGE;
    let off = (0..n).filter_map(|i| {
        let frames = (
            i * span,
            if i + 1 == n {
                env.len()
            } else {
                (i + 1) * span
            },
        );
        let analysis = TempoAnalysis::new(&env[frames.0..frames.1], frame_rate, lo, hi)?;
        let own = analysis.best()?;
        let keeps = [1.0, 0.5, 2.0].iter().any(|k| {
            analysis.repeats_at(k * tempo.bpm) >= KEEP_RATIO * analysis.repeats_at(own.bpm)
        });
        (!keeps).then_some(OffTempo {
            frames,
            bpm: own.bpm,
        })
    });
    // Neighbouring stretches at the same tempo (within 2%) are one.
    let mut merged: Vec<OffTempo> = Vec::new();
    for o in off {
        match merged.last_mut() {
            Some(m) if m.frames.1 == o.frames.0 && (o.bpm / m.bpm - 1.0).abs() < 0.02 => {
                m.frames.1 = o.frames.1
            }
            _ => merged.push(o),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An onset envelope with a click every `period` frames from `start` to `end`.
    fn clicks(env: &mut [f32], start: usize, end: usize, period: f32) {
        let mut t = start as f32;
        while (t as usize) < end {
            env[t as usize] += 1.0;
            // A weaker off-beat, as hats give.
            let off = (t + period / 2.0) as usize;
            if off < end {
                env[off] += 0.4;
            }
            t += period;
        }
    }

    #[test]
    fn a_tempo_change_is_found_and_a_steady_tempo_is_not() {
        let fr = 22050.0 / 256.0;
        let period = |bpm: f32| fr * 60.0 / bpm;
        let tempo = |bpm: f32| Tempo {
            bpm,
            period_frames: period(bpm),
            phase_frames: 0.0,
            strength: 0.5,
        };
        // 90 BPM for a minute: no stretch is off.
        let minute = (60.0 * fr) as usize;
        let mut env = vec![0.0f32; minute];
        clicks(&mut env, 0, minute, period(90.0));
        assert_eq!(off_tempo_spans(&env, fr, &tempo(90.0)), vec![]);
        // Read at half or double, it still keeps the tempo.
        assert_eq!(off_tempo_spans(&env, fr, &tempo(180.0)), vec![]);
        // 90 BPM for 45 s, then 128 BPM for 45 s, read at 90: the stretches after 45 s are
        // off, at 128 BPM; those before are not.
        let half = (45.0 * fr) as usize;
        let mut env = vec![0.0f32; 2 * half];
        clicks(&mut env, 0, half, period(90.0));
        clicks(&mut env, half, 2 * half, period(128.0));
        let off = off_tempo_spans(&env, fr, &tempo(90.0));
        let span = (SPAN_BEATS * period(90.0)).round() as usize;
        assert_eq!(off.len(), 1, "{off:?}");
        let o = off[0];
        assert!(
            o.frames.0 + span / 2 >= half,
            "{o:?} starts before the change"
        );
        assert!(o.frames.0 <= half + span, "{o:?} starts a stretch late");
        assert_eq!(o.frames.1, env.len());
        assert!((o.bpm - 128.0).abs() < 2.0, "{o:?}");
        // Shorter than two stretches: nothing to compare.
        assert_eq!(off_tempo_spans(&env[..span + 10], fr, &tempo(90.0)), vec![]);
    }
}
