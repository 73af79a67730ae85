//! Runtime selection of SIMD code paths.
//!
//! Kernels are written as plain loops that the compiler vectorises; the
//! [`multiversion!`](crate::multiversion) macro compiles each one for AVX-512, AVX2 + FMA and the
//! baseline, and picks the best the running CPU supports, once per call.

use std::sync::atomic::{AtomicU8, Ordering};

/// The instruction-set level of the running CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// No SIMD beyond the baseline the binary was compiled for.
    Baseline = 1,
    /// x86-64-v3: AVX2 and FMA.
    Avx2 = 2,
    /// x86-64-v4: AVX-512 (F, BW, VL, DQ) as well.
    Avx512 = 3,
}

static LEVEL: AtomicU8 = AtomicU8::new(0);

/// The best SIMD level this CPU supports (detected once, then cached).
///
/// Setting the environment variable `EMB_SIMD` to `baseline` or `avx2` caps it,
/// which is how tests compare the code paths.
pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        1 => Level::Baseline,
        2 => Level::Avx2,
        3 => Level::Avx512,
        _ => {
            let detected = detect();
            LEVEL.store(detected as u8, Ordering::Relaxed);
            detected
        }
    }
}

fn detect() -> Level {
    let cap = match std::env::var("EMB_SIMD").as_deref() {
        Ok("baseline") => Level::Baseline,
        Ok("avx2") => Level::Avx2,
        _ => Level::Avx512,
    };
    #[cfg(target_arch = "x86_64")]
    let found = if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("fma")
    {
        Level::Avx512
    } else if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        Level::Avx2
    } else {
        Level::Baseline
    };
    #[cfg(not(target_arch = "x86_64"))]
    let found = Level::Baseline;
    found.min(cap)
}

/// Defines a function whose body is compiled three times (AVX-512, AVX2 + FMA,
/// baseline) and dispatched at run time on [`level()`].
///
/// The body must be safe code; write it as simple loops over slices (with
/// several accumulators for reductions) so the compiler can vectorise it.
#[macro_export]
macro_rules! multiversion {
    ($(#[$meta:meta])* $visibility:vis fn $name:ident($($argument:ident : $type:ty),* $(,)?) $(-> $return:ty)? $body:block) => {
        $(#[$meta])*
        $visibility fn $name($($argument: $type),*) $(-> $return)? {
            #[inline(always)]
            fn portable($($argument: $type),*) $(-> $return)? $body

            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
                unsafe fn avx512($($argument: $type),*) $(-> $return)? { portable($($argument),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($argument: $type),*) $(-> $return)? { portable($($argument),*) }
                match $crate::simd::level() {
                    // SAFETY: level() only reports features the CPU has.
                    $crate::simd::Level::Avx512 => return unsafe { avx512($($argument),*) },
                    // SAFETY: as above.
                    $crate::simd::Level::Avx2 => return unsafe { avx2($($argument),*) },
                    $crate::simd::Level::Baseline => {}
                }
            }
            portable($($argument),*)
        }
    };
}
