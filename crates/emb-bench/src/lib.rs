//! Shared helpers of the benchmark programs.

pub mod load;

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

/// A matrix read from a NumPy `.npy` file (little-endian `f4` or `i4`, C order, 1 or 2 axes).
pub struct Npy<T> {
    /// Rows.
    pub rows: usize,
    /// Columns (1 for a vector).
    pub columns: usize,
    /// The values, row-major.
    pub values: Vec<T>,
}

/// Reads a float32 matrix.
pub fn read_npy_f32(path: &str) -> anyhow::Result<Npy<f32>> {
    read_npy(path, "<f4", f32::from_le_bytes)
}

/// Reads an int32 matrix.
pub fn read_npy_i32(path: &str) -> anyhow::Result<Npy<i32>> {
    read_npy(path, "<i4", i32::from_le_bytes)
}

fn read_npy<T>(path: &str, descr: &str, decode: fn([u8; 4]) -> T) -> anyhow::Result<Npy<T>> {
    let bytes = std::fs::read(path).map_err(|error| anyhow::anyhow!("{path}: {error}"))?;
    anyhow::ensure!(bytes.len() > 10 && &bytes[..6] == b"\x93NUMPY", "{path}: not an .npy file");
    let (header_length, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        _ => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
    };
    let header = std::str::from_utf8(&bytes[start..start + header_length])?;
    anyhow::ensure!(
        header.contains(&format!("'descr': '{descr}'")),
        "{path}: expected {descr}: {header}"
    );
    anyhow::ensure!(header.contains("'fortran_order': False"), "{path}: Fortran order");
    let shape = header
        .split("'shape': (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .ok_or_else(|| anyhow::anyhow!("{path}: no shape in {header}"))?;
    let axes: Vec<usize> = shape
        .split(',')
        .filter(|axis| !axis.trim().is_empty())
        .map(|axis| axis.trim().parse())
        .collect::<Result<_, _>>()?;
    let (rows, columns) = match axes.as_slice() {
        [rows] => (*rows, 1),
        [rows, columns] => (*rows, *columns),
        _ => anyhow::bail!("{path}: shape {shape}"),
    };
    let data = &bytes[start + header_length..];
    anyhow::ensure!(
        data.len() == rows * columns * 4,
        "{path}: {} bytes for shape {shape}",
        data.len()
    );
    let values = data
        .chunks_exact(4)
        .map(|chunk| decode([chunk[0], chunk[1], chunk[2], chunk[3]]))
        .collect();
    Ok(Npy { rows, columns, values })
}

/// Writes a `rows × columns` float32 matrix (row-major `values`) as a NumPy `.npy` file.
pub fn write_npy_f32(
    path: &str,
    rows: usize,
    columns: usize,
    values: &[f32],
) -> anyhow::Result<()> {
    write_npy(path, "<f4", rows, columns, values.iter().flat_map(|value| value.to_le_bytes()))
}

/// Writes a `rows × columns` int32 matrix (row-major `values`) as a NumPy `.npy` file.
pub fn write_npy_i32(
    path: &str,
    rows: usize,
    columns: usize,
    values: &[i32],
) -> anyhow::Result<()> {
    write_npy(path, "<i4", rows, columns, values.iter().flat_map(|value| value.to_le_bytes()))
}

fn write_npy(
    path: &str,
    descr: &str,
    rows: usize,
    columns: usize,
    data: impl Iterator<Item = u8>,
) -> anyhow::Result<()> {
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {columns}), }}");
    // Version 1: magic, version, 2-byte header length; the data starts on a 64-byte boundary.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&u16::try_from(header.len())?.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(data);
    anyhow::ensure!(
        bytes.len() == 10 + header.len() + rows * columns * 4,
        "{path}: {} values for {rows} x {columns}",
        (bytes.len() - 10 - header.len()) / 4
    );
    std::fs::write(path, bytes).map_err(|error| anyhow::anyhow!("{path}: {error}"))
}
