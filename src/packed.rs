//! Many values read in one pass (the elements of a list range), kept in one
//! buffer with their end offsets.
//!
//! Why: LRANGE of 100 elements used to hand each element out as its own
//! `Bytes` wrapped in its own reply; the reference counts, the vector of
//! replies and their drops cost more per element than the encoding did. A
//! reader appends values here and the protocol layer writes them straight
//! from the buffer. Neither side knows the other: this is plain data.

use bytes::{Bytes, BytesMut};

/// Values in order, stored back to back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedValues {
    buf: Bytes,
    /// `ends[i]` is where value `i` ends in `buf`; it starts where `i - 1`
    /// ended (or at 0).
    ends: Vec<usize>,
}

/// Collects values for a [`PackedValues`].
#[derive(Debug, Default)]
pub struct PackedBuilder {
    buf: BytesMut,
    ends: Vec<usize>,
}

impl PackedBuilder {
    /// Room for `count` values (a hint; more may be pushed).
    pub fn with_capacity(count: usize) -> PackedBuilder {
        PackedBuilder {
            buf: BytesMut::new(),
            ends: Vec::with_capacity(count),
        }
    }

    pub fn push(&mut self, value: &[u8]) {
        self.buf.extend_from_slice(value);
        self.ends.push(self.buf.len());
    }

    pub fn finish(self) -> PackedValues {
        PackedValues {
            buf: self.buf.freeze(),
            ends: self.ends,
        }
    }
}

impl PackedValues {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of all values together.
    pub fn total_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Where each value lies in the buffer, in order.
    fn spans(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter().copied()).map(|(s, e)| s..e)
    }

    /// The values in order, borrowed.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.spans().map(|span| &self.buf[span])
    }

    /// The values in order, each as its own `Bytes` (slices of the one
    /// buffer: no copy).
    pub fn into_vec(self) -> Vec<Bytes> {
        self.spans().map(|span| self.buf.slice(span)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_in_order_borrowed_and_owned() {
        let mut b = PackedBuilder::with_capacity(2);
        for v in [&b"a"[..], b"", b"hello"] {
            b.push(v);
        }
        let p = b.finish();
        assert_eq!(p.len(), 3);
        assert_eq!(p.total_bytes(), 6);
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"", b"hello"]);
        assert_eq!(
            p.into_vec(),
            vec![
                Bytes::from_static(b"a"),
                Bytes::new(),
                Bytes::from_static(b"hello")
            ]
        );
        assert!(PackedValues::default().is_empty());
    }
}
