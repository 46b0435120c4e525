//! `maxResults` / `nextToken` for every List call. Tokens are opaque to
//! clients but stateless here: the hex of the last key returned, so a page
//! resumes after that key even when items were added or removed meanwhile.

use crate::emulator::wire::error::{EcsError, EcsResult};

/// The page a request asks for.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub max: usize,
    pub after: Option<String>,
    /// Items come in descending key order (ListTaskDefinitions `sort: DESC`).
    pub descending: bool,
}

impl PageRequest {
    /// Validates `maxResults` (1..=`limit`, `default` when absent) and decodes
    /// `nextToken`.
    pub fn new(max_results: Option<i32>, next_token: Option<&str>, default: usize, limit: usize) -> EcsResult<Self> {
        let max = match max_results {
            None => default,
            Some(n) if n >= 1 && (n as usize) <= limit => n as usize,
            Some(n) => {
                return Err(EcsError::invalid(format!("maxResults must be between 1 and {limit}, got {n}.")));
            }
        };
        let after = match next_token {
            None | Some("") => None,
            Some(token) => Some(
                hex::decode(token)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| EcsError::invalid("The nextToken is not valid."))?,
            ),
        };
        Ok(Self { max, after, descending: false })
    }

    /// Takes one page from `items`, which must be sorted by key; returns the
    /// page and the token for the next one.
    pub fn take<K: AsRef<str>, T>(&self, items: impl IntoIterator<Item = (K, T)>) -> (Vec<T>, Option<String>) {
        let mut page = Vec::new();
        let mut last_key = None;
        let mut more = false;
        for (key, item) in items {
            let key_str = key.as_ref();
            let seen = self.after.as_ref().is_some_and(|after| {
                if self.descending { key_str >= after.as_str() } else { key_str <= after.as_str() }
            });
            if seen {
                continue;
            }
            if page.len() == self.max {
                more = true;
                break;
            }
            page.push(item);
            last_key = Some(key);
        }
        let token = if more { last_key.map(|k| hex::encode(k.as_ref())) } else { None };
        (page, token)
    }
}

/// `{member: items}` plus `nextToken` when there is a next page (optionals are
/// omitted, never null).
pub fn list_response(member: &str, items: Vec<serde_json::Value>, next: Option<String>) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    body.insert(member.to_owned(), serde_json::Value::Array(items));
    if let Some(token) = next {
        body.insert("nextToken".to_owned(), serde_json::Value::String(token));
    }
    serde_json::Value::Object(body)
}

/// A List response serialized straight from borrowed items.
pub fn list_reply<T: serde::Serialize>(
    member: &str,
    items: &[T],
    next: Option<String>,
) -> super::error::EcsResult<super::codec::Reply> {
    struct Out<'a, T> {
        member: &'a str,
        items: &'a [T],
        next: Option<String>,
    }
    impl<T: serde::Serialize> serde::Serialize for Out<'_, T> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(None)?;
            map.serialize_entry(self.member, self.items)?;
            if let Some(token) = &self.next {
                map.serialize_entry("nextToken", token)?;
            }
            map.end()
        }
    }
    super::codec::Reply::of(&Out { member, items, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_resume_after_the_last_key() {
        let keys: Vec<(String, u32)> = (0..25).map(|i| (format!("k{i:02}"), i)).collect();
        let first = PageRequest::new(Some(10), None, 100, 100).unwrap();
        let (page, token) = first.take(keys.clone());
        assert_eq!(page, (0..10).collect::<Vec<_>>());
        let second = PageRequest::new(Some(10), token.as_deref(), 100, 100).unwrap();
        let (page, token) = second.take(keys.clone());
        assert_eq!(page, (10..20).collect::<Vec<_>>());
        let third = PageRequest::new(Some(10), token.as_deref(), 100, 100).unwrap();
        let (page, token) = third.take(keys);
        assert_eq!(page, (20..25).collect::<Vec<_>>());
        assert_eq!(token, None);
    }

    #[test]
    fn bad_parameters_are_rejected() {
        assert!(PageRequest::new(Some(0), None, 100, 100).is_err());
        assert!(PageRequest::new(Some(101), None, 100, 100).is_err());
        assert!(PageRequest::new(None, Some("zz"), 100, 100).is_err());
    }
}
