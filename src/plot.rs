//! Small raster plots (loss curves, scatter plots) written as PNG without a plotting library:
//! a white canvas, axes, grey grid lines at "nice" values labelled with a 3x5 pixel font,
//! and one coloured series each (line or points) with a legend of coloured swatches.

/// An RGB canvas.
pub struct Canvas {
    pub w: usize,
    pub h: usize,
    pub px: Vec<u8>,
}

/// Glyphs of the 3x5 font: each row is 3 bits, top row first.
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        '.' => [0, 0, 0, 0, 2],
        '-' => [0, 0, 7, 0, 0],
        'e' => [0, 7, 7, 4, 7],
        'k' => [4, 5, 6, 5, 5],
        _ => return None,
    })
}

impl Canvas {
    pub fn new(w: usize, h: usize) -> Self {
        Canvas {
            w,
            h,
            px: vec![255; w * h * 3],
        }
    }

    pub fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            let i = (y as usize * self.w + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    pub fn line(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: [u8; 3]) {
        let n = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
        for i in 0..=n {
            let t = i as f64 / n as f64;
            let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
            self.set(x.round() as i64, y.round() as i64, c);
            self.set(x.round() as i64, y.round() as i64 + 1, c);
        }
    }

    pub fn rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: [u8; 3]) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.set(xx, yy, c);
            }
        }
    }

    /// Text in the 3x5 font at scale 2 (unknown characters are left blank).
    pub fn text(&mut self, x: i64, y: i64, s: &str, c: [u8; 3]) {
        for (i, ch) in s.chars().enumerate() {
            if let Some(g) = glyph(ch) {
                for (row, bits) in g.iter().enumerate() {
                    for col in 0..3 {
                        if bits & (4 >> col) != 0 {
                            self.rect(x + i as i64 * 8 + col * 2, y + row as i64 * 2, 2, 2, c);
                        }
                    }
                }
            }
        }
    }

    pub fn save(&self, path: &std::path::Path) -> anyhow::Result<()> {
        dsp::image::write_rgb_png(path, self.w as u32, self.h as u32, &self.px)?;
        Ok(())
    }
}

/// Colours for series, in order.
pub const COLOURS: [[u8; 3]; 6] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
];

/// The name of series colour `i` (of [`COLOURS`], cycling), for legends in text.
pub fn colour_name(i: usize) -> &'static str {
    ["blue", "orange", "green", "red", "purple", "brown"][i % COLOURS.len()]
}

fn nice_label(v: f64) -> String {
    let a = v.abs();
    if a >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.0e}")
    }
}

/// A line plot of several series over a shared x axis (index + 1), y on a linear scale.
pub fn line_plot(series: &[Vec<f64>], w: usize, h: usize) -> Canvas {
    let mut c = Canvas::new(w, h);
    let (left, right, top, bottom) = (60.0, 20.0, 30.0, 30.0);
    let finite = series.iter().flatten().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    let n = series.iter().map(|s| s.len()).max().unwrap_or(0);
    if n == 0 || !lo.is_finite() {
        return c;
    }
    let (lo, hi) = if hi > lo {
        (
            lo.min(0.0).max(lo - 0.05 * (hi - lo)),
            hi + 0.05 * (hi - lo),
        )
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let px =
        |i: f64| left + (w as f64 - left - right) * if n > 1 { i / (n - 1) as f64 } else { 0.5 };
    let py = |v: f64| top + (h as f64 - top - bottom) * (1.0 - (v - lo) / (hi - lo));
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        c.line(left, py(v), w as f64 - right, py(v), [225, 225, 225]);
        c.text(4, py(v) as i64 - 5, &nice_label(v), [90, 90, 90]);
    }
    c.line(left, top, left, h as f64 - bottom, [0, 0, 0]);
    c.line(
        left,
        h as f64 - bottom,
        w as f64 - right,
        h as f64 - bottom,
        [0, 0, 0],
    );
    c.text(left as i64, h as i64 - 20, "1", [90, 90, 90]);
    c.text(
        w as i64 - right as i64 - 8 * n.to_string().len() as i64,
        h as i64 - 20,
        &n.to_string(),
        [90, 90, 90],
    );
    for (si, s) in series.iter().enumerate() {
        let col = COLOURS[si % COLOURS.len()];
        for i in 1..s.len() {
            if s[i - 1].is_finite() && s[i].is_finite() {
                c.line(
                    px((i - 1) as f64),
                    py(s[i - 1]),
                    px(i as f64),
                    py(s[i]),
                    col,
                );
            }
        }
        c.rect(left as i64 + 10 + si as i64 * 24, 8, 16, 12, col);
    }
    c
}

/// A scatter plot of labelled points (label = colour index).
pub fn scatter_plot(points: &[(f64, f64, usize, bool)], w: usize, h: usize) -> Canvas {
    let mut c = Canvas::new(w, h);
    let (xl, xh) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
            (l.min(p.0), h.max(p.0))
        });
    let (yl, yh) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
            (l.min(p.1), h.max(p.1))
        });
    if !xl.is_finite() {
        return c;
    }
    let m = 20.0;
    let sx = |x: f64| m + (w as f64 - 2.0 * m) * if xh > xl { (x - xl) / (xh - xl) } else { 0.5 };
    let sy = |y: f64| {
        m + (h as f64 - 2.0 * m) * (1.0 - if yh > yl { (y - yl) / (yh - yl) } else { 0.5 })
    };
    for &(x, y, label, filled) in points {
        let col = COLOURS[label % COLOURS.len()];
        let (cx, cy) = (sx(x) as i64, sy(y) as i64);
        if filled {
            c.rect(cx - 3, cy - 3, 7, 7, col);
        } else {
            for d in -3..=3 {
                c.set(cx + d, cy - 3, col);
                c.set(cx + d, cy + 3, col);
                c.set(cx - 3, cy + d, col);
                c.set(cx + 3, cy + d, col);
            }
        }
    }
    c
}
