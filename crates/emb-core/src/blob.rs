//! The vector blob codec: little-endian `float32` values with no header, as
//! `llm`'s embeddings.db stores them.

use crate::{Error, Result};

/// Encodes a vector as little-endian `float32` bytes.
pub fn encode(vector: &[f32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(vector.len() * 4);
    for value in vector {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

/// Decodes little-endian `float32` bytes into a vector.
pub fn decode(bytes: &[u8]) -> Result<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return Err(Error::InvalidBlob { length: bytes.len() });
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let vector = vec![0.0, -1.5, f32::MAX, 1e-30];
        assert_eq!(decode(&encode(&vector)).unwrap(), vector);
    }

    #[test]
    fn known_bytes() {
        assert_eq!(encode(&[1.0]), vec![0x00, 0x00, 0x80, 0x3f]);
    }

    #[test]
    fn rejects_ragged_blob() {
        assert!(matches!(decode(&[0, 0, 0]), Err(Error::InvalidBlob { length: 3 })));
    }
}
