//! A transient shaper for decoded spectrograms: in every band above the bass, the frames after
//! a hit are pushed further below the hit's decaying level, so the gaps between hits get darker
//! while the hits and anything sustained stay as they are.
//!
//! Per band `b`, a peak-hold envelope falls by [`TransientShaper::decay_db`] per frame and
//! jumps up to any louder frame: `env[t] = max(x[t], env[t - 1] - decay_db)`. A frame below
//! it is moved down by the band's depth times its distance: `y[t] = x[t] - d_b (env[t] - x[t])`.
//! A hit itself (`x = env`) is unchanged, and so is a tone that decays more slowly than the
//! envelope (it holds the envelope up itself); what falls faster than `decay_db` per frame
//! after a hit (a smeared tail, a haze between hits) falls `1 + d_b` times as far.
//!
//! The depth depends on the band's centre frequency: 0 up to [`NO_DEPTH_BELOW_HZ`], the full
//! [`TransientShaper::depth`] from [`FULL_DEPTH_FROM_HZ`], linear in log frequency between.
//!
//! Why: a decoder that cannot place a hit to the frame, or decide between the patterns of
//! the clips it learned from, spreads energy into the frames around its hits. Sampled loops
//! then carry a noise-like haze in the gaps that real loops keep dark or tonal, and that
//! haze is what spectral flatness measures. It is the "sustain" knob of a producer's
//! transient designer, applied to the model's band levels (dB) before rendering. The haze is
//! in the bands of hats, snares and claps; the bass bands hold kick bodies and 808 notes whose
//! decay the envelope cannot tell from a smeared tail, and there the decoder's gaps are
//! already darker than real ones (README, "The bass left out of the transient shaper"), so
//! the bass is left alone.
//!
//! The clip is treated as a loop (generated clips are tiled end to start): the envelope
//! enters the first frame from the clip's end.

use std::fmt;
use std::str::FromStr;

/// Decay of the envelope in dB per frame of the model's grid. On the default bar grid (8
/// frames per 16th note) that is 8 dB per 16th note, at any tempo.
pub const DEFAULT_DECAY_DB: f32 = 1.0;

/// Default depth (in the bands from [`FULL_DEPTH_FROM_HZ`] up): chosen by `beatgen eval` on
/// the bundled and the SoundFont corpus and checked on five more corpora (README, "The bass
/// left out of the transient shaper"; 0.25 in every band before).
pub const DEFAULT_DEPTH: f32 = 0.4;

/// Bands centred below this frequency (Hz) are not shaped.
pub const NO_DEPTH_BELOW_HZ: f32 = 900.0;

/// Bands centred at or above this frequency (Hz) get the full depth.
pub const FULL_DEPTH_FROM_HZ: f32 = 2400.0;

/// Largest depth accepted (2 triples the depth of every gap).
pub const MAX_DEPTH: f32 = 2.0;

/// Defaults: [`DEFAULT_DECAY_DB`], [`DEFAULT_DEPTH`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransientShaper {
    /// Envelope decay per frame (dB).
    pub decay_db: f32,
    /// How far frames under the envelope are moved down, as a fraction of their distance
    /// to it, in the bands from [`FULL_DEPTH_FROM_HZ`] up (less below, see the module docs);
    /// 0 is off.
    pub depth: f32,
}

impl Default for TransientShaper {
    fn default() -> Self {
        TransientShaper {
            decay_db: DEFAULT_DECAY_DB,
            depth: DEFAULT_DEPTH,
        }
    }
}

impl TransientShaper {
    /// The default shaper at `depth` (0 off).
    pub fn with_depth(depth: f32) -> Self {
        TransientShaper {
            depth,
            ..Default::default()
        }
    }

    /// The depth of a band centred at `hz` (see the module docs).
    pub fn depth_at(&self, hz: f32) -> f32 {
        let ramp = (hz / NO_DEPTH_BELOW_HZ).ln() / (FULL_DEPTH_FROM_HZ / NO_DEPTH_BELOW_HZ).ln();
        self.depth * ramp.clamp(0.0, 1.0)
    }

    /// Shape a frame-major clip of dB levels in place, one value per band per frame, the bands
    /// centred at `centres_hz`.
    pub fn apply(&self, clip: &mut [f32], centres_hz: &[f32]) {
        let bands = centres_hz.len();
        if self.depth == 0.0 || bands == 0 {
            return;
        }
        let depths: Vec<f32> = centres_hz.iter().map(|&hz| self.depth_at(hz)).collect();
        // One envelope per band, all bands of a frame at a time (contiguous in the clip).
        // The envelope as it leaves the clip's last frame, entering the first: one pass over
        // the clip starting from each band's quietest level settles it (a louder frame resets
        // it, a hit further back has decayed by then).
        let mut env = vec![f32::INFINITY; bands];
        for frame in clip.chunks_exact(bands) {
            env.iter_mut().zip(frame).for_each(|(e, &x)| *e = e.min(x));
        }
        for frame in clip.chunks_exact(bands) {
            env.iter_mut()
                .zip(frame)
                .for_each(|(e, &x)| *e = (*e - self.decay_db).max(x));
        }
        for frame in clip.chunks_exact_mut(bands) {
            for ((e, x), d) in env.iter_mut().zip(frame).zip(&depths) {
                *e = (*e - self.decay_db).max(*x);
                *x -= d * (*e - *x);
            }
        }
    }
}

/// The `--sustain-cut` value: a depth in `0..=MAX_DEPTH`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Depth(pub f32);

impl Default for Depth {
    fn default() -> Self {
        Depth(DEFAULT_DEPTH)
    }
}

/// The default shaper at the depth asked for.
impl From<Depth> for TransientShaper {
    fn from(d: Depth) -> Self {
        TransientShaper::with_depth(d.0)
    }
}

impl fmt::Display for Depth {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Depth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.parse::<f32>() {
            Ok(v) if (0.0..=MAX_DEPTH).contains(&v) => Ok(Depth(v)),
            _ => Err(format!("expected a depth in 0..={MAX_DEPTH}, got `{s}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A band centre where the shaper has its full depth.
    const HIGH: f32 = 5000.0;

    /// One band: a hit at 0 dB on frame 2 over a floor of -30 dB, 40 frames, decay 2 dB per
    /// frame, depth 0.5, worked by hand.
    #[test]
    fn the_gap_after_a_hit_deepens_and_the_hit_stays() {
        let mut x = vec![-30.0f32; 40];
        x[2] = 0.0;
        let shaper = TransientShaper {
            decay_db: 2.0,
            depth: 0.5,
        };
        shaper.apply(&mut x, &[HIGH]);
        // Before the hit: the envelope entering from the clip's end is the floor (the hit,
        // 37 frames back, has decayed below it), so nothing moves.
        assert_eq!(&x[..2], &[-30.0, -30.0]);
        assert_eq!(x[2], 0.0);
        // t = 3: envelope -2, the floor is 28 dB under it and moves 14 dB down; t = 4:
        // envelope -4, 26 under, 13 down ... until the envelope meets the floor at t = 17.
        for (t, &v) in x.iter().enumerate().skip(3) {
            let env = (-2.0 * (t - 2) as f32).max(-30.0);
            let expected = -30.0 - 0.5 * (env + 30.0);
            assert!((v - expected).abs() < 1e-5, "t {t}: {v} vs {expected}");
        }
        assert_eq!(x[17], -30.0);
    }

    #[test]
    fn steady_and_slowly_decaying_tones_are_unchanged() {
        let shaper = TransientShaper::default();
        // Band 0 steady, band 1 decaying at half the envelope's rate (and back up at the
        // loop's wrap), band 2 swelling and fading over the loop, never faster than half the
        // envelope's rate.
        let mut clip: Vec<f32> = (0..64)
            .flat_map(|t| {
                let t = t as f32;
                let swell = (2.0 * std::f32::consts::PI * t / 64.0).sin();
                [
                    -20.0,
                    -10.0 - 0.5 * shaper.decay_db * t,
                    -40.0 + 5.0 * swell,
                ]
            })
            .collect();
        let before = clip.clone();
        shaper.apply(&mut clip, &[HIGH; 3]);
        for (t, (a, b)) in clip.chunks(3).zip(before.chunks(3)).enumerate() {
            assert_eq!(a[0], b[0], "steady, frame {t}");
            assert_eq!(a[1], b[1], "slow decay, frame {t}");
            assert_eq!(a[2], b[2], "swelling, frame {t}");
        }
    }

    /// The clip is a loop: a hit on its last frame darkens the first frames' gap as it does
    /// the frames after a hit inside the clip.
    #[test]
    fn the_loop_wraps_from_the_end_to_the_start() {
        let shaper = TransientShaper {
            decay_db: 2.0,
            depth: 0.5,
        };
        let mut end = vec![-30.0f32; 10];
        end[9] = 0.0;
        shaper.apply(&mut end, &[HIGH]);
        let mut inside = vec![-30.0f32; 10];
        inside[0] = 0.0;
        shaper.apply(&mut inside, &[HIGH]);
        assert_eq!(&end[..9], &inside[1..]);
    }

    #[test]
    fn depth_zero_is_the_identity_and_the_option_is_checked() {
        let mut clip: Vec<f32> = (0..40).map(|i| ((i * 37) % 11) as f32 * -3.0).collect();
        let before = clip.clone();
        TransientShaper::with_depth(0.0).apply(&mut clip, &[HIGH; 4]);
        assert_eq!(clip, before);
        assert_eq!("0.35".parse::<Depth>(), Ok(Depth(0.35)));
        for bad in ["-0.1", "2.5", "inf", "NaN", "x"] {
            assert!(bad.parse::<Depth>().is_err(), "{bad}");
        }
    }

    /// The same hit in three bands: the bass band is left alone, a band halfway (in log
    /// frequency) between the ends of the ramp gets half the depth, a high band all of it.
    #[test]
    fn the_depth_ramps_from_none_in_the_bass_to_full_above_the_ramp() {
        let shaper = TransientShaper {
            decay_db: 2.0,
            depth: 0.5,
        };
        let middle = (NO_DEPTH_BELOW_HZ * FULL_DEPTH_FROM_HZ).sqrt();
        let centres = [100.0, middle, HIGH];
        let one_band = |t: usize| if t == 2 { 0.0f32 } else { -30.0 };
        let mut clip: Vec<f32> = (0..40).flat_map(|t| [one_band(t); 3]).collect();
        shaper.apply(&mut clip, &centres);
        for (t, frame) in clip.chunks(3).enumerate() {
            let env = if t < 2 {
                -30.0
            } else {
                (-2.0 * (t - 2) as f32).max(-30.0)
            };
            let x = one_band(t);
            assert_eq!(frame[0], x, "bass band, frame {t}");
            for (b, depth) in [(1, 0.25), (2, 0.5)] {
                let expected = x - depth * (env - x);
                assert!(
                    (frame[b] - expected).abs() < 1e-4,
                    "band {b}, frame {t}: {} vs {expected}",
                    frame[b]
                );
            }
        }
        assert_eq!(shaper.depth_at(NO_DEPTH_BELOW_HZ), 0.0);
        assert_eq!(shaper.depth_at(FULL_DEPTH_FROM_HZ), 0.5);
    }
}
