//! Rendering the genre grammars through a SoundFont (General MIDI), so that a corpus can be
//! made of recorded drum samples rather than the built-in synthesiser. The same pattern
//! grammar, swing and timing rule (`event_seconds`) and the same mix ending
//! (`finish_mix`) as the built-in corpus; the voices become General MIDI notes:
//!
//! (see [`super::pattern::Voice::midi`]), the kit and programs by genre (see [`kits`]).
//!
//! A font without the kit or program asked for falls back to General MIDI's standard kit or
//! to its first melodic preset (rustysynth's rule).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rand::seq::SliceRandom;
use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};

use super::pattern::song_events;
use super::{event_seconds, finish_mix, Genre, RenderedSong, SongSpec};

const DRUMS: i32 = crate::groove::DRUM_CHANNEL as i32;
const BASS: i32 = crate::groove::BASS_CHANNEL as i32;
const KEYS: i32 = crate::groove::KEYS_CHANNEL as i32;

/// Load a SoundFont (`.sf2`), with the file named in any error.
pub fn load(path: &Path) -> anyhow::Result<Arc<SoundFont>> {
    let mut f = std::fs::File::open(path)
        .with_context(|| format!("{}: cannot open the SoundFont", path.display()))?;
    let font = SoundFont::new(&mut f)
        .map_err(|e| anyhow::anyhow!("{}: not a usable SoundFont ({e:?})", path.display()))?;
    Ok(Arc::new(font))
}

/// Drum kits (General MIDI bank 128 programs), bass and keys programs a genre picks from.
pub fn kits(genre: Genre) -> (&'static [i32], &'static [i32], &'static [i32]) {
    match genre {
        // Standard, Room, Power; finger bass, acoustic bass; piano, electric piano.
        Genre::BoomBap => (&[0, 8, 16], &[33, 32], &[0, 4]),
        // TR-808, Electronic; synth basses; electric piano, vibraphone, square lead.
        Genre::Trap | Genre::Drill => (&[25, 24], &[38, 39], &[4, 11, 80]),
        // Jazz, Brush, Room; acoustic and finger bass; electric pianos.
        Genre::LoFi => (&[32, 40, 8], &[32, 33], &[4, 5]),
        // Electronic, TR-808, Standard; synth bass; electric piano, saw lead, pad.
        Genre::House => (&[24, 25, 0], &[38, 39], &[4, 81, 89]),
    }
}

/// A MIDI message at a time (seconds).
struct Message {
    time: f32,
    channel: i32,
    key: i32,
    /// 0 for note off.
    velocity: i32,
}

/// Render a song through `font` to mono samples at `spec.sample_rate`, peak at -1 dBFS, with
/// the notes it plays.
pub fn render_song(spec: &SongSpec, font: &Arc<SoundFont>) -> anyhow::Result<RenderedSong> {
    let sr = spec.sample_rate;
    let mut rng = dsp::rng::SplitMix64::new(spec.kit_seed ^ 0x50F7);
    let beat_s = 60.0 / spec.bpm;
    let bars = (spec.seconds / (4.0 * beat_s)).ceil() as usize + 1;
    let events = song_events(spec.genre, bars, spec.root, &mut rng);
    let (kit_choices, bass_choices, keys_choices) = kits(spec.genre);
    let kit = *kit_choices.choose(&mut rng).expect("choices");
    let bass = *bass_choices.choose(&mut rng).expect("choices");
    let keys = *keys_choices.choose(&mut rng).expect("choices");
    let mut msgs = Vec::with_capacity(2 * events.len());
    let mut notes = Vec::with_capacity(events.len());
    for e in &events {
        let t = event_seconds(spec, e, &mut rng).max(0.0);
        let (channel, key, hold) = e.voice.midi(beat_s);
        let note = super::true_note(e, t, channel, key, hold);
        msgs.push(Message {
            time: t,
            channel: channel as i32,
            key: key as i32,
            velocity: note.velocity as i32,
        });
        msgs.push(Message {
            time: t + hold,
            channel: channel as i32,
            key: key as i32,
            velocity: 0,
        });
        if t < spec.seconds {
            notes.push(note);
        }
    }
    // In time order; at equal times note-offs first, so a repeated note is retriggered.
    msgs.sort_by(|a, b| a.time.total_cmp(&b.time).then(a.velocity.cmp(&b.velocity)));
    let settings = SynthesizerSettings::new(sr as i32);
    let mut synth = Synthesizer::new(font, &settings)
        .map_err(|e| anyhow::anyhow!("cannot start the SoundFont synthesiser: {e:?}"))?;
    for (channel, program) in [(DRUMS, kit), (BASS, bass), (KEYS, keys)] {
        synth.process_midi_message(channel, 0xC0, program, 0);
    }
    let n = (spec.seconds * sr as f32) as usize;
    let (mut left, mut right) = (vec![0.0f32; n], vec![0.0f32; n]);
    let mut pos = 0usize;
    for m in msgs.iter().chain(std::iter::once(&Message {
        time: f32::INFINITY,
        channel: 0,
        key: 0,
        velocity: 0,
    })) {
        let until = ((m.time * sr as f32) as usize).min(n);
        if until > pos {
            synth.render(&mut left[pos..until], &mut right[pos..until]);
            pos = until;
        }
        if pos >= n {
            break;
        }
        if m.velocity > 0 {
            synth.note_on(m.channel, m.key, m.velocity);
        } else {
            synth.note_off(m.channel, m.key);
        }
    }
    let mut out: Vec<f32> = left
        .iter()
        .zip(&right)
        .map(|(l, r)| 0.5 * (l + r))
        .collect();
    finish_mix(spec, &mut out, &mut rng);
    Ok(RenderedSong::new(out, notes, spec))
}
