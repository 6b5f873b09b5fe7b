//! The full-text index (see the search migrations): how well articles match a query, their
//! titles and excerpts with the matched words marked, and the names the index reads.
//!
//! Which articles match is a condition of the article statements (`fragments::Matches`); the
//! statements here take the ids of a page or of the relevance window.

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
    /// PostgreSQL: test each row the statement reads in order, never the GIN index (for a
    /// bounded window of articles, where building the index's bitmap of a common word would
    /// cost more than the window).
    pub row_by_row: bool,
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

/// Around a matched word in `Hit::title` and `Hit::excerpt`: characters from Unicode's
/// private use area, which no text a person writes holds in this order; the API escapes the
/// text, then turns them into `<mark>` and `</mark>`.
pub const MARK_START: &str = "\u{F8FF}\u{E000}";
pub const MARK_END: &str = "\u{F8FF}\u{E001}";

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

/// A page's article with its title and excerpt, the words of the query marked between
/// `MARK_START` and `MARK_END`, and whether the whole query matches in the title, or in the
/// excerpt. Articles with no query word in either are left out.
#[derive(Debug, Clone, QueryableByName)]
pub struct Hit {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub excerpt: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub in_title: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub in_excerpt: bool,
}

/// The queries of a search's page: the whole query (PostgreSQL marks its words), any one of
/// its words (SQLite marks those), and its title and excerpt scopes.
pub struct HitQueries {
    pub all: TextMatch,
    pub any_term_fts5: String,
    pub title_fts5: String,
    pub excerpt_fts5: String,
}

pub fn hits(conn: &mut DbConn, queries: &HitQueries, ids: &[i64]) -> QueryResult<Vec<Hit>> {
    let ids_json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    match conn {
        DbConn::Sqlite(conn) => {
            // Marking words through the index reads each row's position lists out of
            // doclists of up to a million entries (17 ms for a page of a common word at a
            // million articles); a scratch index of the page's own titles and excerpts, on
            // this connection alone, has a row each (`page_search`, created once).
            diesel::sql_query(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.page_search USING fts5(\
                 title, excerpt, tokenize = 'porter unicode61 remove_diacritics 2')",
            )
            .execute(conn)?;
            diesel::sql_query("DELETE FROM temp.page_search").execute(conn)?;
            diesel::sql_query(
                "INSERT INTO temp.page_search (rowid, title, excerpt) \
                 SELECT id, title, excerpt FROM main.articles \
                 WHERE id IN (SELECT value FROM json_each(?))",
            )
            .bind::<Text, _>(&ids_json)
            .execute(conn)?;
            let tier = "rowid IN (SELECT rowid FROM temp.page_search WHERE page_search MATCH ?)";
            diesel::sql_query(format!(
                "SELECT rowid AS id, \
                 highlight(page_search, 0, '{MARK_START}', '{MARK_END}') AS title, \
                 highlight(page_search, 1, '{MARK_START}', '{MARK_END}') AS excerpt, \
                 {tier} AS in_title, {tier} AS in_excerpt \
                 FROM temp.page_search WHERE page_search MATCH ?"
            ))
            .bind::<Text, _>(&queries.title_fts5)
            .bind::<Text, _>(&queries.excerpt_fts5)
            .bind::<Text, _>(&queries.any_term_fts5)
            .load::<Hit>(conn)
        }
        DbConn::Postgres(conn) => {
            let options = format!("HighlightAll=true, StartSel={MARK_START}, StopSel={MARK_END}");
            diesel::sql_query(
                "SELECT id, \
                 ts_headline('folio_search', title, query, $3) AS title, \
                 ts_headline('folio_search', excerpt, query, $3) AS excerpt, \
                 search_title @@ wanted AS in_title, \
                 search_excerpt @@ wanted AS in_excerpt \
                 FROM articles, to_tsquery('folio_search', $1) AS query, \
                 to_tsquery('folio_search', $2) AS wanted \
                 WHERE id = ANY($4)",
            )
            .bind::<Text, _>(&queries.all.tsquery)
            .bind::<Text, _>(&queries.all.tsquery_wanted)
            .bind::<Text, _>(options)
            .bind::<diesel::sql_types::Array<BigInt>, _>(ids)
            .load::<Hit>(conn)
        }
    }
}

/// The id of the `n`th newest article below `before` (any state: the list's filter decides
/// what shows), or `None` if there are fewer than `n`.
pub fn nth_newest_id(conn: &mut DbConn, before: Option<i64>, n: i64) -> QueryResult<Option<i64>> {
    let mut query = articles::table
        .select(articles::id)
        .order(articles::id.desc())
        .offset(n - 1)
        .limit(1)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(articles::id.lt(before));
    }
    query.first(conn).optional()
}

/// Up to `limit` ids of articles below `before` matching `text`, in no order: asked that way,
/// PostgreSQL reads them from its GIN index (a bitmap), however common it guesses the words.
pub fn matching_ids(
    conn: &mut DbConn,
    text: &TextMatch,
    before: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    articles::table
        .filter(super::matches(text))
        .filter(articles::id.lt(before))
        .select(articles::id)
        .limit(limit)
        .load(conn)
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
