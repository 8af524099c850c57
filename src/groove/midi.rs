//! Standard MIDI Files (format 1, [`TICKS_PER_QUARTER`] ticks per quarter note) of a
//! [`Groove`], through the `midly` crate. Track 0 holds the tempo and a 4/4 time signature;
//! then one track per channel used, named "drums", "bass" or "keys". Reading converts ticks
//! back to seconds through the file's tempo map (120 BPM until the first tempo event). A note
//! is written to end no later than the next start of the same key on its channel.

use std::path::Path;

use anyhow::Context;
use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use super::{Groove, Note, BASS_CHANNEL, DRUM_CHANNEL, KEYS_CHANNEL};

/// Time resolution of written files.
pub const TICKS_PER_QUARTER: u16 = 480;

/// Largest file [`read`] accepts (bytes): a groove file is a few kB.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

fn track_name(channel: u8) -> String {
    match channel {
        DRUM_CHANNEL => "drums".into(),
        BASS_CHANNEL => "bass".into(),
        KEYS_CHANNEL => "keys".into(),
        c => format!("channel {}", c + 1),
    }
}

/// The file's bytes.
pub fn encode(g: &Groove) -> Vec<u8> {
    let ticks_per_second = g.bpm / 60.0 * TICKS_PER_QUARTER as f64;
    let tick = |s: f64| (s.max(0.0) * ticks_per_second).round() as u64;
    let micros_per_quarter = (60e6 / g.bpm).round().clamp(1.0, 16_777_215.0) as u32;
    let names: Vec<Vec<u8>> = (0..16u8).map(|c| track_name(c).into_bytes()).collect();
    let delta = |d: u64| u28::new(d.min(u28::max_value().as_int() as u64) as u32);
    let mut tracks = vec![vec![
        TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::Tempo(u24::new(micros_per_quarter))),
        },
        TrackEvent {
            delta: u28::new(0),
            // 4/4; a metronome click every quarter (24 MIDI clocks); 8 32nds per quarter.
            kind: TrackEventKind::Meta(MetaMessage::TimeSignature(4, 2, 24, 8)),
        },
        TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
        },
    ]];
    let mut channels: Vec<u8> = g.notes.iter().map(|n| n.channel).collect();
    channels.sort_unstable_by_key(|&c| (c != DRUM_CHANNEL, c));
    channels.dedup();
    for ch in channels {
        // (tick, on?, key, velocity): offs before ons at the same tick, so a repeated note
        // is retriggered; a note ends at the latest where the same key starts again.
        let mut notes: Vec<&Note> = g.notes.iter().filter(|n| n.channel == ch).collect();
        notes.sort_by(|a, b| a.key.cmp(&b.key).then(a.seconds.total_cmp(&b.seconds)));
        let mut msgs: Vec<(u64, bool, u8, u8)> = Vec::with_capacity(2 * notes.len());
        for (i, n) in notes.iter().enumerate() {
            let on = tick(n.seconds);
            let mut off = tick(n.seconds + n.length).max(on + 1);
            if let Some(next) = notes.get(i + 1).filter(|m| m.key == n.key) {
                off = off.min(tick(next.seconds).max(on));
            }
            msgs.push((on, true, n.key, n.velocity));
            msgs.push((off, false, n.key, 0));
        }
        msgs.sort_by_key(|&(t, on, key, _)| (t, on, key));
        let mut events = vec![TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::TrackName(&names[ch as usize])),
        }];
        let mut now = 0u64;
        for (t, on, key, vel) in msgs {
            let channel = u4::new(ch);
            let key = u7::new(key.min(127));
            let message = if on {
                MidiMessage::NoteOn {
                    key,
                    vel: u7::new(vel.clamp(1, 127)),
                }
            } else {
                MidiMessage::NoteOff {
                    key,
                    vel: u7::new(0),
                }
            };
            events.push(TrackEvent {
                delta: delta(t - now),
                kind: TrackEventKind::Midi { channel, message },
            });
            now = t;
        }
        events.push(TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
        });
        tracks.push(events);
    }
    let smf = Smf {
        header: Header::new(
            Format::Parallel,
            Timing::Metrical(u15::new(TICKS_PER_QUARTER)),
        ),
        tracks,
    };
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes)
        .expect("writing to memory cannot fail");
    bytes
}

/// Write `g` to `path` (through a temporary file, renamed into place).
pub fn write(path: &Path, g: &Groove) -> anyhow::Result<()> {
    dsp::atomic::write_atomically(path, &encode(g))
        .with_context(|| format!("{}: cannot write the MIDI file", path.display()))
}

/// Read a Standard MIDI File (format 0 or 1, metrical timing): its notes in seconds and its
/// first tempo (120 when it has none).
pub fn read(path: &Path) -> anyhow::Result<Groove> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("{}: cannot open", path.display()))?
        .len();
    anyhow::ensure!(
        size <= MAX_FILE_BYTES,
        "{}: {size} bytes is too large for a MIDI groove file (at most {MAX_FILE_BYTES})",
        path.display()
    );
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    decode(&bytes).with_context(|| format!("{}: not a usable MIDI file", path.display()))
}

/// The notes of a file's bytes (see [`read`]).
pub fn decode(bytes: &[u8]) -> anyhow::Result<Groove> {
    let smf = Smf::parse(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let Timing::Metrical(tpq) = smf.header.timing else {
        anyhow::bail!("SMPTE (timecode) timing is not supported");
    };
    let tpq = tpq.as_int().max(1) as f64;
    // Tempo map from every track: (tick, microseconds per quarter).
    let mut tempi: Vec<(u64, f64)> = Vec::new();
    for track in &smf.tracks {
        let mut t = 0u64;
        for e in track {
            t += e.delta.as_int() as u64;
            if let TrackEventKind::Meta(MetaMessage::Tempo(us)) = e.kind {
                tempi.push((t, us.as_int().max(1) as f64));
            }
        }
    }
    tempi.sort_by_key(|t| t.0);
    let bpm = tempi.first().map_or(120.0, |&(_, us)| 60e6 / us);
    // Seconds at a tick: integrate the tempo map.
    let seconds = |tick: u64| {
        let (mut s, mut at, mut us) = (0.0, 0u64, 500_000.0);
        for &(t, u) in tempi.iter().take_while(|(t, _)| *t <= tick) {
            s += (t - at) as f64 * us / tpq * 1e-6;
            (at, us) = (t, u);
        }
        s + (tick - at) as f64 * us / tpq * 1e-6
    };
    let mut notes = Vec::new();
    let note = |(channel, key): (u8, u8), (start, velocity): (u64, u8), end: u64| Note {
        seconds: seconds(start),
        length: seconds(end) - seconds(start),
        channel,
        key,
        velocity,
    };
    for track in &smf.tracks {
        let mut t = 0u64;
        // Sounding notes: (channel, key) -> (start tick, velocity).
        let mut open: std::collections::HashMap<(u8, u8), (u64, u8)> = Default::default();
        for e in track {
            t += e.delta.as_int() as u64;
            let TrackEventKind::Midi { channel, message } = e.kind else {
                continue;
            };
            let ch = channel.as_int();
            let (key, on_vel) = match message {
                MidiMessage::NoteOn { key, vel } => (key.as_int(), vel.as_int()),
                MidiMessage::NoteOff { key, .. } => (key.as_int(), 0),
                _ => continue,
            };
            // A new start or an end closes the sounding note.
            if let Some(sounding) = open.remove(&(ch, key)) {
                notes.push(note((ch, key), sounding, t));
            }
            if on_vel > 0 {
                open.insert((ch, key), (t, on_vel));
            }
        }
        // Notes never ended last until the end of the track.
        notes.extend(open.into_iter().map(|(k, sounding)| note(k, sounding, t)));
    }
    notes.sort_by(|a, b| {
        a.seconds
            .total_cmp(&b.seconds)
            .then(a.channel.cmp(&b.channel))
            .then(a.key.cmp(&b.key))
    });
    Ok(Groove { bpm, notes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groove::{KICK, OPEN_HAT};

    fn note(seconds: f64, length: f64, channel: u8, key: u8, velocity: u8) -> Note {
        Note {
            seconds,
            length,
            channel,
            key,
            velocity,
        }
    }

    /// The bytes of a one-note file, written by hand from the SMF specification: a writer
    /// that got the header, delta times or status bytes wrong would differ.
    #[test]
    fn a_one_note_file_has_the_bytes_of_the_specification() {
        let g = Groove {
            bpm: 120.0,
            notes: vec![note(0.5, 0.25, DRUM_CHANNEL, KICK, 100)],
        };
        let b = encode(&g);
        // MThd, length 6, format 1, 2 tracks, 480 ticks per quarter.
        assert_eq!(&b[..14], b"MThd\0\0\0\x06\0\x01\0\x02\x01\xe0");
        // Tempo 500000 us per quarter = 0x07A120.
        let tempo = b
            .windows(6)
            .position(|w| w == [0xFF, 0x51, 3, 0x07, 0xA1, 0x20]);
        assert!(tempo.is_some());
        // Note on at 0.5 s = 480 ticks (delta 0x83 0x60), channel 10 (0x99), key 36, vel 100;
        // note off 0.25 s = 240 ticks later (0x81 0x70), 0x89.
        let on = [0x83, 0x60, 0x99, 36, 100];
        let off = [0x81, 0x70, 0x89, 36, 0];
        let i = b.windows(5).position(|w| w == on).expect("note on");
        assert_eq!(&b[i + 5..i + 10], off);
    }

    #[test]
    fn notes_survive_a_round_trip_to_the_tick() {
        let g = Groove {
            bpm: 93.5,
            notes: vec![
                note(0.0, 1.3, BASS_CHANNEL, 33, 90),
                note(0.0, 0.1, DRUM_CHANNEL, KICK, 127),
                note(0.7, 0.1, DRUM_CHANNEL, OPEN_HAT, 12),
                note(0.71, 0.1, DRUM_CHANNEL, OPEN_HAT, 1),
                note(2.25, 0.5, KEYS_CHANNEL, 64, 50),
            ],
        };
        let back = decode(&encode(&g)).unwrap();
        assert!((back.bpm - 93.5).abs() < 1e-3);
        assert_eq!(back.notes.len(), g.notes.len());
        let tick = 60.0 / 93.5 / TICKS_PER_QUARTER as f64;
        // The first open hat ends where the second starts.
        let mut g = g;
        g.notes[2].length = 0.01;
        for (a, b) in g.notes.iter().zip(&back.notes) {
            assert_eq!(
                (a.channel, a.key, a.velocity),
                (b.channel, b.key, b.velocity)
            );
            assert!((a.seconds - b.seconds).abs() <= tick, "{a:?} {b:?}");
            assert!((a.length - b.length).abs() <= 2.0 * tick, "{a:?} {b:?}");
        }
    }

    #[test]
    fn garbage_is_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("not a groove.mid");
        std::fs::write(&p, b"RIFF....WAVE").unwrap();
        let e = format!("{:#}", read(&p).unwrap_err());
        assert!(e.contains("not a groove.mid") && e.contains("MIDI"), "{e}");
    }
}
