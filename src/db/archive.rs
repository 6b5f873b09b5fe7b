//! The rows `folio export` reads and `folio import` writes: every column that defines a site,
//! as stored, ids included. Derived data (counters, search names, the search index) is not
//! archived; the import rebuilds it.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::DbConn;
use super::revisions::RevisionRow;
use super::schema::{
    article_revisions, article_tags, articles, media, site, tags, user_identities, users,
};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = users)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub slug: String,
    pub name: String,
    pub bio: String,
    pub avatar: Option<String>,
    pub role: String,
    pub password_hash: Option<String>,
    pub disabled: bool,
    #[serde(with = "utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "utc")]
    pub updated_at: NaiveDateTime,
}

/// Which identity provider account is which user (single sign-on).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = user_identities)]
#[serde(deny_unknown_fields)]
pub struct IdentityRecord {
    pub user_id: i64,
    pub issuer: String,
    pub subject: String,
    #[serde(with = "utc")]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = tags)]
#[serde(deny_unknown_fields)]
pub struct TagRecord {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    #[serde(with = "utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "utc")]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = articles)]
pub struct ArticleRow {
    pub id: i64,
    pub slug: String,
    pub status: String,
    #[serde(with = "utc_option")]
    pub published_at: Option<NaiveDateTime>,
    pub author_id: i64,
    pub reading_time: i32,
    pub version: i32,
    #[serde(with = "utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "utc")]
    pub updated_at: NaiveDateTime,
    pub title: String,
    pub excerpt: String,
    pub feature_image: Option<String>,
    /// Absent from archives made before the media library.
    #[serde(default)]
    pub feature_image_id: Option<i64>,
    pub body_markdown: String,
    pub body_html: String,
}

/// A media library item: its row only. The objects stay where they are stored; the new
/// database's Folio uses the same directory or bucket.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = media)]
#[serde(deny_unknown_fields)]
pub struct MediaRecord {
    pub id: i64,
    pub object_key: String,
    pub url: String,
    pub mime_type: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    /// JSON, as stored.
    pub variants: String,
    pub alt: String,
    pub caption: String,
    pub uploader_id: Option<i64>,
    pub version: i32,
    #[serde(with = "utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "utc")]
    pub updated_at: NaiveDateTime,
}

/// An article with the ids of its tags, in id order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleRecord {
    #[serde(flatten)]
    pub article: ArticleRow,
    pub tags: Vec<i64>,
}

#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, Serialize, Deserialize,
)]
#[diesel(table_name = site)]
#[serde(deny_unknown_fields)]
pub struct SiteRecord {
    pub title: String,
    pub description: String,
    pub url: String,
    pub locale: String,
    pub logo: Option<String>,
    pub article_url: String,
    pub tag_url: String,
    pub author_url: String,
    pub version: i32,
    #[serde(with = "utc")]
    pub updated_at: NaiveDateTime,
}

/// Makes the transaction this runs first in read one snapshot throughout (SQLite's read
/// transactions always do), so an export taken while the site is written to is consistent.
pub fn read_one_snapshot(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Postgres(c) => {
            c.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        }
        DbConn::Sqlite(_) => Ok(()),
    }
}

pub fn site(conn: &mut DbConn) -> QueryResult<SiteRecord> {
    site::table
        .find(1)
        .select(SiteRecord::as_select())
        .first(conn)
}

pub fn users(conn: &mut DbConn) -> QueryResult<Vec<UserRecord>> {
    users::table
        .order(users::id)
        .select(UserRecord::as_select())
        .load(conn)
}

pub fn identities(conn: &mut DbConn) -> QueryResult<Vec<IdentityRecord>> {
    user_identities::table
        .order(user_identities::id)
        .select(IdentityRecord::as_select())
        .load(conn)
}

pub fn tags(conn: &mut DbConn) -> QueryResult<Vec<TagRecord>> {
    tags::table
        .order(tags::id)
        .select(TagRecord::as_select())
        .load(conn)
}

pub fn media(conn: &mut DbConn) -> QueryResult<Vec<MediaRecord>> {
    media::table
        .order(media::id)
        .select(MediaRecord::as_select())
        .load(conn)
}

pub fn article_count(conn: &mut DbConn) -> QueryResult<i64> {
    articles::table.count().get_result(conn)
}

/// Up to `limit` articles with ids above `after`, in id order, each with its tags.
pub fn articles_after(
    conn: &mut DbConn,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<ArticleRecord>> {
    let rows: Vec<ArticleRow> = articles::table
        .filter(articles::id.gt(after))
        .order(articles::id)
        .limit(limit)
        .select(ArticleRow::as_select())
        .load(conn)?;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(Vec::new());
    };
    let links: Vec<(i64, i64)> = article_tags::table
        .filter(article_tags::article_id.between(first.id, last.id))
        .order((article_tags::article_id, article_tags::tag_id))
        .select((article_tags::article_id, article_tags::tag_id))
        .load(conn)?;
    let mut tags_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for (article, tag) in links {
        tags_of.entry(article).or_default().push(tag);
    }
    Ok(rows
        .into_iter()
        .map(|article| ArticleRecord {
            tags: tags_of.remove(&article.id).unwrap_or_default(),
            article,
        })
        .collect())
}

/// How many users, tags and articles the database holds.
pub fn content_counts(conn: &mut DbConn) -> QueryResult<(i64, i64, i64)> {
    Ok((
        users::table.count().get_result(conn)?,
        tags::table.count().get_result(conn)?,
        articles::table.count().get_result(conn)?,
    ))
}

pub fn set_site(conn: &mut DbConn, record: &SiteRecord) -> QueryResult<()> {
    diesel::update(site::table.find(1))
        .set(record)
        .execute(conn)
        .map(drop)
}

pub fn insert_users(conn: &mut DbConn, rows: &[UserRecord]) -> QueryResult<()> {
    // Multi-row inserts are not available through MultiConnection; each backend runs its own.
    match conn {
        DbConn::Postgres(c) => diesel::insert_into(users::table).values(rows).execute(c),
        DbConn::Sqlite(c) => diesel::insert_into(users::table).values(rows).execute(c),
    }
    .map(drop)
}

pub fn insert_identities(conn: &mut DbConn, rows: &[IdentityRecord]) -> QueryResult<()> {
    match conn {
        DbConn::Postgres(c) => diesel::insert_into(user_identities::table)
            .values(rows)
            .execute(c),
        DbConn::Sqlite(c) => diesel::insert_into(user_identities::table)
            .values(rows)
            .execute(c),
    }
    .map(drop)
}

pub fn insert_media(conn: &mut DbConn, rows: &[MediaRecord]) -> QueryResult<()> {
    match conn {
        DbConn::Postgres(c) => diesel::insert_into(media::table).values(rows).execute(c),
        DbConn::Sqlite(c) => diesel::insert_into(media::table).values(rows).execute(c),
    }
    .map(drop)
}

pub fn insert_tags(conn: &mut DbConn, rows: &[TagRecord]) -> QueryResult<()> {
    match conn {
        DbConn::Postgres(c) => diesel::insert_into(tags::table).values(rows).execute(c),
        DbConn::Sqlite(c) => diesel::insert_into(tags::table).values(rows).execute(c),
    }
    .map(drop)
}

/// Inserts articles with their tag links and the names the search index reads
/// (`search_tags`, `search_author`), which the caller derives as `db::search` does.
pub fn insert_articles(
    conn: &mut DbConn,
    records: &[ArticleRecord],
    search_names: &[(String, String)],
) -> QueryResult<()> {
    let rows: Vec<_> = records
        .iter()
        .zip(search_names)
        .map(|(record, (search_tags, search_author))| {
            (
                &record.article,
                articles::search_tags.eq(search_tags),
                articles::search_author.eq(search_author),
            )
        })
        .collect();
    let links: Vec<_> = records
        .iter()
        .flat_map(|record| {
            record.tags.iter().map(|&tag| {
                (
                    article_tags::article_id.eq(record.article.id),
                    article_tags::tag_id.eq(tag),
                )
            })
        })
        .collect();
    match conn {
        DbConn::Postgres(c) => {
            diesel::insert_into(articles::table)
                .values(rows)
                .execute(c)?;
            if !links.is_empty() {
                diesel::insert_into(article_tags::table)
                    .values(links)
                    .execute(c)?;
            }
        }
        DbConn::Sqlite(c) => {
            diesel::insert_into(articles::table)
                .values(rows)
                .execute(c)?;
            if !links.is_empty() {
                diesel::insert_into(article_tags::table)
                    .values(links)
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Drops the articles' full-text (GIN) indexes on PostgreSQL and returns the statements that
/// build them again: built once over a million rows, they cost a fraction of keeping them up
/// to date row by row. Read from the catalog, so the migrations stay their one definition.
pub fn drop_search_indexes(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Index {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        definition: String,
    }
    let DbConn::Postgres(c) = conn else {
        return Ok(Vec::new());
    };
    let indexes: Vec<Index> = diesel::sql_query(
        "SELECT indexname AS name, indexdef AS definition FROM pg_indexes \
         WHERE schemaname = current_schema() AND tablename = 'articles' \
         AND indexdef LIKE '% USING gin %'",
    )
    .load(c)?;
    for index in &indexes {
        c.batch_execute(&format!(
            "DROP INDEX \"{}\"",
            index.name.replace('"', "\"\"")
        ))?;
    }
    Ok(indexes.into_iter().map(|index| index.definition).collect())
}

/// Builds the search indexes after a bulk load: PostgreSQL's from the statements
/// `drop_search_indexes` returned; SQLite's, kept by triggers through the load, merged into
/// one segment (`search::compact_index`).
pub fn create_indexes(conn: &mut DbConn, definitions: &[String]) -> QueryResult<()> {
    for definition in definitions {
        conn.batch_execute(definition)?;
    }
    super::search::compact_index(conn)
}

/// A batch of revisions after `after` (article id, version), in that order.
pub fn revisions_after(
    conn: &mut DbConn,
    after: (i64, i32),
    limit: i64,
) -> QueryResult<Vec<RevisionRow>> {
    let (article_id, version) = after;
    article_revisions::table
        .filter(
            article_revisions::article_id
                .gt(article_id)
                .or(article_revisions::article_id
                    .eq(article_id)
                    .and(article_revisions::version.gt(version))),
        )
        .order((article_revisions::article_id, article_revisions::version))
        .select(RevisionRow::as_select())
        .limit(limit)
        .load(conn)
}

pub fn insert_revisions(conn: &mut DbConn, rows: &[RevisionRow]) -> QueryResult<()> {
    match conn {
        DbConn::Postgres(c) => diesel::insert_into(article_revisions::table)
            .values(rows)
            .execute(c)?,
        DbConn::Sqlite(c) => diesel::insert_into(article_revisions::table)
            .values(rows)
            .execute(c)?,
    };
    Ok(())
}

/// Moves PostgreSQL's id sequences past the imported ids, so the next insert does not collide
/// (SQLite's AUTOINCREMENT follows explicit ids by itself).
pub fn reset_sequences(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Postgres(c) => c.batch_execute(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), COALESCE(max(id), 1), max(id) IS NOT NULL) FROM users; \
             SELECT setval(pg_get_serial_sequence('tags', 'id'), COALESCE(max(id), 1), max(id) IS NOT NULL) FROM tags; \
             SELECT setval(pg_get_serial_sequence('articles', 'id'), COALESCE(max(id), 1), max(id) IS NOT NULL) FROM articles; \
             SELECT setval(pg_get_serial_sequence('media', 'id'), COALESCE(max(id), 1), max(id) IS NOT NULL) FROM media;",
        ),
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// Timestamps in the archive are RFC 3339 in UTC (`2026-11-30T05:33:44.123456Z`), whatever
/// the backend stores.
pub(super) mod utc {
    use chrono::{DateTime, NaiveDateTime, SecondsFormat};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.naive_utc())
            .map_err(serde::de::Error::custom)
    }
}

pub(super) mod utc_option {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => super::utc::serialize(time, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        #[derive(Deserialize)]
        struct Utc(#[serde(with = "super::utc")] NaiveDateTime);
        Ok(Option::<Utc>::deserialize(d)?.map(|Utc(t)| t))
    }
}

/// A column holding JSON text appears in the archive as the JSON itself.
pub(super) mod json_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
        let value: Value = serde_json::from_str(text).map_err(serde::ser::Error::custom)?;
        value.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(Value::deserialize(d)?.to_string())
    }
}
