//! Each song's tempo reading chosen together with the other songs of its group (a genre folder).
//!
//! A song's autocorrelation alone rarely tells a beat at 75 BPM from the same beat at 150, or
//! a syncopated 142 from 95: the 120 BPM prior of [`crate::tempo`] pulls slow genres up and fast
//! half-time genres down. Songs of one genre share a tempo range, so the group decides:
//!
//! - every song offers its readings (the detected tempo and the other readings its
//!   autocorrelation supports, see [`crate::tempo::TempoAnalysis::readings`]), each with a
//!   strength `s` (a tempo from metadata is one reading of strength [`METADATA_WEIGHT`]) and a
//!   weight `w = s p`, `p` the 120 BPM prior of [`crate::tempo::prior`]; readings whose weight
//!   is below [`ADMIT`] times the song's largest are not offered;
//! - the group's centre `c` (in log2 BPM, searched on a 1/200-octave grid over 40-250 BPM)
//!   maximises `sum over songs of max over readings k of w_k g(log2 bpm_k - c)`, with `g` a
//!   Gaussian of width [`SPREAD_OCTAVES`]: the tempo most songs can be read at, strongly;
//! - each song takes the reading maximising `w_k g(log2 bpm_k - c)`.
//!
//! The rhythm is evidence too: a reading at which the song's hi-hats would play more than
//! [`HAT_DENSE_PER_BEAT`] onsets per beat on average is probably half the real tempo (a
//! half-time trap beat's 8th-note hats read at 70 BPM become 16ths, with rolls even denser),
//! so its strength is multiplied by [`hat_evidence`] before the choice.
//!
//! So is where the snare or clap falls: its onsets repeat every whole number of beats (2 for a
//! backbeat, 4 for a half-time clap) at the right tempo, and at a wrong one that is not a
//! simple ratio of it (120 for 150 BPM) they fall between beats. A clear snare period
//! multiplies each reading's strength by [`backbeat_evidence`].
//!
//! A group of one song keeps its strongest reading. The margin of a choice (1 minus the next
//! reading's score over the chosen one's) says how sure it is.

/// One way of hearing a song's tempo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub bpm: f32,
    /// Evidence for the reading (autocorrelation strength), > 0.
    pub strength: f32,
}

/// The reading chosen for one song.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choice {
    /// Index into the song's readings.
    pub index: usize,
    /// 1 - (score of the best other reading) / (score of the chosen one), in [0, 1]; 1 when
    /// the song offered one reading. Small means the song could as well be heard otherwise.
    pub margin: f32,
}

/// Readings weaker than this fraction of a song's strongest are not offered to the group.
pub const ADMIT: f32 = 0.5;

/// Width (standard deviation, in octaves) of a genre's tempo spread around its centre.
pub const SPREAD_OCTAVES: f32 = 0.15;

/// Weight of a tempo read from a tag or file name (autocorrelation strengths are below 1).
pub const METADATA_WEIGHT: f32 = 2.0;

/// Average hi-hat onsets per beat above which a reading is taken to be too slow.
pub const HAT_DENSE_PER_BEAT: f32 = 3.0;

/// Width (standard deviation, in octaves) of the fall-off of [`hat_evidence`] above
/// [`HAT_DENSE_PER_BEAT`].
pub const HAT_SPREAD_OCTAVES: f32 = 0.3;

/// How much a reading at `bpm` is believed given `hat_rate` hi-hat onsets per second
/// (see [`crate::drums::Rhythm`]): 1 up to [`HAT_DENSE_PER_BEAT`] hats per beat, then a
/// Gaussian fall-off in octaves of the excess (0.15 at 1.5 times that density).
pub fn hat_evidence(bpm: f32, hat_rate: f32) -> f32 {
    let per_beat = hat_rate * 60.0 / bpm;
    if per_beat <= HAT_DENSE_PER_BEAT {
        1.0
    } else {
        let d = (per_beat / HAT_DENSE_PER_BEAT).log2() / HAT_SPREAD_OCTAVES;
        (-0.5 * d * d).exp()
    }
}

/// A snare period counts as evidence when its autocorrelation is at least this.
pub const BACKBEAT_CLARITY: f32 = 0.6;

/// How far (in beats, standard deviation) the snare period may be from a whole number of
/// beats at a believed reading.
pub const BACKBEAT_TOLERANCE_BEATS: f32 = 0.1;

/// How much a reading at `bpm` is believed given the song's snare period (seconds) and its
/// clarity (see [`crate::drums::Rhythm`]): a Gaussian of the period's distance from a
/// whole number (at least 1) of beats, 1 when the period is unclear.
pub fn backbeat_evidence(bpm: f32, period: f32, clarity: f32) -> f32 {
    if clarity < BACKBEAT_CLARITY || period.is_nan() || period <= 0.0 {
        return 1.0;
    }
    let beats = period * bpm / 60.0;
    let d = (beats - beats.round().max(1.0)) / BACKBEAT_TOLERANCE_BEATS;
    (-0.5 * d * d).exp()
}

/// The group's centre (BPM) and each song's choice. Songs without readings get index 0 and
/// margin 0; `None` as centre when no song has a reading.
pub fn choose_readings(songs: &[Vec<Reading>]) -> (Option<f32>, Vec<Choice>) {
    let admitted: Vec<Vec<(usize, f32, f32)>> = songs
        .iter()
        .map(|rs| {
            let weight = |r: &Reading| r.strength * crate::tempo::prior(r.bpm);
            let top = rs.iter().map(weight).fold(0.0f32, f32::max);
            rs.iter()
                .enumerate()
                .filter(|(_, r)| weight(r) > 0.0 && weight(r) >= ADMIT * top)
                .map(|(i, r)| (i, r.bpm.log2(), weight(r)))
                .collect()
        })
        .collect();
    let g = |d: f32| (-0.5 * (d / SPREAD_OCTAVES).powi(2)).exp();
    let fit = |c: f32| -> f32 {
        admitted
            .iter()
            .map(|rs| rs.iter().map(|&(_, l, w)| w * g(l - c)).fold(0.0, f32::max))
            .sum()
    };
    let (lo, hi) = (40f32.log2(), 250f32.log2());
    let steps = ((hi - lo) * 200.0).ceil() as usize;
    let centre = (0..=steps)
        .map(|s| lo + s as f32 / 200.0)
        .map(|c| (c, fit(c)))
        .filter(|&(_, f)| f > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c);
    let choices = admitted
        .iter()
        .map(|rs| {
            let Some(c) = centre else {
                return Choice {
                    index: 0,
                    margin: 0.0,
                };
            };
            let mut scored: Vec<(usize, f32)> =
                rs.iter().map(|&(i, l, w)| (i, w * g(l - c))).collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1));
            match scored.as_slice() {
                [] => Choice {
                    index: 0,
                    margin: 0.0,
                },
                [only] => Choice {
                    index: only.0,
                    margin: 1.0,
                },
                [first, second, ..] => Choice {
                    index: first.0,
                    margin: if first.1 > 0.0 {
                        1.0 - second.1 / first.1
                    } else {
                        0.0
                    },
                },
            }
        })
        .collect();
    (centre.map(f32::exp2), choices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(bpm: f32, strength: f32) -> Reading {
        Reading { bpm, strength }
    }

    #[test]
    fn the_genre_decides_the_octave_of_an_ambiguous_song() {
        // Four lo-fi songs heard near 78 BPM, one heard at double time whose half is nearly
        // as strong: the group hears it at half.
        let songs = vec![
            vec![r(76.0, 0.5), r(152.0, 0.3)],
            vec![r(80.0, 0.6)],
            vec![r(78.0, 0.4), r(156.0, 0.25)],
            vec![r(74.0, 0.5)],
            vec![r(147.0, 0.5), r(73.5, 0.4)],
        ];
        let (centre, choices) = choose_readings(&songs);
        let c = centre.unwrap();
        assert!((c - 77.0).abs() < 4.0, "{c}");
        let picked: Vec<f32> = choices
            .iter()
            .zip(&songs)
            .map(|(ch, s)| s[ch.index].bpm)
            .collect();
        assert_eq!(picked, vec![76.0, 80.0, 78.0, 74.0, 73.5]);
        assert_eq!(choices[1].margin, 1.0);
        assert!(choices[4].margin > 0.5, "{:?}", choices[4]);
    }

    #[test]
    fn rhythm_evidence_by_hand() {
        // 6 hats a second: 2.4 a beat at 150 BPM, 4.8 at 75 (1.6 times the dense limit).
        assert_eq!(hat_evidence(150.0, 6.0), 1.0);
        let want = (-0.5 * (1.6f32.log2() / HAT_SPREAD_OCTAVES).powi(2)).exp();
        assert!((hat_evidence(75.0, 6.0) - want).abs() < 1e-6);
        assert!(hat_evidence(75.0, 6.0) < 0.1);
        // A clap every 1.6 s: 4 beats at 150, 2 at 75, 3.2 at 120 (0.2 beats off: 2 sigma).
        assert!((backbeat_evidence(150.0, 1.6, 0.9) - 1.0).abs() < 1e-5);
        assert!((backbeat_evidence(75.0, 1.6, 0.9) - 1.0).abs() < 1e-5);
        let e = backbeat_evidence(120.0, 1.6, 0.9);
        assert!((e - (-2.0f32).exp()).abs() < 1e-3, "{e}");
        // An unclear period is no evidence.
        assert_eq!(backbeat_evidence(120.0, 1.6, 0.5), 1.0);
    }

    #[test]
    fn weak_readings_and_metadata() {
        // A reading whose weight is below ADMIT of the song's largest is never taken, even if
        // it fits.
        let songs = vec![
            vec![r(140.0, 0.5)],
            vec![r(142.0, 0.5)],
            vec![r(95.0, 0.6), r(142.5, 0.2)],
        ];
        let (_, ch) = choose_readings(&songs);
        assert_eq!(ch[2].index, 0);
        // Metadata outweighs the detector for the centre. (Weights: 150 BPM 0.6 x 0.92, 75
        // BPM 0.5 x 0.62, above ADMIT of the former.)
        let songs = vec![
            vec![r(150.0, 0.6), r(75.0, 0.5)],
            vec![r(76.0, METADATA_WEIGHT)],
            vec![r(77.0, METADATA_WEIGHT)],
        ];
        let (c, ch) = choose_readings(&songs);
        assert!((c.unwrap() - 76.0).abs() < 3.0);
        assert_eq!(ch[0].index, 1);
        // A lone song keeps its strongest reading; no readings, no centre.
        let (_, ch) = choose_readings(&[vec![r(150.0, 0.6), r(75.0, 0.4)]]);
        assert_eq!(ch[0].index, 0);
        let (c, ch) = choose_readings(&[vec![]]);
        assert_eq!((c, ch[0].margin), (None, 0.0));
    }
}
