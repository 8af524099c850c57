//! Loops compiled for the processor's widest vectors.
//!
//! The build targets baseline x86-64 (4-lane SSE2 vectors), so that the binary runs on any
//! 64-bit PC. [`with_avx2`] runs a closure compiled a second time with AVX2 enabled (8-lane
//! vectors) when the processor has it, checked at run time. Rust never fuses a multiply and an
//! add on its own, so both versions run the same operations in the same order and give the
//! same values bit for bit: only the speed differs.

/// `f()`, compiled with AVX2 where the processor has it (see the module documentation).
/// Meant for short numeric loops: `f` is inlined into the AVX2 version.
#[inline(always)]
pub fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2 (just checked), the only requirement of `avx2`.
            return unsafe { avx2(f) };
        }
    }
    f()
}
