//! A genre classifier for evaluation: multinomial logistic regression on standardised clip
//! features, trained by full-batch gradient descent with a small L2 penalty. Trained on real
//! training clips only.

use super::stats::Weighted;

/// Weights `[classes][features + 1]` (last column is the bias).
pub struct Classifier {
    w: Vec<Vec<f64>>,
}

impl Classifier {
    pub fn train(x: &[Vec<f64>], y: &[usize], classes: usize) -> Self {
        let d = x.first().map_or(0, |r| r.len());
        let mut w = vec![vec![0.0; d + 1]; classes];
        let (lr, l2, n) = (0.5, 1e-3, x.len().max(1) as f64);
        for _ in 0..800 {
            let mut grad = vec![vec![0.0; d + 1]; classes];
            for (xi, &yi) in x.iter().zip(y) {
                let p = softmax(&w, xi);
                for c in 0..classes {
                    let e = p[c] - if c == yi { 1.0 } else { 0.0 };
                    for j in 0..d {
                        grad[c][j] += e * xi[j] / n;
                    }
                    grad[c][d] += e / n;
                }
            }
            for c in 0..classes {
                for j in 0..=d {
                    let reg = if j < d { l2 * w[c][j] } else { 0.0 };
                    w[c][j] -= lr * (grad[c][j] + reg);
                }
            }
        }
        Classifier { w }
    }

    /// Class probabilities.
    pub fn predict_proba(&self, x: &[f64]) -> Vec<f64> {
        softmax(&self.w, x)
    }

    pub fn predict(&self, x: &[f64]) -> usize {
        let p = self.predict_proba(x);
        (0..p.len())
            .max_by(|&a, &b| p[a].total_cmp(&p[b]))
            .unwrap_or(0)
    }

    /// Weighted fraction of rows classified as their label: `sum(w [right]) / sum(w)`.
    pub fn accuracy(&self, x: &Weighted, y: &[usize]) -> f64 {
        let total: f64 = x.w.iter().sum();
        if total <= 0.0 {
            return f64::NAN;
        }
        x.rows
            .iter()
            .zip(y)
            .zip(&x.w)
            .filter(|((xi, &yi), _)| self.predict(xi) == yi)
            .map(|(_, w)| w)
            .sum::<f64>()
            / total
    }
}

fn softmax(w: &[Vec<f64>], x: &[f64]) -> Vec<f64> {
    let d = x.len();
    let z: Vec<f64> = w
        .iter()
        .map(|wc| wc[..d].iter().zip(x).map(|(a, b)| a * b).sum::<f64>() + wc[d])
        .collect();
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// Inception-score analogue `exp(E_x[KL(p(y|x) || p(y))])` of a set of predicted
/// distributions (1 = no information, `classes` = confident and evenly spread).
pub fn inception_score(probs: &[Vec<f64>]) -> f64 {
    if probs.is_empty() {
        return f64::NAN;
    }
    let k = probs[0].len();
    let py: Vec<f64> = (0..k)
        .map(|c| probs.iter().map(|p| p[c]).sum::<f64>() / probs.len() as f64)
        .collect();
    let kl: f64 = probs
        .iter()
        .map(|p| {
            (0..k)
                .map(|c| {
                    if p[c] > 0.0 {
                        p[c] * (p[c] / py[c].max(1e-300)).ln()
                    } else {
                        0.0
                    }
                })
                .sum::<f64>()
        })
        .sum::<f64>()
        / probs.len() as f64;
    kl.exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_classes_are_learned_perfectly() {
        let mut rng = dsp::rng::SplitMix64::new(2);
        let centres = [[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]];
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..90 {
            let c = i % 3;
            x.push(vec![
                centres[c][0] + 0.5 * rng.normal() as f64,
                centres[c][1] + 0.5 * rng.normal() as f64,
            ]);
            y.push(c);
        }
        let clf = Classifier::train(&x, &y, 3);
        assert_eq!(clf.accuracy(&Weighted::uniform(x.clone()), &y), 1.0);
        // Weights: the wrongly labelled row counts as much as the other 90 together.
        let mut rows = x.clone();
        rows.push(vec![3.0, 0.0]);
        let mut labels = y.clone();
        labels.push(1);
        let mut w = vec![1.0 / 90.0; 90];
        w.push(1.0);
        let a = clf.accuracy(&Weighted { rows, w }, &labels);
        assert!((a - 0.5).abs() < 1e-12, "{a}");
        let probs: Vec<Vec<f64>> = x.iter().map(|r| clf.predict_proba(r)).collect();
        let is = inception_score(&probs);
        assert!(is > 2.5 && is <= 3.0 + 1e-9, "{is}");
        // One confident class for everything: no information.
        assert!((inception_score(&[vec![1.0, 0.0], vec![1.0, 0.0]]) - 1.0).abs() < 1e-12);
    }
}
