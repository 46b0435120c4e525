//! A task's id as the task table, its slab and its indexes keep it.

use std::borrow::Borrow;
use std::hash::Hash;
use std::ops::Deref;

/// A task id as the table and its indexes keep it: inline when it fits, as
/// the emulator's own ids (32 hex digits) do. Hashing, comparing or copying
/// an inline id reads only the bytes beside it; a `String` sends each of
/// those to the heap, and with tens of thousands of tasks that was a cache
/// miss per comparison in every index and lookup (the rollout's cost per
/// task grew with the fleet).
#[derive(Clone)]
pub struct TaskId(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

const INLINE: usize = 32;

impl TaskId {
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // SAFETY: `From<&str>` is the only constructor of an inline id:
            // its first `len` bytes are a copy of a whole `str`, so UTF-8.
            // (Checking them again on every hash and comparison is what
            // this type exists to avoid.)
            Repr::Inline { len, bytes } => unsafe { std::str::from_utf8_unchecked(&bytes[..usize::from(*len)]) },
            Repr::Heap(id) => id,
        }
    }
}

impl From<&str> for TaskId {
    fn from(id: &str) -> Self {
        match u8::try_from(id.len()) {
            Ok(len) if id.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..id.len()].copy_from_slice(id.as_bytes());
                Self(Repr::Inline { len, bytes })
            }
            _ => Self(Repr::Heap(id.into())),
        }
    }
}

impl Deref for TaskId {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for TaskId {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// As the `str`, so that lookups by `&str` find it.
impl Hash for TaskId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq for TaskId {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            // Whole arrays compare in a few vector instructions, where a
            // `str` comparison is a call to `memcmp`; the unused bytes
            // are zero, so equal ids have equal arrays.
            (Repr::Inline { len: a, bytes: x }, Repr::Inline { len: b, bytes: y }) => a == b && x == y,
            _ => self.as_str() == other.as_str(),
        }
    }
}

impl Eq for TaskId {}

impl PartialEq<String> for TaskId {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl From<&String> for TaskId {
    fn from(id: &String) -> Self {
        Self::from(id.as_str())
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialOrd for TaskId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The `str` order. Two inline ids compare as four big-endian words and then
/// their lengths, without a call to `memcmp` (the scheduler's indexes
/// compare ids on every lookup): where the zero-padded arrays first differ,
/// either both ids have a byte there, or the one that ended is a prefix of
/// the other, and is smaller in both orders; where they do not differ,
/// the shorter id is the prefix.
impl Ord for TaskId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (&self.0, &other.0) {
            (Repr::Inline { len: a, bytes: x }, Repr::Inline { len: b, bytes: y }) => {
                // Random ids nearly always differ in the first word.
                for i in 0..INLINE / 8 {
                    let order = word(x, i).cmp(&word(y, i));
                    if order.is_ne() {
                        return order;
                    }
                }
                a.cmp(b)
            }
            _ => self.as_str().cmp(other.as_str()),
        }
    }
}

/// The `i`th eight bytes of an inline id, as a word that orders as they do.
fn word(bytes: &[u8; INLINE], i: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
    u64::from_be_bytes(word)
}

impl std::fmt::Debug for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_as_their_strings() {
        // Prefixes, NUL bytes, multi-byte characters, and ids too long to
        // keep inline, each against each.
        let ids = [
            "",
            "\0",
            "a",
            "a\0",
            "a\0b",
            "ab",
            "b",
            "0123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdee",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "é",
            "e\u{301}",
            "ffffffff",
            "fffffffe",
        ];
        for a in ids {
            for b in ids {
                let (x, y) = (TaskId::from(a), TaskId::from(b));
                assert_eq!(x.cmp(&y), a.cmp(b), "{a:?} against {b:?}");
                assert_eq!(x == y, a == b, "{a:?} against {b:?}");
            }
        }
    }
}
