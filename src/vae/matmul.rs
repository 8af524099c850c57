//! Matrix products for the VAE: ndarray views in, the `gemm` crate's blocked SIMD kernels
//! underneath (parallel over rayon's threads for large products). Any strides work, so a
//! transposed operand is just a transposed view, never a copy.

use ndarray::{ArrayView2, ArrayViewMut2};

/// Products smaller than this many multiply-adds run on one thread.
const PARALLEL_MIN_FLOPS: usize = 1 << 20;

thread_local! {
    /// Threads one product may use on this thread (`None`: all of rayon's).
    static THREADS: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Run `f` with the products it computes on this thread limited to `threads` threads (for
/// work that is already split across threads, see [`super::shards`]).
pub fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    let before = THREADS.with(|t| t.replace(Some(threads.max(1))));
    let r = f();
    THREADS.with(|t| t.set(before));
    r
}

/// `c = a . b` (or `c += a . b` with `accumulate`), with `a: m x k`, `b: k x n`, `c: m x n`.
pub fn matmul(
    c: &mut ArrayViewMut2<f32>,
    a: &ArrayView2<f32>,
    b: &ArrayView2<f32>,
    accumulate: bool,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(
        k,
        k2,
        "inner dimensions differ: {:?} x {:?}",
        a.dim(),
        b.dim()
    );
    assert_eq!(
        c.dim(),
        (m, n),
        "output is {:?}, product is {m} x {n}",
        c.dim()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    let threads = THREADS
        .with(|t| t.get())
        .unwrap_or_else(rayon::current_num_threads);
    let par = if m * n * k >= PARALLEL_MIN_FLOPS && threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let (cs, as_, bs) = (
        c.strides().to_vec(),
        a.strides().to_vec(),
        b.strides().to_vec(),
    );
    // SAFETY: the pointers and strides come from live ndarray views whose shapes were checked
    // above, so every index gemm forms stays inside its view; `c` is borrowed mutably and does
    // not alias `a` or `b` (Rust's borrow rules guarantee it).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            cs[1],
            cs[0],
            accumulate,
            a.as_ptr(),
            as_[1],
            as_[0],
            b.as_ptr(),
            bs[1],
            bs[0],
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn naive(a: &ArrayView2<f32>, b: &ArrayView2<f32>) -> Array2<f32> {
        let (m, k) = a.dim();
        let n = b.dim().1;
        Array2::from_shape_fn((m, n), |(i, j)| {
            (0..k)
                .map(|p| a[[i, p]] as f64 * b[[p, j]] as f64)
                .sum::<f64>() as f32
        })
    }

    #[test]
    fn matches_naive_product_for_all_layouts() {
        let a = Array2::from_shape_fn((37, 53), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
        let b = Array2::from_shape_fn((53, 29), |(i, j)| ((i * 5 + j * 13) % 7) as f32 * 0.5 - 1.0);
        let at = a.t().to_owned(); // 53 x 37, used through .t()
        let bt = b.t().to_owned();
        let expect = naive(&a.view(), &b.view());
        for (av, bv) in [
            (a.view(), b.view()),
            (at.t(), b.view()),
            (a.view(), bt.t()),
            (at.t(), bt.t()),
        ] {
            let mut c = Array2::zeros((37, 29));
            matmul(&mut c.view_mut(), &av, &bv, false);
            assert!(c
                .iter()
                .zip(expect.iter())
                .all(|(x, y)| (x - y).abs() < 1e-3));
            // Into a transposed (column-major) output, and accumulating.
            let mut ct = Array2::<f32>::ones((29, 37));
            matmul(&mut ct.view_mut().reversed_axes(), &av, &bv, true);
            assert!(ct
                .t()
                .iter()
                .zip(expect.iter())
                .all(|(x, y)| (x - (y + 1.0)).abs() < 1e-3));
        }
    }

    #[test]
    #[ignore = "timing, run by hand: cargo test --release -- --ignored --nocapture"]
    fn time_big_layer_products() {
        let (bsz, inp, out) = (32, 33152, 512);
        let w = Array2::from_shape_fn((out, inp), |(i, j)| ((i + j) % 13) as f32 * 0.01);
        let x = Array2::from_shape_fn((bsz, inp), |(i, j)| ((i * 3 + j) % 7) as f32 * 0.1);
        let dy = Array2::from_shape_fn((bsz, out), |(i, j)| ((i + 2 * j) % 5) as f32 * 0.1);
        let mut y = Array2::zeros((bsz, out));
        let mut dw = Array2::zeros((out, inp));
        let mut dx = Array2::zeros((bsz, inp));
        let time = |name: &str, f: &mut dyn FnMut()| {
            f();
            let t = std::time::Instant::now();
            for _ in 0..10 {
                f();
            }
            eprintln!("{name}: {:.2} ms", t.elapsed().as_secs_f64() * 100.0);
        };
        time("forward  Y = X W^T", &mut || {
            matmul(&mut y.view_mut(), &x.view(), &w.t(), false)
        });
        time("weights dW = dY^T X", &mut || {
            matmul(&mut dw.view_mut(), &dy.t(), &x.view(), false)
        });
        time("inputs  dX = dY W", &mut || {
            matmul(&mut dx.view_mut(), &dy.view(), &w.view(), false)
        });
        let xt = x.t().to_owned();
        time("forward from X^T stored", &mut || {
            matmul(&mut y.view_mut(), &xt.t(), &w.t(), false)
        });
        time("forward as Y^T = W X^T", &mut || {
            matmul(&mut y.view_mut().reversed_axes(), &w.view(), &x.t(), false)
        });
        let mut yt = Array2::zeros((out, bsz));
        time("forward into stored Y^T", &mut || {
            matmul(&mut yt.view_mut(), &w.view(), &x.t(), false)
        });
        time("inputs as dX^T = W^T dY^T", &mut || {
            matmul(&mut dx.view_mut().reversed_axes(), &w.t(), &dy.t(), false)
        });
        let mut dxt = Array2::zeros((inp, bsz));
        time("inputs into stored dX^T", &mut || {
            matmul(&mut dxt.view_mut(), &w.t(), &dy.t(), false)
        });
        time("weights as dW^T = X^T dY", &mut || {
            matmul(
                &mut dw.view_mut().reversed_axes(),
                &x.t(),
                &dy.view(),
                false,
            )
        });
        let dyt = dy.t().to_owned();
        time("weights from stored dY^T, X^T", &mut || {
            matmul(&mut dw.view_mut(), &dyt.view(), &xt.t(), false)
        });
    }
}
