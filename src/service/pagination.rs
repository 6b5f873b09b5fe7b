//! The opaque keyset cursor of article lists: which order it belongs to and the sort key and
//! id of the last row served. Clients must treat it as a black box.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::db::articles::{ArticleOrder, SortKey};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub order: ArticleOrder,
    pub key: SortKey,
    pub id: i64,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    /// The sort, as the `sort` parameter spells it.
    s: String,
    /// A time as microseconds since the epoch, or a title.
    #[serde(skip_serializing_if = "Option::is_none")]
    t: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    k: Option<String>,
    /// A search's relevance tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    r: Option<u8>,
    i: i64,
}

/// Why a cursor was refused; the API turns it into a 400 on `cursor`.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    #[error("is not a cursor issued by this server")]
    Malformed,
    #[error("was issued for sort={0}; repeat the request with that sort or drop the cursor")]
    OtherSort(String),
}

impl Cursor {
    pub fn encode(&self) -> String {
        let micros = |time: &NaiveDateTime| time.and_utc().timestamp_micros();
        let (t, k, r) = match &self.key {
            SortKey::Time(time) => (Some(micros(time)), None, None),
            SortKey::Title(title) => (None, Some(title.clone()), None),
            SortKey::Tier(tier) => (None, None, Some(*tier)),
        };
        let wire = Wire {
            s: order_name(self.order).to_owned(),
            t,
            k,
            r,
            i: self.id,
        };
        // Serializing a struct of strings and integers cannot fail.
        let json = serde_json::to_vec(&wire).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a cursor and checks that it continues the requested order.
    /// A cursor from its text; `expected` is the order the request asked for, if it named
    /// one (without, the cursor's own order holds).
    pub fn decode(text: &str, expected: Option<ArticleOrder>) -> Result<Self, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| CursorError::Malformed)?;
        let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| CursorError::Malformed)?;
        let order = order_from_name(&wire.s).ok_or(CursorError::Malformed)?;
        if expected.is_some_and(|expected| order != expected) {
            return Err(CursorError::OtherSort(wire.s));
        }
        let key = match (order, wire.t, wire.k, wire.r) {
            (ArticleOrder::TitleAsc, None, Some(title), None) => SortKey::Title(title),
            (ArticleOrder::TitleAsc, _, _, _) => return Err(CursorError::Malformed),
            (ArticleOrder::Relevance, None, None, Some(tier)) => SortKey::Tier(tier),
            (ArticleOrder::Relevance, _, _, _) => return Err(CursorError::Malformed),
            (_, Some(micros), None, None) => SortKey::Time(time_from_micros(micros)?),
            _ => return Err(CursorError::Malformed),
        };
        Ok(Self {
            order,
            key,
            id: wire.i,
        })
    }
}

fn time_from_micros(micros: i64) -> Result<NaiveDateTime, CursorError> {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.naive_utc())
        .ok_or(CursorError::Malformed)
}

/// The spelling of each order in the `sort` query parameter.
pub fn order_name(order: ArticleOrder) -> &'static str {
    match order {
        ArticleOrder::PublishedDesc => "-published_at",
        ArticleOrder::PublishedAsc => "published_at",
        ArticleOrder::UpdatedDesc => "-updated_at",
        ArticleOrder::TitleAsc => "title",
        ArticleOrder::Relevance => "relevance",
    }
}

pub fn order_from_name(name: &str) -> Option<ArticleOrder> {
    [
        ArticleOrder::PublishedDesc,
        ArticleOrder::PublishedAsc,
        ArticleOrder::UpdatedDesc,
        ArticleOrder::TitleAsc,
        ArticleOrder::Relevance,
    ]
    .into_iter()
    .find(|&order| order_name(order) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_its_round_trip() {
        let time = crate::db::now();
        for cursor in [
            Cursor {
                order: ArticleOrder::PublishedDesc,
                key: SortKey::Time(time),
                id: 7,
            },
            Cursor {
                order: ArticleOrder::TitleAsc,
                key: SortKey::Title("Ünïcode, \"quoted\"".into()),
                id: 9,
            },
            Cursor {
                order: ArticleOrder::Relevance,
                key: SortKey::Tier(2),
                id: 11,
            },
        ] {
            assert_eq!(
                Cursor::decode(&cursor.encode(), Some(cursor.order)).unwrap(),
                cursor
            );
        }
    }

    #[test]
    fn a_cursor_for_another_sort_or_garbage_is_refused() {
        let cursor = Cursor {
            order: ArticleOrder::TitleAsc,
            key: SortKey::Title("a".into()),
            id: 1,
        };
        assert!(matches!(
            Cursor::decode(&cursor.encode(), Some(ArticleOrder::PublishedDesc)),
            Err(CursorError::OtherSort(_))
        ));
        for garbage in ["", "!!!", "e30", "eyJzIjoidGl0bGUiLCJpIjoxfQ"] {
            assert!(matches!(
                Cursor::decode(garbage, Some(ArticleOrder::TitleAsc)),
                Err(CursorError::Malformed)
            ));
        }
    }
}
