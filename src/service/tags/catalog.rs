//! Every tag, held in memory for list pages: a page statement reads each article's tag ids
//! (`db::fragments::TagIdsOfArticle`) and the tags version, and the names come from here, which
//! saves the statement that read them with every page.
//!
//! The copy is exact on every instance: the database moves the version in the same transaction
//! as any tag write (migration `tags_version`), so a page that read a newer version than the
//! copy's reloads it first. A copy newer than the page is used as it is, unless it lacks one of
//! the page's tags (deleted since): then the tags are read from the database, as before. A
//! database restored in place under running instances moves the version back, which they
//! cannot tell from a replica behind: restart them (README, "Durability").

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock, TryLockError};

use crate::db::articles::ArticleSummaryRow;
use crate::db::tags::TagRow;
use crate::db::{self, DbConn};

/// Shared by every request of an instance; cloning shares it.
#[derive(Clone, Default)]
pub struct TagCatalog {
    current: Arc<RwLock<Arc<Snapshot>>>,
    /// Held while one request reloads, so a tag write costs one reload, not one a request.
    reloading: Arc<Mutex<()>>,
}

#[derive(Default)]
struct Snapshot {
    /// At least as new as this (`db::tags::catalog`); 0 before the first load, older than any.
    version: i64,
    /// Each tag with its place in the database's (name, id) order.
    tags: HashMap<i64, (usize, TagRow)>,
}

impl TagCatalog {
    /// The tags of these listed rows as (article id, tag), each article's in the order
    /// `db::tags::for_articles` gives, which reads them when memory cannot answer.
    pub fn tags_of(
        &self,
        conn: &mut DbConn,
        rows: &[&ArticleSummaryRow],
    ) -> diesel::QueryResult<Vec<(i64, TagRow)>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        match self.answer_from_memory(conn, rows)? {
            Some(tags) => Ok(tags),
            None => {
                let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
                db::tags::for_articles(conn, &ids)
            }
        }
    }

    /// As `tags_of`, or `None` when memory cannot answer: the rows carry no ids, another
    /// request is reloading (this page reads its own tags meanwhile), or the copy lacks one.
    fn answer_from_memory(
        &self,
        conn: &mut DbConn,
        rows: &[&ArticleSummaryRow],
    ) -> diesel::QueryResult<Option<Vec<(i64, TagRow)>>> {
        let Some(read_at) = rows.iter().filter_map(|row| row.tags_version).max() else {
            return Ok(None);
        };
        let mut snapshot = self.snapshot();
        if snapshot.version < read_at {
            let Some(reloaded) = self.reload(conn, read_at)? else {
                return Ok(None);
            };
            snapshot = reloaded;
        }
        let mut tags = Vec::new();
        for row in rows {
            let Some(ids) = row.parsed_tag_ids() else {
                return Ok(None);
            };
            let Some(mut of_article) = ids
                .iter()
                .map(|id| snapshot.tags.get(id))
                .collect::<Option<Vec<_>>>()
            else {
                return Ok(None);
            };
            of_article.sort_unstable_by_key(|(place, _)| *place);
            tags.extend(of_article.into_iter().map(|(_, tag)| (row.id, tag.clone())));
        }
        Ok(Some(tags))
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads the tags again, or `None` when another request is doing so. Nobody waits for
    /// that one: it holds a connection that may be stuck on a slow replica, and waiting would
    /// tie up one more connection per request.
    fn reload(&self, conn: &mut DbConn, wanted: i64) -> diesel::QueryResult<Option<Arc<Snapshot>>> {
        let _one_at_a_time = match self.reloading.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return Ok(None),
        };
        let snapshot = self.snapshot();
        if snapshot.version >= wanted {
            return Ok(Some(snapshot));
        }
        let (version, rows) = db::tags::catalog(conn)?;
        let loaded = Arc::new(Snapshot {
            version,
            tags: rows
                .into_iter()
                .enumerate()
                .map(|(place, tag)| (tag.id, (place, tag)))
                .collect(),
        });
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        // A replica behind the primary reads an older version: keep the newer copy.
        if current.version < loaded.version {
            *current = loaded.clone();
        }
        Ok(Some(loaded))
    }
}
