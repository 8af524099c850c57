//! Pattern grammars: for each genre, which voice plays when, bar by bar. Positions are in
//! beats from the start of the song (a bar is 4 beats; a 16th note is 0.25 beats). Swing and
//! timing jitter are applied when rendering.

use rand::seq::SliceRandom;
use rand::Rng;

use super::genre::Genre;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Voice {
    Kick,
    Snare,
    Clap,
    Hat,
    OpenHat,
    Rim,
    /// 808 bass at a MIDI note for `len` beats; `glide` from the previous bass note.
    Bass {
        note: f32,
        len: f32,
        glide: bool,
    },
    /// Melodic note at a MIDI note for `len` beats.
    Keys {
        note: f32,
        len: f32,
    },
}

impl Voice {
    /// The voice as General MIDI: (0-based channel, key, seconds held) at `beat_s` seconds
    /// per beat. Drums on channel 10 (kick 36, rim 37, snare 38, clap 39, closed hat 42, open
    /// hat 46), bass on channel 1 and keys on channel 2 at their notes.
    pub fn midi(&self, beat_s: f32) -> (u8, u8, f32) {
        use crate::groove::*;
        let drum = |key| (DRUM_CHANNEL, key, DRUM_NOTE_SECONDS as f32);
        let pitch = |n: f32| n.round().clamp(0.0, 127.0) as u8;
        match *self {
            Voice::Kick => drum(KICK),
            Voice::Snare => drum(SNARE),
            Voice::Clap => drum(CLAP),
            Voice::Hat => drum(CLOSED_HAT),
            Voice::OpenHat => drum(OPEN_HAT),
            Voice::Rim => drum(RIM),
            Voice::Bass { note, len, .. } => (BASS_CHANNEL, pitch(note), len * beat_s),
            Voice::Keys { note, len } => (KEYS_CHANNEL, pitch(note), len * beat_s),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub beat: f32,
    pub voice: Voice,
    /// Loudness in (0, 1].
    pub velocity: f32,
}

/// Minor-key progression (scale degrees as semitones above the root) and chord shapes.
const PROGRESSION: [[f32; 4]; 4] = [
    [0.0, 3.0, 7.0, 10.0],
    [8.0, 12.0, 15.0, 19.0],
    [3.0, 7.0, 10.0, 14.0],
    [10.0, 14.0, 17.0, 21.0],
];

/// The events of `bars` bars of `genre`, with the song's key root as a MIDI note.
pub fn song_events(genre: Genre, bars: usize, root: f32, rng: &mut impl Rng) -> Vec<Event> {
    let mut ev = Vec::new();
    let hv = |rng: &mut dyn rand::RngCore, base: f32| (base * rng.gen_range(0.8..1.0f32)).min(1.0);
    // A main kick pattern per song, varied per bar.
    let boom_kicks: [&[f32]; 3] = [
        &[0.0, 1.75, 2.5],
        &[0.0, 0.75, 2.5, 3.25],
        &[0.0, 2.0, 2.75],
    ];
    let trap_kicks: [&[f32]; 3] = [
        &[0.0, 1.5, 2.75],
        &[0.0, 0.75, 2.25, 3.5],
        &[0.0, 1.75, 2.5],
    ];
    let lofi_kicks: [&[f32]; 2] = [&[0.0, 1.5, 2.5], &[0.0, 2.25, 2.75]];
    let drill_kicks: [&[f32]; 2] = [&[0.0, 1.25, 2.5], &[0.0, 0.75, 2.25, 3.0]];
    let kick_choice = rng.gen_range(0..3usize);
    let bass_line: Vec<f32> = (0..4)
        .map(|_| *[0.0f32, 0.0, 3.0, 5.0, 7.0, -2.0].choose(rng).unwrap())
        .collect();
    for bar in 0..bars {
        let b0 = bar as f32 * 4.0;
        let fill = bar % 4 == 3;
        let chord = PROGRESSION[bar % 4];
        match genre {
            Genre::BoomBap => {
                for &k in boom_kicks[kick_choice] {
                    ev.push(Event {
                        beat: b0 + k,
                        voice: Voice::Kick,
                        velocity: hv(rng, 1.0),
                    });
                }
                for s in [1.0, 3.0] {
                    ev.push(Event {
                        beat: b0 + s,
                        voice: Voice::Snare,
                        velocity: hv(rng, 1.0),
                    });
                }
                for i in 0..8 {
                    let accent = if i % 2 == 0 { 0.55 } else { 0.35 };
                    ev.push(Event {
                        beat: b0 + i as f32 * 0.5,
                        voice: Voice::Hat,
                        velocity: hv(rng, accent),
                    });
                }
                if fill {
                    for s in [3.25, 3.5, 3.75] {
                        ev.push(Event {
                            beat: b0 + s,
                            voice: Voice::Snare,
                            velocity: hv(rng, 0.45),
                        });
                    }
                }
                // A sampled-sounding chord stab on 1 and the "and" of 2.
                for (pos, len) in [(0.0, 1.0), (1.5, 0.75)] {
                    for &n in &chord[..3] {
                        ev.push(Event {
                            beat: b0 + pos,
                            voice: Voice::Keys {
                                note: root + 12.0 + n,
                                len,
                            },
                            velocity: 0.35,
                        });
                    }
                }
                ev.push(Event {
                    beat: b0,
                    voice: Voice::Bass {
                        note: root - 12.0 + chord[0],
                        len: 1.5,
                        glide: false,
                    },
                    velocity: 0.6,
                });
            }
            Genre::Trap | Genre::Drill => {
                let kicks = if genre == Genre::Trap {
                    trap_kicks[kick_choice]
                } else {
                    drill_kicks[kick_choice % 2]
                };
                for &k in kicks {
                    ev.push(Event {
                        beat: b0 + k,
                        voice: Voice::Kick,
                        velocity: hv(rng, 0.9),
                    });
                }
                // Half-time snare/clap on beat 3; drill adds the syncopated one on the "and" of 4
                // every second bar.
                ev.push(Event {
                    beat: b0 + 2.0,
                    voice: Voice::Clap,
                    velocity: hv(rng, 1.0),
                });
                ev.push(Event {
                    beat: b0 + 2.0,
                    voice: Voice::Snare,
                    velocity: hv(rng, 0.6),
                });
                if genre == Genre::Drill && bar % 2 == 1 {
                    ev.push(Event {
                        beat: b0 + 3.5,
                        voice: Voice::Snare,
                        velocity: hv(rng, 0.9),
                    });
                }
                // Hats: 8ths with rolls (16ths, 32nds or triplets) on some beats.
                for beat in 0..4 {
                    let roll = rng.gen_bool(if fill { 0.6 } else { 0.25 });
                    let subdiv: &[f32] = if !roll {
                        &[0.0, 0.5]
                    } else {
                        [
                            &[0.0, 0.25, 0.5, 0.75][..],
                            &[0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875][..],
                            &[0.0, 1.0 / 3.0, 2.0 / 3.0][..],
                        ]
                        .choose(rng)
                        .unwrap()
                    };
                    for (i, &s) in subdiv.iter().enumerate() {
                        let acc = if s == 0.0 {
                            0.75
                        } else if i % 2 == 0 {
                            0.55
                        } else {
                            0.45
                        };
                        ev.push(Event {
                            beat: b0 + beat as f32 + s,
                            voice: Voice::Hat,
                            velocity: hv(rng, acc),
                        });
                    }
                }
                // 808s follow the kicks, gliding between notes (drill glides more).
                let glide_p = if genre == Genre::Drill { 0.7 } else { 0.35 };
                for (i, &k) in kicks.iter().enumerate() {
                    let next = kicks.get(i + 1).copied().unwrap_or(4.0);
                    let note = root - 12.0 + bass_line[(bar + i) % 4];
                    ev.push(Event {
                        beat: b0 + k,
                        voice: Voice::Bass {
                            note,
                            len: next - k,
                            glide: rng.gen_bool(glide_p),
                        },
                        velocity: 0.8,
                    });
                }
                // Melody: a bell/pluck arpeggio (trap) or dark long notes (drill).
                if genre == Genre::Trap {
                    for i in 0..4 {
                        let n = chord[*[0usize, 1, 2, 3].choose(rng).unwrap()];
                        ev.push(Event {
                            beat: b0 + i as f32,
                            voice: Voice::Keys {
                                note: root + 24.0 + n,
                                len: 0.5,
                            },
                            velocity: 0.22,
                        });
                    }
                } else {
                    for &n in &chord[..2] {
                        ev.push(Event {
                            beat: b0,
                            voice: Voice::Keys {
                                note: root + 12.0 + n,
                                len: 3.5,
                            },
                            velocity: 0.2,
                        });
                    }
                }
            }
            Genre::LoFi => {
                for &k in lofi_kicks[kick_choice % 2] {
                    ev.push(Event {
                        beat: b0 + k,
                        voice: Voice::Kick,
                        velocity: hv(rng, 0.8),
                    });
                }
                for s in [1.0, 3.0] {
                    let v = if rng.gen_bool(0.3) {
                        Voice::Rim
                    } else {
                        Voice::Snare
                    };
                    ev.push(Event {
                        beat: b0 + s,
                        voice: v,
                        velocity: hv(rng, 0.7),
                    });
                }
                for i in 0..8 {
                    ev.push(Event {
                        beat: b0 + i as f32 * 0.5,
                        voice: Voice::Hat,
                        velocity: hv(rng, if i % 2 == 0 { 0.3 } else { 0.2 }),
                    });
                }
                if fill {
                    ev.push(Event {
                        beat: b0 + 3.75,
                        voice: Voice::Kick,
                        velocity: hv(rng, 0.6),
                    });
                }
                // Sustained seventh chords on the keys.
                for &n in &chord {
                    ev.push(Event {
                        beat: b0,
                        voice: Voice::Keys {
                            note: root + 12.0 + n,
                            len: 3.8,
                        },
                        velocity: 0.22,
                    });
                }
                ev.push(Event {
                    beat: b0,
                    voice: Voice::Bass {
                        note: root - 12.0 + chord[0],
                        len: 2.0,
                        glide: false,
                    },
                    velocity: 0.5,
                });
            }
            Genre::House => {
                for k in 0..4 {
                    ev.push(Event {
                        beat: b0 + k as f32,
                        voice: Voice::Kick,
                        velocity: hv(rng, 1.0),
                    });
                    ev.push(Event {
                        beat: b0 + k as f32 + 0.5,
                        voice: Voice::OpenHat,
                        velocity: hv(rng, 0.5),
                    });
                    // Off-beat bass.
                    ev.push(Event {
                        beat: b0 + k as f32 + 0.5,
                        voice: Voice::Bass {
                            note: root - 12.0 + chord[0],
                            len: 0.4,
                            glide: false,
                        },
                        velocity: 0.5,
                    });
                }
                for s in [1.0, 3.0] {
                    ev.push(Event {
                        beat: b0 + s,
                        voice: Voice::Clap,
                        velocity: hv(rng, 0.9),
                    });
                }
                for i in 0..16 {
                    if i % 2 == 1 {
                        ev.push(Event {
                            beat: b0 + i as f32 * 0.25,
                            voice: Voice::Hat,
                            velocity: hv(rng, 0.3),
                        });
                    }
                }
                if fill {
                    for s in [3.25, 3.5, 3.75] {
                        ev.push(Event {
                            beat: b0 + s,
                            voice: Voice::Clap,
                            velocity: hv(rng, 0.6),
                        });
                    }
                }
                // Chord stabs on the off-beats of beats 2 and 4 ... and 3-and.
                for pos in [0.5, 1.5, 2.5] {
                    for &n in &chord[..3] {
                        ev.push(Event {
                            beat: b0 + pos,
                            voice: Voice::Keys {
                                note: root + 12.0 + n,
                                len: 0.25,
                            },
                            velocity: 0.3,
                        });
                    }
                }
            }
        }
    }
    ev
}
