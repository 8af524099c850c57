//! A metronome laid over a song, to check by ear where a bar grid puts its beats and bar
//! lines: a short decaying tone on every beat, higher on each bar line (the way a DAW's click
//! marks the "one").
//!
//! The grid is a bar line at a (fractional) sample and a beat length in samples; it extends
//! both ways, so the beats before the first bar line get clicks too. Each click starts at its
//! beat's exact (fractional) time: `sin(2 pi f t) e^(-t / decay)`, `t` in seconds from the
//! beat, cut after five time constants.

/// Metronome settings. Defaults: bar lines at 2 kHz, other beats at 1 kHz, peaks at 0.5 of
/// full scale, an 8 ms decay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metronome {
    /// Pitch of the click on each bar line (Hz).
    pub bar_hz: f32,
    /// Pitch of the click on the other beats (Hz).
    pub beat_hz: f32,
    /// Peak level of a click, linear full scale (1.0 = 0 dBFS).
    pub level: f32,
    /// Time constant of a click's decay (seconds); a click lasts five of them.
    pub decay_seconds: f32,
}

impl Default for Metronome {
    fn default() -> Self {
        Metronome {
            bar_hz: 2000.0,
            beat_hz: 1000.0,
            level: 0.5,
            decay_seconds: 0.008,
        }
    }
}

/// A bar grid in samples: where one bar line falls and how long a beat is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeatGrid {
    /// A bar line (samples from the signal's start, fractional; any bar line of the grid).
    pub bar_line: f64,
    /// Length of one beat (samples, fractional; must be positive).
    pub beat: f64,
    /// Beats per bar (4 for 4/4; at least 1).
    pub beats_per_bar: usize,
}

impl BeatGrid {
    /// Every beat of the grid in `0..len` samples, in order: (its sample, whether it is a bar
    /// line). Empty for a grid without a positive, finite beat.
    pub fn beats(&self, len: usize) -> Vec<(f64, bool)> {
        if !(self.beat > 0.0) || !self.beat.is_finite() || !self.bar_line.is_finite() {
            return Vec::new();
        }
        let per_bar = self.beats_per_bar.max(1) as i64;
        let first = (-self.bar_line / self.beat).ceil() as i64;
        (first..)
            .map(|k| (k, self.bar_line + k as f64 * self.beat))
            .take_while(|&(_, s)| s < len as f64)
            .filter(|&(_, s)| s >= 0.0)
            .map(|(k, s)| (s, k.rem_euclid(per_bar) == 0))
            .collect()
    }
}

impl Metronome {
    /// Add a click on every beat of `grid` to `x` (mono at `sample_rate` Hz), in place.
    pub fn add_to(&self, x: &mut [f32], sample_rate: u32, grid: &BeatGrid) {
        let rate = sample_rate as f64;
        let decay = (self.decay_seconds as f64).max(1e-4);
        let length = (5.0 * decay * rate).ceil() as usize;
        for (at, bar) in grid.beats(x.len()) {
            let hz = if bar { self.bar_hz } else { self.beat_hz } as f64;
            let start = at.ceil() as usize;
            for (n, v) in x.iter_mut().enumerate().skip(start).take(length) {
                let t = (n as f64 - at) / rate;
                let click = (std::f64::consts::TAU * hz * t).sin() * (-t / decay).exp();
                *v += self.level * click as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beats_extend_before_the_bar_line_and_mark_every_bar() {
        let grid = BeatGrid {
            bar_line: 12_000.5,
            beat: 5_000.25,
            beats_per_bar: 4,
        };
        let beats = grid.beats(30_000);
        // By hand: 12000.5 - 2 * 5000.25 = 2000.0 is the first beat at or after 0; the bar
        // line is its third beat (k = 0), the next bar line 4 beats later, beyond the end.
        let expect = [
            (2000.0, false),
            (7000.25, false),
            (12000.5, true),
            (17000.75, false),
            (22001.0, false),
            (27001.25, false),
        ];
        assert_eq!(beats, expect);
        let bars: Vec<f64> = BeatGrid {
            bar_line: 100.0,
            beat: 10.0,
            beats_per_bar: 4,
        }
        .beats(200)
        .into_iter()
        .filter(|b| b.1)
        .map(|b| b.0)
        .collect();
        assert_eq!(bars, [20.0, 60.0, 100.0, 140.0, 180.0]);
        for beat in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let bad = BeatGrid {
                bar_line: 0.0,
                beat,
                beats_per_bar: 4,
            };
            assert!(bad.beats(1000).is_empty(), "{beat}");
        }
    }

    /// Zero crossings of `x` from sample `a` to `b` (exclusive).
    fn crossings(x: &[f32], a: usize, b: usize) -> usize {
        x[a..b]
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count()
    }

    #[test]
    fn clicks_start_on_their_beats_at_their_pitch() {
        let sr = 22_050;
        let grid = BeatGrid {
            bar_line: 1_000.4,
            beat: 11_025.0, // 120 BPM
            beats_per_bar: 4,
        };
        let m = Metronome::default();
        let mut x = vec![0.0f32; 5 * 11_025];
        m.add_to(&mut x, sr, &grid);
        let beats = grid.beats(x.len());
        assert_eq!(beats.len(), 5);
        let length = (5.0 * m.decay_seconds * sr as f32).ceil() as usize;
        for &(at, bar) in &beats {
            let start = at.ceil() as usize;
            // Silent up to the beat, a click from it on, silent again after five decays.
            assert!(x[start - 20..start].iter().all(|&v| v == 0.0), "{at}");
            assert!(x[start..start + 20].iter().any(|&v| v.abs() > 0.2), "{at}");
            assert!(x[start + length..start + length + 20]
                .iter()
                .all(|&v| v == 0.0));
            let peak = x[start..start + length]
                .iter()
                .fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(peak <= m.level && peak > 0.8 * m.level, "{peak}");
            // Two zero crossings per period over the click's first 10 ms.
            let span = (0.01 * sr as f32) as usize;
            let hz = if bar { m.bar_hz } else { m.beat_hz };
            let expect = 2.0 * hz * 0.01;
            let got = crossings(&x, start, start + span) as f32;
            assert!(
                (got - expect).abs() <= 2.0,
                "{got} against {expect} at {at}"
            );
        }
        assert_eq!(beats.iter().filter(|b| b.1).count(), 2);
    }
}
