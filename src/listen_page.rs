//! The listening page: `index.html` in an output folder, to audition every file at once.
//!
//! One self-contained HTML5 file: an `<audio controls>` player per file and its spectrogram
//! image, grouped in sections (one per genre), with a caption (length, tempo) and optionally a
//! preformatted block (the `eval` table). Links are relative to the page's folder, each path
//! segment percent-encoded (RFC 3986 unreserved characters kept), so the folder can be moved,
//! zipped or opened offline; nothing is fetched from anywhere (no scripts; a few inline style
//! rules, readable on a phone). The page is written atomically and replaced on every run.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use anyhow::Context;

/// One playable file.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The audio file (inside the page's folder).
    pub audio: PathBuf,
    /// Its spectrogram image, if one was written.
    pub image: Option<PathBuf>,
    /// One line under the player (plain text).
    pub caption: String,
    /// Its groove as MIDI, if one was written (linked under the player).
    pub midi: Option<PathBuf>,
}

/// A titled group of entries (a genre).
#[derive(Debug, Clone)]
pub struct Section {
    pub title: String,
    pub entries: Vec<Entry>,
}

/// A listening page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub title: String,
    /// Lines of plain text under the title.
    pub summary: Vec<String>,
    /// A preformatted block (monospace, scrolls sideways on a narrow screen), e.g. a table.
    pub preformatted: Option<String>,
    pub sections: Vec<Section>,
}

/// File name of the page.
pub const PAGE_NAME: &str = "index.html";

/// `&`, `<`, `>`, `"` and `'` as character references, for text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The relative URL of `file` from folder `dir`: its path segments below `dir`, each
/// percent-encoded as UTF-8 except RFC 3986's unreserved characters, joined by `/`.
pub fn relative_url(dir: &Path, file: &Path) -> anyhow::Result<String> {
    let rel = file.strip_prefix(dir).with_context(|| {
        format!(
            "{} is not inside {}, so the page cannot link to it",
            file.display(),
            dir.display()
        )
    })?;
    let mut segments = Vec::new();
    for c in rel.components() {
        let Component::Normal(s) = c else {
            anyhow::bail!("{}: unexpected path component", rel.display());
        };
        let s = s
            .to_str()
            .with_context(|| format!("{}: file name is not UTF-8", rel.display()))?;
        let mut enc = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                enc.push(b as char);
            } else {
                write!(enc, "%{b:02X}").expect("writing to a String");
            }
        }
        segments.push(enc);
    }
    Ok(segments.join("/"))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1rem;max-width:70rem}\
h2{margin-top:2rem;border-bottom:1px solid #ccc}\
.clips{display:flex;flex-wrap:wrap;gap:1rem}\
figure{margin:0;width:min(100%,20rem)}\
figure img{width:100%;height:9rem;object-fit:fill;background:#000}\
audio{width:100%}\
figcaption{font-size:.9rem;color:#444}\
pre{overflow-x:auto;font-size:.8rem;background:#f6f6f6;padding:.5rem}";

impl Page {
    /// The page's HTML, with links relative to `dir`.
    pub fn render(&self, dir: &Path) -> anyhow::Result<String> {
        let mut h = String::new();
        let title = escape(&self.title);
        // Writing to a String cannot fail.
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
        );
        for line in &self.summary {
            let _ = writeln!(h, "<p>{}</p>", escape(line));
        }
        if let Some(pre) = &self.preformatted {
            let _ = writeln!(h, "<pre>{}</pre>", escape(pre));
        }
        for s in &self.sections {
            let _ = writeln!(
                h,
                "<section>\n<h2>{}</h2>\n<div class=\"clips\">",
                escape(&s.title)
            );
            for e in &s.entries {
                let name = e
                    .audio
                    .file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned());
                let _ = writeln!(h, "<figure>");
                if let Some(img) = &e.image {
                    let _ = writeln!(
                        h,
                        "<img src=\"{}\" alt=\"spectrogram of {}\">",
                        escape(&relative_url(dir, img)?),
                        escape(&name)
                    );
                }
                let midi = match &e.midi {
                    Some(m) => format!(
                        "<br><a href=\"{}\" download>groove as MIDI</a>",
                        escape(&relative_url(dir, m)?)
                    ),
                    None => String::new(),
                };
                let _ = writeln!(
                    h,
                    "<audio controls preload=\"none\" src=\"{}\"></audio>\n\
                     <figcaption><b>{}</b><br>{}{midi}</figcaption>\n</figure>",
                    escape(&relative_url(dir, &e.audio)?),
                    escape(&name),
                    escape(&e.caption)
                );
            }
            let _ = writeln!(h, "</div>\n</section>");
        }
        h.push_str("</body>\n</html>\n");
        Ok(h)
    }

    /// Write `dir/index.html` (replacing any earlier page) and return its path.
    pub fn write(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let path = dir.join(PAGE_NAME);
        dsp::atomic::write_atomically(&path, self.render(dir)?.as_bytes())
            .with_context(|| format!("{}: cannot write the listening page", path.display()))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_links_encoded() {
        assert_eq!(
            escape("a&b <c> \"d\" 'e'"),
            "a&amp;b &lt;c&gt; &quot;d&quot; &#39;e&#39;"
        );
        let dir = Path::new("out/x");
        assert_eq!(
            relative_url(dir, Path::new("out/x/lo-fi/Café & co #1.mp3")).unwrap(),
            "lo-fi/Caf%C3%A9%20%26%20co%20%231.mp3"
        );
        assert!(relative_url(dir, Path::new("elsewhere/a.mp3")).is_err());
    }
}
