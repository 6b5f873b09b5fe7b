//! The sitemap (sitemaps.org): every published article, and every tag and author with one,
//! linked into the frontend through the site's URL templates.
//!
//! Up to `limit` URLs (50,000, the protocol's maximum) it is one file. Past that it is an
//! index of numbered files, each one id range of one kind: articles with ids 1 to `limit`
//! in file 1, the next `limit` ids in file 2, and so on, then tags, then authors. A file
//! costs one range of a primary key at any size, and an article stays in the same file for
//! life, so crawlers re-read only the files whose content changed.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::site::{self, Site};
use super::utc;
use crate::db::counters::{self, Counted};
use crate::db::sitemap::{self as rows, IdExtent};
use crate::db::{self, DbConn};
use crate::error::AppError;

/// One `<url>`.
#[derive(Debug, Clone)]
pub struct SitemapUrl {
    pub loc: String,
    /// For articles: when it last changed. Tag and author pages change with every article
    /// on them, which no single date here would tell, so they have none.
    pub lastmod: Option<DateTime<Utc>>,
}

#[derive(Debug)]
pub enum SitemapBody {
    Urls(Vec<SitemapUrl>),
    /// The numbers of the files, 1 to `files`.
    Index {
        files: i64,
    },
}

#[derive(Debug)]
pub struct Sitemap {
    pub body: SitemapBody,
    /// When anything a sitemap shows last changed (the content clock: every write, the site's
    /// settings, and scheduled articles once counted).
    pub last_modified: Option<DateTime<Utc>>,
}

/// Rows read per statement while a file is built: memory stays bounded by one file.
const CHUNK: i64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Articles,
    Tags,
    Authors,
}

/// How files cut the id ranges of each kind.
struct Layout {
    limit: i64,
    extent: IdExtent,
}

impl Layout {
    fn files_of(&self, last_id: i64) -> i64 {
        (last_id + self.limit - 1) / self.limit
    }

    fn files(&self) -> i64 {
        self.files_of(self.extent.articles)
            + self.files_of(self.extent.tags)
            + self.files_of(self.extent.authors)
    }

    /// The kind and id range (`after < id <= until`) of file `number` (1-based).
    fn file(&self, number: i64) -> Option<(Kind, i64, i64)> {
        if number < 1 {
            return None;
        }
        let mut index = number - 1;
        for (kind, last_id) in [
            (Kind::Articles, self.extent.articles),
            (Kind::Tags, self.extent.tags),
            (Kind::Authors, self.extent.authors),
        ] {
            let files = self.files_of(last_id);
            if index < files {
                let after = index * self.limit;
                return Some((kind, after, after + self.limit));
            }
            index -= files;
        }
        None
    }
}

/// `/sitemap.xml`: every URL when they fit in one file, else the index.
pub fn root(conn: &mut DbConn, limit: u32) -> Result<Sitemap, AppError> {
    let now = db::now();
    let counters::Visible {
        count: articles,
        changed,
        ..
    } = counters::visible(conn, Counted::All, now)?;
    let (tags, authors) = rows::counted_with_articles(conn)?;
    let limit = i64::from(limit);
    let body = if articles + tags + authors <= limit {
        let site = site::get(conn)?;
        let mut urls = Vec::new();
        for kind in [Kind::Articles, Kind::Tags, Kind::Authors] {
            collect(conn, &site, kind, 0, i64::MAX, now, &mut urls)?;
        }
        SitemapBody::Urls(urls)
    } else {
        let extent = rows::id_extent(conn)?;
        SitemapBody::Index {
            files: Layout { limit, extent }.files(),
        }
    };
    Ok(Sitemap {
        body,
        last_modified: changed.map(utc),
    })
}

/// `/sitemaps/{number}.xml`; 404 past the last file.
pub fn file(conn: &mut DbConn, limit: u32, number: i64) -> Result<Sitemap, AppError> {
    let now = db::now();
    let extent = rows::id_extent(conn)?;
    let layout = Layout {
        limit: i64::from(limit),
        extent,
    };
    let (kind, after, until) = layout.file(number).ok_or(AppError::NotFound("sitemap"))?;
    let site = site::get(conn)?;
    let changed = counters::content_changed_at(conn)?;
    let mut urls = Vec::new();
    collect(conn, &site, kind, after, until, now, &mut urls)?;
    Ok(Sitemap {
        body: SitemapBody::Urls(urls),
        last_modified: Some(utc(changed)),
    })
}

/// Appends the URLs of one kind with `after < id <= until`, a chunk at a time.
fn collect(
    conn: &mut DbConn,
    site: &Site,
    kind: Kind,
    mut after: i64,
    until: i64,
    now: NaiveDateTime,
    urls: &mut Vec<SitemapUrl>,
) -> Result<(), AppError> {
    loop {
        let chunk: Vec<(i64, SitemapUrl)> = match kind {
            Kind::Articles => rows::articles_between(conn, after, until, now, CHUNK)?
                .into_iter()
                .map(|(id, slug, changed)| {
                    let loc = site.article_link(&slug);
                    (
                        id,
                        SitemapUrl {
                            loc,
                            lastmod: Some(utc(changed)),
                        },
                    )
                })
                .collect(),
            Kind::Tags => rows::tags_between(conn, after, until, CHUNK)?
                .into_iter()
                .map(|(id, slug)| {
                    (
                        id,
                        SitemapUrl {
                            loc: site.tag_link(&slug),
                            lastmod: None,
                        },
                    )
                })
                .collect(),
            Kind::Authors => rows::authors_between(conn, after, until, CHUNK)?
                .into_iter()
                .map(|(id, slug)| {
                    (
                        id,
                        SitemapUrl {
                            loc: site.author_link(&slug),
                            lastmod: None,
                        },
                    )
                })
                .collect(),
        };
        let full = chunk.len() as i64 == CHUNK;
        let Some((last, _)) = chunk.last() else {
            return Ok(());
        };
        after = *last;
        urls.extend(chunk.into_iter().map(|(_, url)| url));
        if !full {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_cut_each_kind_into_id_ranges() {
        let layout = Layout {
            limit: 10,
            extent: IdExtent {
                articles: 25,
                tags: 3,
                authors: 10,
            },
        };
        assert_eq!(layout.files(), 5);
        assert_eq!(layout.file(1), Some((Kind::Articles, 0, 10)));
        assert_eq!(layout.file(3), Some((Kind::Articles, 20, 30)));
        assert_eq!(layout.file(4), Some((Kind::Tags, 0, 10)));
        assert_eq!(layout.file(5), Some((Kind::Authors, 0, 10)));
        assert_eq!(layout.file(6), None);
        assert_eq!(layout.file(0), None);
    }
}
