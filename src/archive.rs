//! `folio export` and `folio import`: a whole site as one portable file, to move it between
//! databases (SQLite to PostgreSQL and back) or keep it.
//!
//! # Format, version 1
//!
//! JSON Lines (one JSON object per line, UTF-8), gzip-compressed when the file name ends in
//! `.gz` (an import recognises gzip by its content, whatever the name). Every line has a
//! `type`; the lines come in this order:
//!
//! 1. `{"type":"folio_archive","version":1,"exported_at":"…","articles":N}`
//! 2. one `site`: the site settings (title, URL templates, …)
//! 3. `user`s in id order, with their password hashes (so people keep their passwords),
//!    then their `identity` records (which identity provider account is which user, for
//!    single sign-on: `user_id`, `issuer`, `subject`); an archive from before single sign-on
//!    has none
//! 4. `tag`s in id order
//! 5. `media` library items in id order (their rows: the stored images stay in their
//!    directory or bucket, which the new database's Folio is pointed at); an archive from
//!    before the media library has none
//! 6. `article`s in id order, each with `tags`, the ids of its tags, and `feature_image_id`
//! 7. `revision`s (each article's history) in (article, version) order, their `tags` as
//!    they were (`[{"id", "name"}]`); an archive from before revisions has none
//! 8. `{"type":"end","records":N}`, N being the number of lines between the first and this
//!    one, which tells a complete archive from a truncated one.
//!
//! Times are RFC 3339 in UTC. Ids, slugs, versions and timestamps are kept as they are.
//! Not archived: sessions (refresh tokens), personal access tokens (scripts get new ones),
//! webhooks and their deliveries (registered again, with new secrets), the token signing
//! secret (everyone signs in again after a move), login budgets, and what
//! the import derives again (published counts, the search index).
//!
//! Both directions stream: memory stays flat whatever the size of the site, apart from one
//! set of ids and slug hashes per kind that the import's checks need.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use diesel::Connection;
use flate2::Compression;
use flate2::bufread::MultiGzDecoder;
use flate2::write::GzEncoder;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::db::archive::{
    self as rows, ArticleRecord, IdentityRecord, MediaRecord, SiteRecord, TagRecord, UserRecord,
};
use crate::db::revisions::RevisionRow;
use crate::db::{self, DatabaseUrl, DbConn};
use crate::service::revisions::TagSnapshot;

/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

/// Rows read or written per statement.
const BATCH: usize = 500;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Record {
    FolioArchive {
        version: u32,
        exported_at: DateTime<Utc>,
        articles: i64,
    },
    Site(SiteRecord),
    User(UserRecord),
    Identity(IdentityRecord),
    Tag(TagRecord),
    Media(MediaRecord),
    Article(ArticleRecord),
    Revision(RevisionRow),
    End {
        records: u64,
    },
}

/// What an archive holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub users: u64,
    pub tags: u64,
    pub media: u64,
    pub articles: u64,
    pub revisions: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} users, {} tags, {} images and {} articles with {} revisions",
            self.users, self.tags, self.media, self.articles, self.revisions
        )
    }
}

/// Writes the site in `url` to `path` (standard output when `None`); a `.gz` name is
/// gzip-compressed. The file appears only once complete.
pub fn export(
    url: &DatabaseUrl,
    path: Option<&Path>,
    show_progress: bool,
) -> anyhow::Result<Summary> {
    db::migrate(url)?;
    let mut conn = db::connect(url)?;
    let mut out = Output::create(path)?;
    let written = conn.transaction(|conn| -> anyhow::Result<Summary> {
        rows::read_one_snapshot(conn)?;
        let articles = rows::article_count(conn)?;
        let progress = progress_bar(show_progress, articles as u64, "articles");
        let mut summary = Summary::default();
        let mut records = 0_u64;
        out.write(&Record::FolioArchive {
            version: VERSION,
            exported_at: Utc::now(),
            articles,
        })?;
        out.write(&Record::Site(rows::site(conn)?))?;
        records += 1;
        for user in rows::users(conn)? {
            out.write(&Record::User(user))?;
            summary.users += 1;
        }
        for identity in rows::identities(conn)? {
            out.write(&Record::Identity(identity))?;
            records += 1;
        }
        for tag in rows::tags(conn)? {
            out.write(&Record::Tag(tag))?;
            summary.tags += 1;
        }
        for item in rows::media(conn)? {
            out.write(&Record::Media(item))?;
            summary.media += 1;
        }
        let mut after = 0;
        loop {
            let batch = rows::articles_after(conn, after, BATCH as i64)?;
            let Some(last) = batch.last() else { break };
            after = last.article.id;
            progress.inc(batch.len() as u64);
            summary.articles += batch.len() as u64;
            for article in batch {
                out.write(&Record::Article(article))?;
            }
        }
        let mut after = (0, 0);
        loop {
            let batch = rows::revisions_after(conn, after, BATCH as i64)?;
            let Some(last) = batch.last() else { break };
            after = (last.article_id, last.version);
            summary.revisions += batch.len() as u64;
            for revision in batch {
                out.write(&Record::Revision(revision))?;
            }
        }
        records +=
            summary.users + summary.tags + summary.media + summary.articles + summary.revisions;
        out.write(&Record::End { records })?;
        progress.finish_and_clear();
        Ok(summary)
    });
    match written {
        Ok(summary) => out.finish().map(|()| summary),
        Err(e) => {
            out.abandon();
            Err(e)
        }
    }
}

/// Reads `path` and reports what it holds, or the first thing wrong with it, writing nothing.
pub fn check(path: &Path, show_progress: bool) -> anyhow::Result<Summary> {
    read(path, show_progress, |_, _| Ok(()))
}

/// Loads the archive at `path` into the empty database at `url`, all or nothing.
pub fn import(url: &DatabaseUrl, path: &Path, show_progress: bool) -> anyhow::Result<Summary> {
    db::migrate(url)?;
    let mut conn = db::connect(url)?;
    let summary = conn.transaction(|conn| -> anyhow::Result<Summary> {
        let (users, tags, articles) = rows::content_counts(conn)?;
        anyhow::ensure!(
            users + tags + articles == 0,
            "the target database is not empty (it holds {users} users, {tags} tags and \
             {articles} articles); import into a new database"
        );
        let search_indexes = rows::drop_search_indexes(conn)?;
        let mut loader = Loader::default();
        let summary = read(path, show_progress, |line, record| {
            loader.add(conn, line, record)
        })?;
        loader.flush(conn)?;
        rows::create_indexes(conn, &search_indexes)?;
        rows::reset_sequences(conn)?;
        // The inserts bypass the write transactions that keep the counters.
        let now = db::now();
        db::counters::rebuild(conn, now)?;
        db::counters::touch_content_clock(conn, now)?;
        Ok(summary)
    })?;
    // Fresh statistics for the planner (outside the transaction: VACUUM cannot run in one).
    // The import has committed: a failure here is worth a warning, not a failed import.
    if let Err(e) = db::analyze(&mut conn) {
        tracing::warn!(error = %e, "imported, but could not refresh the planner's statistics");
    }
    Ok(summary)
}

/// Buffers records into multi-row inserts, and derives the names the search index reads.
#[derive(Default)]
struct Loader {
    users: Vec<UserRecord>,
    identities: Vec<IdentityRecord>,
    tags: Vec<TagRecord>,
    media: Vec<MediaRecord>,
    articles: Vec<ArticleRecord>,
    revisions: Vec<RevisionRow>,
    first_line: u64,
    author_names: HashMap<i64, String>,
    tag_names: HashMap<i64, String>,
}

impl Loader {
    fn add(&mut self, conn: &mut DbConn, line: u64, record: Record) -> anyhow::Result<()> {
        // Users go in before tags and media, those before the articles that name them.
        let users_pending = !self.users.is_empty() || !self.identities.is_empty();
        let kind_changes = match &record {
            Record::Identity(_) => !self.users.is_empty(),
            Record::Tag(_) => users_pending,
            Record::Media(_) => users_pending || !self.tags.is_empty(),
            Record::Article(_) => users_pending || !self.tags.is_empty() || !self.media.is_empty(),
            Record::Revision(_) => !self.articles.is_empty(),
            _ => false,
        };
        if kind_changes {
            self.flush(conn)?;
        }
        if self.pending() == 0 {
            self.first_line = line;
        }
        match record {
            Record::Site(site) => rows::set_site(conn, &site)?,
            Record::User(user) => {
                self.author_names.insert(user.id, user.name.clone());
                self.users.push(user);
            }
            Record::Identity(identity) => self.identities.push(identity),
            Record::Tag(tag) => {
                self.tag_names.insert(tag.id, tag.name.clone());
                self.tags.push(tag);
            }
            Record::Media(item) => self.media.push(item),
            Record::Article(article) => self.articles.push(article),
            Record::Revision(revision) => self.revisions.push(revision),
            Record::FolioArchive { .. } | Record::End { .. } => {}
        }
        if self.pending() >= BATCH {
            self.flush(conn)?;
        }
        Ok(())
    }

    fn pending(&self) -> usize {
        self.users.len()
            + self.identities.len()
            + self.tags.len()
            + self.media.len()
            + self.articles.len()
            + self.revisions.len()
    }

    fn flush(&mut self, conn: &mut DbConn) -> anyhow::Result<()> {
        let lines = format!(
            "lines {}-{}",
            self.first_line,
            (self.first_line + self.pending() as u64).saturating_sub(1)
        );
        if !self.users.is_empty() {
            rows::insert_users(conn, &self.users).with_context(|| format!("{lines}: users"))?;
            self.users.clear();
        }
        if !self.identities.is_empty() {
            rows::insert_identities(conn, &self.identities)
                .with_context(|| format!("{lines}: identities"))?;
            self.identities.clear();
        }
        if !self.tags.is_empty() {
            rows::insert_tags(conn, &self.tags).with_context(|| format!("{lines}: tags"))?;
            self.tags.clear();
        }
        if !self.media.is_empty() {
            rows::insert_media(conn, &self.media).with_context(|| format!("{lines}: media"))?;
            self.media.clear();
        }
        if !self.articles.is_empty() {
            // As `db::search::refresh_names` writes them: tag names sorted, space-separated.
            let names: Vec<(String, String)> = self
                .articles
                .iter()
                .map(|record| {
                    let mut tags: Vec<&str> = record
                        .tags
                        .iter()
                        .filter_map(|id| self.tag_names.get(id).map(String::as_str))
                        .collect();
                    tags.sort_unstable();
                    let author = self
                        .author_names
                        .get(&record.article.author_id)
                        .cloned()
                        .unwrap_or_default();
                    (tags.join(" "), author)
                })
                .collect();
            rows::insert_articles(conn, &self.articles, &names)
                .with_context(|| format!("{lines}: articles"))?;
            self.articles.clear();
        }
        if !self.revisions.is_empty() {
            rows::insert_revisions(conn, &self.revisions)
                .with_context(|| format!("{lines}: revisions"))?;
            self.revisions.clear();
        }
        Ok(())
    }
}

/// Where `folio export` writes: a file (renamed into place once complete) or standard output.
struct Output {
    writer: Box<dyn Write>,
    gzip: Option<GzEncoder<BufWriter<File>>>,
    rename: Option<(PathBuf, PathBuf)>,
}

impl Output {
    fn create(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path.filter(|p| *p != Path::new("-")) else {
            return Ok(Self {
                writer: Box::new(BufWriter::new(std::io::stdout().lock())),
                gzip: None,
                rename: None,
            });
        };
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let rename = Some((partial, path.to_owned()));
        let file = BufWriter::with_capacity(1 << 16, file);
        if path.extension().is_some_and(|e| e == "gz") {
            // The fastest level: export time matters more than a few percent of size.
            Ok(Self {
                writer: Box::new(std::io::sink()),
                gzip: Some(GzEncoder::new(file, Compression::fast())),
                rename,
            })
        } else {
            Ok(Self {
                writer: Box::new(file),
                gzip: None,
                rename,
            })
        }
    }

    fn write(&mut self, record: &Record) -> anyhow::Result<()> {
        let writer: &mut dyn Write = match &mut self.gzip {
            Some(gzip) => gzip,
            None => &mut self.writer,
        };
        serde_json::to_writer(&mut *writer, record)?;
        writer.write_all(b"\n")?;
        Ok(())
    }

    /// Removes the unfinished file of a failed export.
    fn abandon(self) {
        drop(self.writer);
        drop(self.gzip);
        if let Some((partial, _)) = self.rename {
            let _ = std::fs::remove_file(partial);
        }
    }

    fn finish(mut self) -> anyhow::Result<()> {
        if let Some(gzip) = self.gzip.take() {
            gzip.finish()?.flush()?;
        }
        self.writer.flush()?;
        drop(self.writer);
        if let Some((partial, path)) = self.rename {
            std::fs::rename(&partial, &path).with_context(|| {
                format!("cannot rename {} to {}", partial.display(), path.display())
            })?;
        }
        Ok(())
    }
}

fn progress_bar(show: bool, length: u64, unit: &str) -> ProgressBar {
    let bar = if show {
        ProgressBar::new(length)
    } else {
        ProgressBar::hidden()
    };
    let template = match unit {
        "bytes" => "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}".to_owned(),
        unit => format!("{{bar:40}} {{pos}}/{{len}} {unit} {{per_sec}} eta {{eta}}"),
    };
    bar.set_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Reads and checks the archive at `path`, handing each record with its line number to
/// `each`; fails at the first line that is wrong, naming it.
fn read(
    path: &Path,
    show_progress: bool,
    mut each: impl FnMut(u64, Record) -> anyhow::Result<()>,
) -> anyhow::Result<Summary> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let progress = progress_bar(show_progress, file.metadata()?.len(), "bytes");
    let mut raw = BufReader::with_capacity(1 << 16, progress.wrap_read(file));
    let gzip = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let mut input: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(raw)))
    } else {
        Box::new(raw)
    };
    let mut checks = Checks::default();
    let mut text = String::new();
    let mut line = 0_u64;
    loop {
        text.clear();
        let read = input
            .read_line(&mut text)
            .with_context(|| format!("line {}: cannot be read", line + 1))?;
        if read == 0 {
            break;
        }
        line += 1;
        let record: Record = serde_json::from_str(text.trim_end_matches(['\n', '\r']))
            .with_context(|| format!("line {line}: not a valid archive record"))?;
        checks
            .check(&record)
            .with_context(|| format!("line {line}"))?;
        each(line, record)?;
    }
    progress.finish_and_clear();
    checks.complete(line)
}

/// What a well-formed archive promises, checked record by record: the header first, the
/// kinds in order, unique ids and slugs, references to what came before, the end record.
#[derive(Default)]
struct Checks {
    version: Option<u32>,
    stage: u8,
    records: u64,
    ended: bool,
    summary: Summary,
    user_ids: HashSet<i64>,
    user_emails: HashSet<String>,
    user_slugs: HashSet<String>,
    /// (issuer, subject) of the identities.
    identities: HashSet<(String, String)>,
    tag_ids: HashSet<i64>,
    tag_slugs: HashSet<String>,
    media_ids: HashSet<i64>,
    article_ids: HashSet<i64>,
    /// Hashes, not the slugs: a million slugs would cost a hundred megabytes. A collision
    /// (about one chance in 10^7 at a million articles) would refuse a valid archive, never
    /// pass an invalid one, since the database's unique index checks again.
    article_slugs: HashSet<u64>,
    slug_hasher: RandomState,
    /// (article, version) of the last revision: they come in that order.
    last_revision: Option<(i64, i32)>,
}

impl Checks {
    fn check(&mut self, record: &Record) -> anyhow::Result<()> {
        anyhow::ensure!(!self.ended, "a record after the end record");
        let stage = match record {
            Record::FolioArchive { .. } => 0,
            Record::Site(_) => 1,
            Record::User(_) => 2,
            Record::Identity(_) => 3,
            Record::Tag(_) => 4,
            Record::Media(_) => 5,
            Record::Article(_) => 6,
            Record::Revision(_) => 7,
            Record::End { .. } => 8,
        };
        match record {
            Record::FolioArchive { version, .. } => {
                anyhow::ensure!(self.version.is_none(), "a second archive header");
                anyhow::ensure!(
                    *version == VERSION,
                    "archive format version {version}; this Folio reads version {VERSION}"
                );
                self.version = Some(*version);
                return Ok(());
            }
            _ if self.version.is_none() => {
                anyhow::bail!("not a Folio archive: it must start with the folio_archive header")
            }
            _ => {}
        }
        anyhow::ensure!(
            stage >= self.stage && !(stage == 1 && self.stage == 1),
            "out of order: an archive holds the site, then users, identities, tags, media, articles and revisions"
        );
        self.stage = stage;
        match record {
            Record::FolioArchive { .. } | Record::Site(_) => {}
            Record::User(user) => {
                anyhow::ensure!(self.user_ids.insert(user.id), "user id {} repeats", user.id);
                anyhow::ensure!(
                    self.user_emails.insert(user.email.to_lowercase()),
                    "user email {} repeats",
                    user.email
                );
                anyhow::ensure!(
                    self.user_slugs.insert(user.slug.clone()),
                    "user slug {} repeats",
                    user.slug
                );
                anyhow::ensure!(
                    Role::parse(&user.role).is_some(),
                    "user {} has an unknown role {:?}",
                    user.id,
                    user.role
                );
                self.summary.users += 1;
            }
            Record::Identity(identity) => {
                anyhow::ensure!(
                    self.user_ids.contains(&identity.user_id),
                    "an identity names user {}, who is not in the archive",
                    identity.user_id
                );
                anyhow::ensure!(
                    self.identities
                        .insert((identity.issuer.clone(), identity.subject.clone())),
                    "the identity {} at {} repeats",
                    identity.subject,
                    identity.issuer
                );
            }
            Record::Tag(tag) => {
                anyhow::ensure!(self.tag_ids.insert(tag.id), "tag id {} repeats", tag.id);
                anyhow::ensure!(
                    self.tag_slugs.insert(tag.slug.clone()),
                    "tag slug {} repeats",
                    tag.slug
                );
                self.summary.tags += 1;
            }
            Record::Media(item) => {
                anyhow::ensure!(
                    self.media_ids.insert(item.id),
                    "media id {} repeats",
                    item.id
                );
                if let Some(uploader) = item.uploader_id {
                    anyhow::ensure!(
                        self.user_ids.contains(&uploader),
                        "media {} names uploader {uploader}, who is not in the archive",
                        item.id
                    );
                }
                anyhow::ensure!(
                    serde_json::from_str::<Vec<crate::service::media::Variant>>(&item.variants)
                        .is_ok(),
                    "media {} has variants that are not [{{\"width\", \"height\", \"key\", \"url\", \"mime_type\", \"bytes\"}}]",
                    item.id
                );
                self.summary.media += 1;
            }
            Record::Article(record) => {
                let article = &record.article;
                anyhow::ensure!(
                    self.article_ids.insert(article.id),
                    "article id {} repeats",
                    article.id
                );
                anyhow::ensure!(
                    self.article_slugs
                        .insert(self.slug_hasher.hash_one(&article.slug)),
                    "article slug {} repeats",
                    article.slug
                );
                anyhow::ensure!(
                    matches!(article.status.as_str(), "draft" | "published"),
                    "article {} has an unknown status {:?}",
                    article.id,
                    article.status
                );
                anyhow::ensure!(
                    self.user_ids.contains(&article.author_id),
                    "article {} names author {}, who is not in the archive",
                    article.id,
                    article.author_id
                );
                if let Some(image) = article.feature_image_id {
                    anyhow::ensure!(
                        self.media_ids.contains(&image),
                        "article {} shows media {image}, which is not in the archive",
                        article.id
                    );
                }
                let mut tags = HashSet::new();
                for tag in &record.tags {
                    anyhow::ensure!(
                        self.tag_ids.contains(tag),
                        "article {} names tag {}, which is not in the archive",
                        article.id,
                        tag
                    );
                    anyhow::ensure!(
                        tags.insert(tag),
                        "article {} names tag {tag} twice",
                        article.id
                    );
                }
                self.summary.articles += 1;
            }
            Record::Revision(revision) => {
                let at = (revision.article_id, revision.version);
                anyhow::ensure!(
                    self.article_ids.contains(&revision.article_id),
                    "a revision of article {}, which is not in the archive",
                    revision.article_id
                );
                anyhow::ensure!(
                    self.last_revision.is_none_or(|last| at > last),
                    "revision {} of article {} is out of order or repeats",
                    revision.version,
                    revision.article_id
                );
                if let Some(editor) = revision.editor_id {
                    anyhow::ensure!(
                        self.user_ids.contains(&editor),
                        "revision {} of article {} names editor {editor}, who is not in the archive",
                        revision.version,
                        revision.article_id
                    );
                }
                anyhow::ensure!(
                    serde_json::from_str::<Vec<TagSnapshot>>(&revision.tags).is_ok(),
                    "revision {} of article {} has tags that are not [{{\"id\", \"name\"}}]",
                    revision.version,
                    revision.article_id
                );
                self.last_revision = Some(at);
                self.summary.revisions += 1;
            }
            Record::End { records } => {
                anyhow::ensure!(
                    *records == self.records,
                    "the end record counts {records} records, the archive holds {}",
                    self.records
                );
                self.ended = true;
                return Ok(());
            }
        }
        self.records += 1;
        Ok(())
    }

    fn complete(self, lines: u64) -> anyhow::Result<Summary> {
        anyhow::ensure!(lines > 0, "the archive is empty");
        anyhow::ensure!(
            self.ended,
            "the archive stops at line {lines} without its end record: it is truncated"
        );
        Ok(self.summary)
    }
}
