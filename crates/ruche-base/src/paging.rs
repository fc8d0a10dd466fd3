//! Page numbers of lists, bounded by construction, so no count chosen by a client decides memory
//! or time.
use std::fmt;

use serde::{de, Deserialize, Deserializer};

/// Which page of a list someone asked for: 1 when absent or 0; a number too large to hold reads
/// as the largest, which every list then brings back to its last page. Not a number: refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PageNumber(u32);

impl Default for PageNumber {
    fn default() -> Self {
        Self::FIRST
    }
}

impl PageNumber {
    pub const FIRST: PageNumber = PageNumber(1);

    /// Reads a page number as an address carries it.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return Some(Self::FIRST);
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Only digits: parsing fails only when the number is too large to hold.
        let n = text.parse::<u32>().unwrap_or(u32::MAX);
        Some(PageNumber(n.max(1)))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// This page, or the last one of `total` items shown `per_page` at a time.
    pub fn within(self, total: u64, per_page: u64) -> PageNumber {
        PageNumber(self.0.min(pages(total, per_page)))
    }

    /// How many items come before this page.
    pub fn offset(self, per_page: u64) -> u64 {
        u64::from(self.0 - 1) * per_page
    }
}

/// How many pages `total` items take, `per_page` at a time (at least one, even when empty).
pub fn pages(total: u64, per_page: u64) -> u32 {
    u32::try_from(total.div_ceil(per_page.max(1))).unwrap_or(u32::MAX).max(1)
}

impl<'de> Deserialize<'de> for PageNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = PageNumber;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a page number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PageNumber, E> {
                PageNumber::parse(v).ok_or_else(|| E::custom("not a page number"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PageNumber, E> {
                Ok(PageNumber(u32::try_from(v).unwrap_or(u32::MAX).max(1)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PageNumber, E> {
                Ok(PageNumber(u32::try_from(v.max(1)).unwrap_or(u32::MAX)))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}
