// SPDX-License-Identifier: GPL-2.0

//! Numbers for `tsmN` devices: the lowest free one is handed out, and a number is free again once
//! the device that held it is released (not merely unregistered), as with an IDA.

use kernel::{alloc::KVec, prelude::*};

/// A set of allocated numbers, as a growable bitmap.
pub(crate) struct IdSet {
    words: KVec<u64>,
}

impl IdSet {
    /// An empty set.
    pub(crate) const fn new() -> Self {
        Self { words: KVec::new() }
    }

    /// Takes the lowest number not in the set.
    pub(crate) fn alloc(&mut self) -> Result<u32> {
        let word = match self.words.iter().position(|w| *w != u64::MAX) {
            Some(i) => i,
            None => {
                self.words.push(0, GFP_KERNEL)?;
                self.words.len() - 1
            }
        };
        let bit = self.words[word].trailing_ones() as usize;
        let id = u32::try_from(word * 64 + bit).map_err(|_| ENOSPC)?;
        // `tsm_dev::id` is a C int.
        if id > i32::MAX as u32 {
            return Err(ENOSPC);
        }
        self.words[word] |= 1 << bit;
        Ok(id)
    }

    /// Returns `id` to the set.
    pub(crate) fn free(&mut self, id: u32) {
        let (word, bit) = (id as usize / 64, id % 64);
        if let Some(w) = self.words.get_mut(word) {
            *w &= !(1u64 << bit);
        }
    }
}

#[kunit_tests(tsm_class_ids)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_number_first() -> Result {
        let mut ids = IdSet::new();
        assert_eq!(ids.alloc()?, 0);
        assert_eq!(ids.alloc()?, 1);
        assert_eq!(ids.alloc()?, 2);
        ids.free(1);
        assert_eq!(ids.alloc()?, 1);
        assert_eq!(ids.alloc()?, 3);
        Ok(())
    }

    #[test]
    fn grows_past_one_word() -> Result {
        let mut ids = IdSet::new();
        for expected in 0..130 {
            assert_eq!(ids.alloc()?, expected);
        }
        ids.free(64);
        ids.free(3);
        assert_eq!(ids.alloc()?, 3);
        assert_eq!(ids.alloc()?, 64);
        assert_eq!(ids.alloc()?, 130);
        // Freeing a number never handed out changes nothing.
        ids.free(10_000);
        assert_eq!(ids.alloc()?, 131);
        Ok(())
    }
}
