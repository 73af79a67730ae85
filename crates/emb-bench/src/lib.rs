//! Shared helpers of the benchmark programs.

use std::time::Instant;

/// Reads the `text` field of every line of a JSON-lines file.
pub fn read_jsonl_texts(path: &str) -> anyhow::Result<Vec<String>> {
    let content = std::fs::read_to_string(path)?;
    content
        .lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(index, line)| {
            let row: serde_json::Value = serde_json::from_str(line)
                .map_err(|error| anyhow::anyhow!("{path}:{}: {error}", index + 1))?;
            row["text"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("{path}:{}: no \"text\" field", index + 1))
        })
        .collect()
}

emb_core::multiversion! {
    fn fused_multiply_adds(rounds: usize, seed: f32) -> f32 {
        // 16 independent vectors' worth of accumulators keep every FMA pipe busy.
        let mut accumulators = [seed; 256];
        for _ in 0..rounds {
            for value in &mut accumulators {
                *value = value.mul_add(0.999_999, 1e-7);
            }
        }
        accumulators.iter().sum()
    }
}

/// Measures this machine's peak `f32` FLOP/s on `threads` threads with a fused-multiply-add
/// loop compiled for the best SIMD level the CPU has.
///
/// Takes the best of several short runs, since a shared machine's clock and neighbours vary.
pub fn measure_peak_flops(threads: usize) -> f64 {
    let rounds = 500_000;
    let mut best = 0.0_f64;
    for _ in 0..8 {
        let start = Instant::now();
        let sums: Vec<f32> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|thread| scope.spawn(move || fused_multiply_adds(rounds, thread as f32)))
                .collect();
            handles.into_iter().map(|handle| handle.join().expect("thread")).collect()
        });
        let seconds = start.elapsed().as_secs_f64();
        std::hint::black_box(sums);
        best = best.max((threads * rounds * 256 * 2) as f64 / seconds);
    }
    best
}
