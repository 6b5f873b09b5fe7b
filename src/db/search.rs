//! The full-text index (see the search migrations): which articles match a query, and the
//! names the index reads.
//!
//! Which articles match is a condition of the article statements (`fragments::Matches`); the
//! statements here read matching ids from the index for the relevance tiers.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::DbConn;
use super::schema::{article_tags, articles};

/// A query as each engine reads it (`service::search::SearchQuery`), over one scope of the
/// article (the relevance tiers).
#[derive(Debug, Clone, PartialEq)]
pub struct TextMatch {
    /// SQLite: an FTS5 MATCH expression for the scope.
    pub fts5: String,
    /// PostgreSQL: `to_tsquery('folio_search', …)` inputs for the whole query and for its
    /// wanted terms alone, which `scope` combines.
    pub tsquery: String,
    pub tsquery_wanted: String,
    /// Whether the query excludes words (PostgreSQL: then a scope of the title or the
    /// excerpt also reads the whole article, for them).
    pub excludes: bool,
    pub scope: Scope,
    /// SQLite: the query matches few articles, so a statement starts from its matches rather
    /// than probing articles in order (see `fragments::Matches`).
    pub selective: bool,
    /// SQLite: only one batch of the matches, the newest below an id (read as `selective`).
    pub batch: Option<IndexBatch>,
    /// PostgreSQL: test each row the statement reads in order, never the GIN index (for a
    /// bounded window of articles, where building the index's bitmap of a common word would
    /// cost more than the window).
    pub row_by_row: bool,
}

/// The newest `limit` matches with ids below `below`, as `matching_ids_desc` reads them.
/// The limit is written into the statement, one prepared statement for each: keep its
/// values few.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexBatch {
    pub below: i64,
    pub limit: i64,
}

/// Where a search must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Anywhere,
    /// All wanted terms in the title.
    Title,
    /// All wanted terms in the excerpt, not in the title.
    Excerpt,
    /// Anywhere but all in the title or all in the excerpt.
    Elsewhere,
}

/// Matches counted up to `limit` (SQLite; from the index alone, before any other filter).
pub fn matches_up_to(conn: &mut DbConn, fts5: &str, limit: i64) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    match conn {
        DbConn::Sqlite(conn) => diesel::sql_query(
            "SELECT count(*) AS n FROM \
             (SELECT 1 FROM article_search WHERE article_search MATCH ? LIMIT ?)",
        )
        .bind::<Text, _>(fts5)
        .bind::<BigInt, _>(limit)
        .get_result::<Count>(conn)
        .map(|c| c.n),
        // PostgreSQL's planner estimates this itself.
        DbConn::Postgres(_) => Ok(limit),
    }
}

/// The ids of articles matching an FTS5 query (SQLite), newest created first, below
/// `before`: read in the index's own order, so it stops at `limit` whatever the number of
/// matches.
pub fn matching_ids_desc(
    conn: &mut DbConn,
    fts5: &str,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    match conn {
        DbConn::Sqlite(conn) => diesel::sql_query(
            "SELECT rowid AS id FROM article_search WHERE article_search MATCH ? \
             AND rowid < ? ORDER BY rowid DESC LIMIT ?",
        )
        .bind::<Text, _>(fts5)
        .bind::<BigInt, _>(before.unwrap_or(i64::MAX))
        .bind::<BigInt, _>(limit)
        .load::<Id>(conn)
        .map(|ids| ids.into_iter().map(|i| i.id).collect()),
        DbConn::Postgres(_) => Ok(Vec::new()),
    }
}

/// Up to `limit` ids of articles below `before` matching `text`, in no order, from the GIN
/// index (`through_text_index`; the bound on ids is written so the primary key cannot serve
/// it instead): 2.7 ms for a word in 1,770 of ten thousand articles, where the planner's own
/// choice tested every article's vector (59 ms).
pub fn matching_ids(
    conn: &mut DbConn,
    text: &TextMatch,
    before: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    let ids = articles::table
        .filter(super::matches(text))
        .filter(super::is_true(articles::id.lt(before)))
        .select(articles::id)
        .limit(limit);
    through_text_index(conn, |conn| ids.load(conn))
}

/// Runs `read` so that PostgreSQL finds its rows through a GIN index whenever the statement
/// lets it: in a transaction with sequential scans off. The planner reckons a whole-text
/// vector as cheap to test as any column, but each lives apart from its row (TOAST), so
/// reading articles in order and testing each cost 5–20 times what the index does. (A scan
/// turned off is costed at ten billion, which would have PostgreSQL compile the statement,
/// 140 ms for a one-row table's scan, were JIT not off on every connection: `db::pool`.)
/// SQLite runs `read` as it is.
pub fn through_text_index<T>(
    conn: &mut DbConn,
    read: impl FnOnce(&mut DbConn) -> QueryResult<T>,
) -> QueryResult<T> {
    if !matches!(conn, DbConn::Postgres(_)) {
        return read(conn);
    }
    conn.transaction(|conn| {
        if let DbConn::Postgres(c) = conn {
            diesel::sql_query("SELECT set_config('enable_seqscan', 'off', true)").execute(c)?;
        }
        read(conn)
    })
}

/// Merges the search index's segments (SQLite), a bounded step at a time, and returns whether
/// there was work to do. Each write adds a segment that every search then reads; with
/// `usermerge` at 2 (see the migration) the steps leave one segment of each size, at most
/// about a megabyte written per step so a writer never waits long behind one.
/// PostgreSQL's GIN index needs no such care (its pending list is merged by vacuum).
pub fn tidy_index(conn: &mut DbConn) -> QueryResult<bool> {
    let DbConn::Sqlite(conn) = conn else {
        return Ok(false);
    };
    // The command itself counts as one change; a step that merged counts more (FTS5 docs).
    let before = total_changes(conn)?;
    diesel::sql_query("INSERT INTO article_search (article_search, rank) VALUES ('merge', 256)")
        .execute(conn)?;
    Ok(total_changes(conn)? - before >= 2)
}

/// Merges the whole search index into one segment (SQLite), after a bulk load (`folio seed`,
/// an import), which leaves dozens behind: FTS5 writes a segment for every transaction and
/// whenever its pending rows fill memory, and merges only some of them. It rewrites the
/// whole index once: 0.4 s at ten thousand articles, and as much again in the write-ahead log
/// as the index holds (3 GB at a million).
pub fn compact_index(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Sqlite(conn) = conn {
        diesel::sql_query("INSERT INTO article_search (article_search) VALUES ('optimize')")
            .execute(conn)?;
    }
    Ok(())
}

fn total_changes(conn: &mut diesel::SqliteConnection) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Changes {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT total_changes() AS n")
        .get_result::<Changes>(conn)
        .map(|c| c.n)
}

/// Brings the names the index reads (`search_tags`, `search_author`) up to date for these
/// articles, in one statement; rows whose names did not change are not written, so the index
/// is not either.
pub fn refresh_names(conn: &mut DbConn, ids: &[i64]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    match conn {
        DbConn::Sqlite(conn) => {
            let tags = "COALESCE((SELECT group_concat(name, ' ') FROM (SELECT tags.name \
                        FROM article_tags JOIN tags ON tags.id = article_tags.tag_id \
                        WHERE article_tags.article_id = articles.id ORDER BY tags.name)), '')";
            let author =
                "COALESCE((SELECT name FROM users WHERE users.id = articles.author_id), '')";
            diesel::sql_query(format!(
                "UPDATE articles SET search_tags = {tags}, search_author = {author} \
                 WHERE id IN (SELECT value FROM json_each(?)) \
                 AND (search_tags IS NOT {tags} OR search_author IS NOT {author})"
            ))
            .bind::<Text, _>(serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()))
            .execute(conn)
        }
        DbConn::Postgres(conn) => {
            let tags = "COALESCE((SELECT string_agg(tags.name, ' ' ORDER BY tags.name) \
                        FROM article_tags JOIN tags ON tags.id = article_tags.tag_id \
                        WHERE article_tags.article_id = articles.id), '')";
            let author =
                "COALESCE((SELECT name FROM users WHERE users.id = articles.author_id), '')";
            diesel::sql_query(format!(
                "UPDATE articles SET search_tags = {tags}, search_author = {author} \
                 WHERE id = ANY($1) \
                 AND (search_tags IS DISTINCT FROM {tags} OR search_author IS DISTINCT FROM {author})"
            ))
            .bind::<diesel::sql_types::Array<BigInt>, _>(ids)
            .execute(conn)
        }
    }
}

/// Whether the database folds case for all of Unicode when it indexes: SQLite's tokenizer
/// always does; PostgreSQL's lower-casing follows the database's ctype.
pub fn folds_case(conn: &mut DbConn) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Folds {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        folds: bool,
    }
    match conn {
        DbConn::Sqlite(_) => Ok(true),
        DbConn::Postgres(conn) => diesel::sql_query("SELECT lower('ÉΩЖ') = 'éωж' AS folds")
            .get_result::<Folds>(conn)
            .map(|f| f.folds),
    }
}

/// The articles carrying a tag, or written by a user: whose indexed names change with it.
pub fn articles_with_tag(conn: &mut DbConn, tag_id: i64) -> QueryResult<Vec<i64>> {
    article_tags::table
        .filter(article_tags::tag_id.eq(tag_id))
        .select(article_tags::article_id)
        .load(conn)
}

pub fn articles_by(conn: &mut DbConn, author_id: i64) -> QueryResult<Vec<i64>> {
    articles::table
        .filter(articles::author_id.eq(author_id))
        .select(articles::id)
        .load(conn)
}
