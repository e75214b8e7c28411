//! Where a seqlock copy out of a topic goes ([`CopySink`]): a slice, a vector, or a header and
//! a frame apart.

/// Where a copied sample goes.
pub(in crate::typed::pubsub) trait CopySink {
    /// The bytes a copy of `len` bytes goes to (again, if an earlier copy was not accepted).
    fn start(&mut self, len: usize) -> &mut [u8];

    /// Where a copy of `len` bytes goes in two parts: the first bytes of the sample, and the
    /// bytes from offset `at` (a multiple of 8) on. By default all of it goes to
    /// [`start`](Self::start).
    #[inline(always)]
    fn parts(&mut self, len: usize) -> (&mut [u8], usize, &mut [u8]) {
        (self.start(len), 0, &mut [])
    }
}

/// A frame's typed header and its bytes, copied apart: the header from the buffer's start, the
/// bytes from the frame offset on (the padding between them is not copied).
pub(in crate::typed::pubsub) struct SplitSink<'a> {
    pub(in crate::typed::pubsub) header: &'a mut [u8],
    pub(in crate::typed::pubsub) offset: usize,
    pub(in crate::typed::pubsub) out: &'a mut Vec<u8>,
}

impl CopySink for SplitSink<'_> {
    fn start(&mut self, len: usize) -> &mut [u8] {
        self.parts(len).0
    }

    fn parts(&mut self, len: usize) -> (&mut [u8], usize, &mut [u8]) {
        // A sample shorter than its header (only from a dishonest peer) fills what it has.
        let head = self.header.len().min(len);
        self.out.resize(len.saturating_sub(self.offset), 0);
        (&mut self.header[..head], self.offset, &mut self.out[..])
    }
}

/// A fixed buffer as long as any sample (a longer sample from a hostile peer is cut).
impl CopySink for &mut [u8] {
    fn start(&mut self, len: usize) -> &mut [u8] {
        let n = len.min(self.len());
        &mut self[..n]
    }
}

/// A vector that becomes the sample.
impl CopySink for Vec<u8> {
    fn start(&mut self, len: usize) -> &mut [u8] {
        // Keeps what is there (overwritten by the copy); only a longer sample writes zeros.
        self.resize(len, 0);
        self
    }
}

/// Fills `dst` from the words `first`, `first + 1`, … of a sample (`word` loads one).
#[inline(always)]
pub(super) fn copy_words(dst: &mut [u8], first: usize, word: impl Fn(usize) -> [u8; 8]) {
    let mut chunks = dst.chunks_exact_mut(8);
    let mut w = first;
    for chunk in &mut chunks {
        chunk.copy_from_slice(&word(w));
        w += 1;
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let n = rest.len();
        rest.copy_from_slice(&word(w)[..n]);
    }
}
