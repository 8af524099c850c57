//! Which tempo each song's examples are cut at.
//!
//! In order of trust:
//! 0. the tempo the user gives with `--bar-lines` (see [`super::bar_lines`]), used even when
//!    metadata is ignored;
//! 1. the tempo a tag declares (ID3 `TBPM`, a Vorbis or FLAC `BPM` comment);
//! 2. a number followed by "bpm" in the file name (`trap-01-138bpm.mp3`, `loop 92 BPM.wav`);
//! 3. the detector's readings of the song (its best tempo and the half, double, 2/3 and 3/2
//!    readings its autocorrelation supports), one chosen for each song together with the other
//!    songs of its genre folder ([`dsp::tempo_octave`]); songs directly in the songs folder
//!    (`unlabelled`) decide alone.
//!
//! Metadata fixes the octave and the audio refines it: the examples are cut at the
//! autocorrelation peak within 4% of the declared tempo ([`dsp::tempo::TempoAnalysis::near`]),
//! or at the declared tempo itself when there is none (a file name's "74bpm" for a song at
//! 73.5 gives 73.5). A song whose audio moves at another tempo throughout is not cut at the
//! declared one: it is skipped ([`dsp::tempo_steady`], in `find_examples`). With
//! `use_metadata` false only the detector is used.

use std::path::Path;

use dsp::tempo_octave::{
    backbeat_evidence, choose_readings, hat_evidence, Reading, METADATA_WEIGHT,
};
use serde::Serialize;

use super::cache::SongMeta;

/// Where a song's tempo came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TempoSource {
    /// The `--bar-lines` file.
    Given,
    /// A `TBPM` frame or `BPM` comment.
    Tag,
    /// A number followed by "bpm" in the file name.
    FileName,
    /// The detector's own best reading.
    Detector,
    /// Another reading of the detector (half, double, 2/3 or 3/2), chosen to agree with the
    /// genre's other songs.
    Genre,
    /// No tempo (nothing periodic and no metadata).
    None,
}

impl TempoSource {
    /// The name `dataset-info` prints and `--json` writes.
    pub fn name(self) -> &'static str {
        match self {
            TempoSource::Given => "given",
            TempoSource::Tag => "tag",
            TempoSource::FileName => "file-name",
            TempoSource::Detector => "detector",
            TempoSource::Genre => "genre",
            TempoSource::None => "none",
        }
    }
}

/// The tempo a song should be cut at, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TempoPlan {
    /// BPM to seek the song's tempo near; `None`: no tempo.
    pub target: Option<f32>,
    pub source: TempoSource,
    /// How sure the choice is, in [0, 1] (see [`dsp::tempo_octave::Choice::margin`]); 1 for
    /// metadata.
    pub margin: f32,
}

/// Songs whose margin is below this are listed as unsure by `dataset-info`.
pub const UNSURE_MARGIN: f32 = 0.25;

/// The tempo a file name declares: the number right before "bpm" (any case, optionally
/// separated by a space, `_` or `-`), if it is in 40..=250.
pub fn bpm_in_name(path: &Path) -> Option<f32> {
    let stem = path.file_stem()?.to_str()?.to_ascii_lowercase();
    stem.match_indices("bpm").find_map(|(i, _)| {
        let before = stem[..i].trim_end_matches([' ', '_', '-']);
        let start = before
            .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
            .map_or(0, |j| j + 1);
        before[start..]
            .parse::<f32>()
            .ok()
            .filter(|b| (40.0..=250.0).contains(b))
    })
}

/// The metadata tempo of a song, if any: its tag (`tagged_bpm`, see
/// [`dsp::Decoded::tagged_bpm`]), else its file name.
pub fn metadata_bpm(path: &Path, tagged_bpm: Option<f32>) -> Option<(f32, TempoSource)> {
    tagged_bpm
        .map(|b| (b, TempoSource::Tag))
        .or_else(|| bpm_in_name(path).map(|b| (b, TempoSource::FileName)))
}

/// One plan per song. `songs[i]` is (genre folder, or `None` for a song that decides alone;
/// path; what the first analysis found); `given[i]` the tempo the user gave for it, if any
/// (`given` may be shorter than `songs`, or empty).
pub fn plan(
    songs: &[(Option<&str>, &Path, &SongMeta)],
    use_metadata: bool,
    given: &[Option<f32>],
) -> Vec<TempoPlan> {
    let mut plans = vec![
        TempoPlan {
            target: None,
            source: TempoSource::None,
            margin: 0.0,
        };
        songs.len()
    ];
    let mut groups: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (i, (genre, _, _)) in songs.iter().enumerate() {
        match genre {
            Some(g) => groups.entry(*g).or_default().push(i),
            None => plans[i] = plan_group(songs, &[i], use_metadata, given)[0],
        }
    }
    for members in groups.values() {
        for (&i, p) in members
            .iter()
            .zip(plan_group(songs, members, use_metadata, given))
        {
            plans[i] = p;
        }
    }
    plans
}

fn plan_group(
    songs: &[(Option<&str>, &Path, &SongMeta)],
    members: &[usize],
    use_metadata: bool,
    given: &[Option<f32>],
) -> Vec<TempoPlan> {
    let metadata: Vec<Option<(f32, TempoSource)>> = members
        .iter()
        .map(|&i| {
            let given = given.get(i).copied().flatten();
            given.map(|b| (b, TempoSource::Given)).or_else(|| {
                use_metadata
                    .then(|| metadata_bpm(songs[i].1, songs[i].2.tagged_bpm))
                    .flatten()
            })
        })
        .collect();
    let readings: Vec<Vec<Reading>> = members
        .iter()
        .zip(&metadata)
        .map(|(&i, m)| match m {
            Some((bpm, _)) => vec![Reading {
                bpm: *bpm,
                strength: METADATA_WEIGHT,
            }],
            None => songs[i]
                .2
                .tempo_readings
                .iter()
                // A song alone keeps to the detector's range; a folder may agree on a
                // faster reading (see dsp::tempo::GROUP_MAX_BPM).
                .chain(
                    songs[i]
                        .2
                        .group_reading
                        .iter()
                        .filter(|_| members.len() > 1),
                )
                .map(|&(bpm, strength)| {
                    let m = songs[i].2;
                    let backbeat = m
                        .snare_period
                        .map_or(1.0, |(p, c)| backbeat_evidence(bpm, p, c));
                    Reading {
                        bpm,
                        strength: strength * hat_evidence(bpm, m.hat_rate) * backbeat,
                    }
                })
                .collect(),
        })
        .collect();
    let (_, choices) = choose_readings(&readings);
    choices
        .iter()
        .zip(&readings)
        .zip(&metadata)
        .map(|((c, rs), m)| match (m, rs.get(c.index)) {
            (Some((bpm, source)), _) => TempoPlan {
                target: Some(*bpm),
                source: *source,
                margin: 1.0,
            },
            (None, Some(r)) => TempoPlan {
                target: Some(r.bpm),
                source: if c.index == 0 {
                    TempoSource::Detector
                } else {
                    TempoSource::Genre
                },
                margin: c.margin,
            },
            (None, None) => TempoPlan {
                target: None,
                source: TempoSource::None,
                margin: 0.0,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tempo_in_file_names() {
        for (name, bpm) in [
            ("trap-01-138bpm.mp3", Some(138.0)),
            ("loop 92 BPM.wav", Some(92.0)),
            ("Beat_87.5_bpm_final.flac", Some(87.5)),
            ("lo-fi-01-74bpm.mp3", Some(74.0)),
            ("bpm.mp3", None),
            ("track 12 - 2019 bpm.mp3", None),
            ("song-140.mp3", None),
            ("a-5bpm-120bpm.mp3", Some(120.0)),
        ] {
            assert_eq!(bpm_in_name(Path::new(name)), bpm, "{name}");
        }
    }

    fn meta(readings: &[(f32, f32)], tag: Option<f32>) -> SongMeta {
        SongMeta {
            tempo_readings: readings.to_vec(),
            tagged_bpm: tag,
            ..SongMeta::new(0)
        }
    }

    #[test]
    fn metadata_outranks_the_detector_and_genres_choose_octaves() {
        let m = [
            meta(&[(150.0, 0.5), (75.0, 0.4)], None),
            meta(&[(78.0, 0.5)], None),
            meta(&[(80.0, 0.5)], None),
            meta(&[(150.0, 0.5)], Some(151.0)),
            meta(&[(150.0, 0.5), (75.0, 0.4)], None),
        ];
        let p = |s: &'static str| Path::new(s);
        let songs = [
            (Some("lo-fi"), p("a.mp3"), &m[0]),
            (Some("lo-fi"), p("b.mp3"), &m[1]),
            (Some("lo-fi"), p("c 79bpm.mp3"), &m[2]),
            (Some("trap"), p("d.mp3"), &m[3]),
            (None, p("e.mp3"), &m[4]),
        ];
        let plans = plan(&songs, true, &[]);
        let got: Vec<(Option<f32>, TempoSource)> =
            plans.iter().map(|p| (p.target, p.source)).collect();
        assert_eq!(
            got,
            vec![
                (Some(75.0), TempoSource::Genre),
                (Some(78.0), TempoSource::Detector),
                (Some(79.0), TempoSource::FileName),
                (Some(151.0), TempoSource::Tag),
                (Some(150.0), TempoSource::Detector),
            ]
        );
        // Without metadata the file name and the tag are ignored.
        let plans = plan(&songs, false, &[]);
        assert_eq!(plans[2].target, Some(80.0));
        assert_eq!(plans[3].source, TempoSource::Detector);
        // A tempo the user gives outranks the tag, with or without metadata, and anchors the
        // genre's choice like metadata: the lo-fi song read at 150 is taken at 75 either way.
        for use_metadata in [true, false] {
            let plans = plan(&songs, use_metadata, &[None, None, None, Some(140.0)]);
            assert_eq!(
                (plans[3].target, plans[3].source),
                (Some(140.0), TempoSource::Given)
            );
            assert_eq!(plans[0].target, Some(75.0));
        }
    }

    #[test]
    fn only_a_genre_folder_may_agree_on_a_reading_above_the_detector_s_range() {
        // Reggae written at 180 whose beat the detector hears at 2/3 (120, its best reading
        // in 60-160 BPM): each song also offers its folder 3/2 of that, 180, which repeats
        // more strongly.
        let fast = |best: f32, group: (f32, f32)| SongMeta {
            group_reading: Some(group),
            ..meta(&[(best, 0.3)], None)
        };
        let m = [
            fast(120.0, (180.0, 0.8)),
            fast(122.0, (183.0, 0.7)),
            fast(118.0, (177.0, 0.8)),
            // A song the detector itself reads a little over 160 BPM.
            meta(&[(163.0, 0.5), (81.5, 0.45)], None),
        ];
        let p = Path::new("x.wav");
        let folder: Vec<_> = m[..3].iter().map(|m| (Some("reggae"), p, m)).collect();
        let plans = plan(&folder, false, &[]);
        let got: Vec<Option<f32>> = plans.iter().map(|p| p.target).collect();
        assert_eq!(got, vec![Some(180.0), Some(183.0), Some(177.0)]);
        // The same songs alone keep to the detector's readings.
        let alone: Vec<_> = m.iter().map(|m| (None, p, m)).collect();
        let plans = plan(&alone, false, &[]);
        let got: Vec<Option<f32>> = plans.iter().map(|p| p.target).collect();
        assert_eq!(
            got,
            vec![Some(120.0), Some(122.0), Some(118.0), Some(163.0)]
        );
    }
}
