//! The groove of a beat as notes: General MIDI drums (channel 10) and a pitched bass line, at
//! times in seconds from the start of the audio. Made by transcribing a spectrogram
//! ([`dsp::drums`]) or, for the synthesised corpus, from the notes it was rendered from;
//! written and read as Standard MIDI Files ([`midi`]); snapped to the bar grid ([`quantize`]);
//! compared with a reference ([`score`]).

pub mod midi;
pub mod onset_net;
pub mod quantize;
pub mod roll;
pub mod score;
pub mod transcribe;

use dsp::drums::{Hit, Instrument};
use serde::Serialize;

/// MIDI channels (0-based): drums on General MIDI's channel 10, bass on 1, keys on 2.
pub const DRUM_CHANNEL: u8 = 9;
pub const BASS_CHANNEL: u8 = 0;
pub const KEYS_CHANNEL: u8 = 1;

/// General MIDI drum keys.
pub const KICK: u8 = 36;
pub const RIM: u8 = 37;
pub const SNARE: u8 = 38;
pub const CLAP: u8 = 39;
pub const CLOSED_HAT: u8 = 42;
pub const OPEN_HAT: u8 = 46;

/// How long a drum note is held (seconds): drum sounds mostly ignore it, but a note needs an
/// end. Written files end a note earlier when the same drum plays again.
pub const DRUM_NOTE_SECONDS: f64 = 0.2;

/// One note.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Note {
    /// Onset, seconds from the start of the audio.
    pub seconds: f64,
    /// Duration in seconds.
    pub length: f64,
    /// 0-based MIDI channel ([`DRUM_CHANNEL`] for drums).
    pub channel: u8,
    /// MIDI key: a General MIDI drum on the drum channel, else a pitch.
    pub key: u8,
    /// 1..=127.
    pub velocity: u8,
}

/// The parts a transcription tells apart; each is scored on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Kick,
    /// Snare, clap or rim shot: the backbeat.
    Snare,
    /// Closed or open hi-hat.
    Hat,
    /// The bass line (808): pitched notes on their own channel.
    Bass,
}

impl Part {
    pub const ALL: [Part; 4] = [Part::Kick, Part::Snare, Part::Hat, Part::Bass];

    /// The part a note belongs to, if any (keys and other drums have none).
    pub fn of(n: &Note) -> Option<Part> {
        match (n.channel, n.key) {
            (DRUM_CHANNEL, 35 | KICK) => Some(Part::Kick),
            (DRUM_CHANNEL, RIM | SNARE | CLAP | 40) => Some(Part::Snare),
            (DRUM_CHANNEL, CLOSED_HAT | 44 | OPEN_HAT) => Some(Part::Hat),
            (BASS_CHANNEL, _) => Some(Part::Bass),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Part::Kick => "kick",
            Part::Snare => "snare",
            Part::Hat => "hat",
            Part::Bass => "bass",
        }
    }
}

/// A beat's notes at a tempo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Groove {
    /// Tempo (quarter notes per minute) written into the file.
    pub bpm: f64,
    /// Notes in time order.
    pub notes: Vec<Note>,
}

impl Groove {
    /// A groove of transcribed hits: hit times are frames of `frame_seconds` each, from the
    /// start of the audio. Velocity follows the hit's level relative to the loudest hit of its
    /// instrument, 40 dB below it being velocity 1 ([`velocity_of`]).
    pub fn from_hits(hits: &[Hit], frame_seconds: f64, bpm: f64) -> Groove {
        let mut loudest = [f32::NEG_INFINITY; Instrument::ALL.len()];
        for h in hits {
            let i = h.instrument as usize;
            loudest[i] = loudest[i].max(h.level_db);
        }
        let mut notes: Vec<Note> = hits
            .iter()
            .map(|h| {
                let (channel, key) = match h.instrument {
                    Instrument::Kick => (DRUM_CHANNEL, KICK),
                    Instrument::Snare => (DRUM_CHANNEL, SNARE),
                    Instrument::ClosedHat => (DRUM_CHANNEL, CLOSED_HAT),
                    Instrument::OpenHat => (DRUM_CHANNEL, OPEN_HAT),
                    Instrument::Bass => (
                        BASS_CHANNEL,
                        h.pitch.map_or(36, |p| p.round().clamp(0.0, 127.0) as u8),
                    ),
                };
                let length = match h.instrument {
                    Instrument::Bass => h.frames as f64 * frame_seconds,
                    _ => DRUM_NOTE_SECONDS,
                };
                Note {
                    seconds: h.frame as f64 * frame_seconds,
                    length,
                    channel,
                    key,
                    velocity: velocity_of(h.level_db - loudest[h.instrument as usize]),
                }
            })
            .collect();
        notes.sort_by(|a, b| a.seconds.total_cmp(&b.seconds).then(a.key.cmp(&b.key)));
        Groove { bpm, notes }
    }

    /// The notes of one part.
    pub fn part(&self, p: Part) -> impl Iterator<Item = &Note> {
        self.notes.iter().filter(move |n| Part::of(n) == Some(p))
    }

    /// The groove repeated `times` times, each copy `period` seconds after the last.
    pub fn tiled(&self, period: f64, times: usize) -> Groove {
        let notes = (0..times)
            .flat_map(|k| {
                self.notes.iter().map(move |n| Note {
                    seconds: n.seconds + k as f64 * period,
                    ..*n
                })
            })
            .collect();
        Groove {
            bpm: self.bpm,
            notes,
        }
    }
}

/// MIDI velocity of a hit `rel_db` dB relative to the loudest of its kind: 127 at 0 dB, falling
/// linearly to 1 at -40 dB and below.
pub fn velocity_of(rel_db: f32) -> u8 {
    (127.0 + rel_db.min(0.0) * 126.0 / 40.0)
        .round()
        .clamp(1.0, 127.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn velocity_scale_ends() {
        assert_eq!(velocity_of(0.0), 127);
        assert_eq!(velocity_of(3.0), 127);
        assert_eq!(velocity_of(-20.0), 64);
        assert_eq!(velocity_of(-40.0), 1);
        assert_eq!(velocity_of(-90.0), 1);
    }

    #[test]
    fn parts_follow_general_midi() {
        let n = |channel, key| Note {
            seconds: 0.0,
            length: 0.1,
            channel,
            key,
            velocity: 100,
        };
        assert_eq!(Part::of(&n(9, 36)), Some(Part::Kick));
        assert_eq!(Part::of(&n(9, 39)), Some(Part::Snare));
        assert_eq!(Part::of(&n(9, 46)), Some(Part::Hat));
        assert_eq!(Part::of(&n(0, 40)), Some(Part::Bass));
        assert_eq!(Part::of(&n(1, 60)), None);
        assert_eq!(Part::of(&n(9, 49)), None);
    }
}
