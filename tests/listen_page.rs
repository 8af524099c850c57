//! The listening page: valid HTML whose every link resolves to a file beatgen decodes, names
//! with spaces, accents and `&` escaped, rewritten on a second run.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use beatgen::listen_page::{Entry, Page, Section};

/// `%XX` sequences back to bytes (the page encodes every byte outside RFC 3986's unreserved set).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Parse `dir/index.html` strictly (no HTML5 parse errors) and return the files its `<audio>`
/// and `<img>` elements link to.
fn page_links(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let doc = scraper::Html::parse_document(&html);
    assert!(doc.errors.is_empty(), "HTML parse errors: {:?}", doc.errors);
    let links = |sel: &str| -> Vec<PathBuf> {
        doc.select(&scraper::Selector::parse(sel).unwrap())
            .map(|e| {
                let src = e.value().attr("src").expect("src");
                assert!(!src.contains(' ') && !src.contains('&'), "{src}");
                dir.join(percent_decode(src))
            })
            .collect()
    };
    (links("audio"), links("img"))
}

fn check_links(dir: &Path, audio: &[PathBuf], images: &[PathBuf]) {
    for a in audio {
        let d = dsp::decode_file(a, &dsp::DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", a.display()));
        assert!(d.seconds() > 0.5, "{}", a.display());
    }
    for i in images {
        assert!(png_size(i).0 > 0, "{}", i.display());
    }
    assert!(dir.join("index.html").is_file());
}

#[test]
fn awkward_file_names_are_linked_and_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("out");
    let name = "Café & co <#1>.wav";
    std::fs::create_dir_all(d.join("lo fi")).unwrap();
    let audio = d.join("lo fi").join(name);
    let tone: Vec<f32> = (0..22050).map(|i| (i as f32 * 0.1).sin() * 0.5).collect();
    dsp::write_audio(&audio, &tone, 22050, &dsp::EncodeOptions::default()).unwrap();
    let page = Page {
        title: "R&B <test>".into(),
        summary: vec!["a \"quoted\" line".into()],
        preformatted: Some("genre | a<b".into()),
        sections: vec![Section {
            title: "lo fi & more".into(),
            entries: vec![Entry {
                audio: audio.clone(),
                image: None,
                caption: "1.00 s & more".into(),
                midi: None,
            }],
        }],
    };
    page.write(&d).unwrap();
    let (a, i) = page_links(&d);
    assert_eq!(a, vec![audio]);
    assert!(i.is_empty());
    check_links(&d, &a, &i);
    let html = std::fs::read_to_string(d.join("index.html")).unwrap();
    assert!(
        html.contains("<title>R&amp;B &lt;test&gt;</title>"),
        "{html}"
    );
    assert!(
        html.contains("<b>Café &amp; co &lt;#1&gt;.wav</b>"),
        "{html}"
    );
    // A file outside the page's folder cannot be linked: an error, not a broken page.
    let outside = Page {
        sections: vec![Section {
            title: "x".into(),
            entries: vec![Entry {
                audio: dir.path().join("elsewhere.wav"),
                image: None,
                caption: String::new(),
                midi: None,
            }],
        }],
        ..Default::default()
    };
    assert!(outside.write(&d).is_err());
}

#[test]
fn spec_generate_writes_a_page_and_rewrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tiny_model(d);
    let gen = |count: &str| {
        ok(
            d,
            &generate_args("lo-fi", "beats", &["--count", count, "--dump-png"]),
        )
    };
    let out = gen("3");
    assert!(out.contains("listen: open beats/index.html"), "{out}");
    let (a, i) = page_links(&d.join("beats"));
    assert_eq!((a.len(), i.len()), (3, 3));
    check_links(&d.join("beats"), &a, &i);
    // A second run replaces the page: it lists this run's files only.
    gen("1");
    let (a, i) = page_links(&d.join("beats"));
    assert_eq!((a.len(), i.len()), (1, 1));
    assert!(a[0].ends_with("lo-fi-seed0-01.mp3"), "{}", a[0].display());
}
