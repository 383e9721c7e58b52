//! Cursor pagination, the one way every list endpoint pages.
//!
//! A list answers `{"items": [...], "next_cursor": "…" | null}`. The client
//! passes `cursor` back to get the next page; `limit` (1–200, default 50)
//! sets the page size. Cursors are opaque: today the position is a row id,
//! wrapped so clients do not build them by hand.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::problem::Problem;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

impl PageQuery {
    /// The row id to continue after, and the page size.
    pub fn position(&self) -> Result<(Option<i64>, u64), Problem> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(
                Problem::new(StatusCode::BAD_REQUEST, "invalid-query", "Invalid limit")
                    .field("limit")
                    .detail(format!("`limit` must be between 1 and {MAX_LIMIT}.")),
            );
        }
        let after = self.cursor.as_deref().map(decode).transpose()?;
        Ok((after, limit))
    }

    /// Like [`position`](Self::position), for lists ordered by a time and
    /// an id (the cursor carries both).
    pub fn pair_position(&self) -> Result<(Option<(i64, i64)>, u64), Problem> {
        let (_, limit) = PageQuery {
            cursor: None,
            limit: self.limit,
        }
        .position()?;
        let after = self.cursor.as_deref().map(decode_pair).transpose()?;
        Ok((after, limit))
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Build a page from rows fetched with `limit`; a full page gets a cursor
    /// after its last row.
    pub fn from_rows<R>(
        rows: Vec<R>,
        limit: u64,
        id: impl Fn(&R) -> i64,
        view: impl Fn(R) -> T,
    ) -> Self {
        let next_cursor = if rows.len() as u64 == limit {
            rows.last().map(|r| encode(id(r)))
        } else {
            None
        };
        Page {
            items: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }
}

impl<T> Page<T> {
    /// A page whose next position the caller worked out.
    pub fn from_parts(items: Vec<T>, next_after: Option<i64>) -> Self {
        Page {
            items,
            next_cursor: next_after.map(encode),
        }
    }
}

impl<T> Page<T> {
    /// A page of a list ordered by (time, id).
    pub fn from_pair(items: Vec<T>, next_after: Option<(i64, i64)>) -> Self {
        Page {
            items,
            next_cursor: next_after.map(|(t, id)| URL_SAFE_NO_PAD.encode(format!("at:{t}:{id}"))),
        }
    }
}

fn decode_pair(cursor: &str) -> Result<(i64, i64), Problem> {
    let bad = || {
        Problem::new(StatusCode::BAD_REQUEST, "invalid-query", "Invalid cursor")
            .field("cursor")
            .detail("Use the `next_cursor` value from the previous page unchanged.")
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let rest = text.strip_prefix("at:").ok_or_else(bad)?;
    let (t, id) = rest.split_once(':').ok_or_else(bad)?;
    Ok((
        t.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

fn encode(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("id:{id}"))
}

fn decode(cursor: &str) -> Result<i64, Problem> {
    let bad = || {
        Problem::new(StatusCode::BAD_REQUEST, "invalid-query", "Invalid cursor")
            .field("cursor")
            .detail("Use the `next_cursor` value from the previous page unchanged.")
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("id:")
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_tampering() {
        assert_eq!(decode(&encode(42)).unwrap(), 42);
        assert!(decode("not-a-cursor").is_err());
        assert!(decode(&URL_SAFE_NO_PAD.encode("id:x")).is_err());
    }

    #[test]
    fn only_full_pages_get_a_cursor() {
        let full = Page::from_rows(vec![1i64, 2], 2, |r| *r, |r| r);
        assert!(full.next_cursor.is_some());
        let short = Page::from_rows(vec![1i64], 2, |r| *r, |r| r);
        assert!(short.next_cursor.is_none());
    }

    #[test]
    fn limit_is_bounded() {
        let q = PageQuery {
            cursor: None,
            limit: Some(0),
        };
        assert_eq!(q.position().unwrap_err().field.as_deref(), Some("limit"));
        let q = PageQuery {
            cursor: None,
            limit: Some(201),
        };
        assert!(q.position().is_err());
        assert_eq!(
            PageQuery::default().position().unwrap(),
            (None, DEFAULT_LIMIT)
        );
    }
}
