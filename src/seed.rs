//! `folio seed`: deterministic demo content (authors, tags, articles with markdown bodies
//! rendered to sanitized HTML, a few drafts and scheduled articles), written in batched
//! transactions. The same `--seed` gives the same content; times are relative to the run.

use std::collections::HashSet;
use std::sync::mpsc;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};

use crate::db::articles::NewArticle;
use crate::db::schema::{article_tags, articles, tags, users};
use crate::db::tags::NewTag;
use crate::db::users::NewUser;
use crate::db::{self, DatabaseUrl, DbConn};
use crate::service::markdown;

#[derive(Debug, Clone, clap::Args)]
pub struct SeedOptions {
    /// Articles to create.
    #[arg(long, default_value_t = 1000)]
    pub articles: usize,
    /// Tags to create.
    #[arg(long, default_value_t = 40)]
    pub tags: usize,
    /// Authors to create.
    #[arg(long, default_value_t = 12)]
    pub authors: usize,
    /// Random seed: the same seed gives the same content.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl SeedOptions {
    /// What `folio serve --demo` adds to an empty database.
    pub fn demo() -> Self {
        Self {
            articles: 200,
            tags: 16,
            authors: 6,
            seed: 42,
        }
    }
}

/// How many articles the database holds (migrating it first, so a new file counts 0).
pub fn article_count(url: &DatabaseUrl) -> anyhow::Result<i64> {
    db::migrate(url)?;
    Ok(articles::table.count().get_result(&mut db::connect(url)?)?)
}

/// Articles written per transaction.
const BATCH: usize = 500;

/// One article, generated and rendered, ready to insert.
struct Draft {
    slug: String,
    title: String,
    excerpt: String,
    body_markdown: String,
    body_html: String,
    feature_image: Option<String>,
    published: bool,
    published_at: Option<NaiveDateTime>,
    author: usize,
    reading_time: i32,
    tags: Vec<usize>,
}

/// Fills an empty database with demo content; refuses one that already has articles.
pub fn run(url: &DatabaseUrl, options: &SeedOptions, show_progress: bool) -> anyhow::Result<()> {
    anyhow::ensure!(options.authors > 0, "--authors must be at least 1");
    anyhow::ensure!(options.tags > 0, "--tags must be at least 1");
    let existing = article_count(url)?;
    anyhow::ensure!(
        existing == 0,
        "the database already has {existing} articles; seed an empty one"
    );
    let mut conn = db::connect(url)?;

    let now = db::now();
    let authors = insert_authors(&mut conn, options, now)?;
    let tags = insert_tags(&mut conn, options, now)?;

    let progress = if show_progress {
        ProgressBar::new(options.articles as u64)
    } else {
        ProgressBar::hidden()
    };
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} articles {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    // Built once at the end instead of row by row (PostgreSQL), even if seeding fails.
    let search_indexes = db::archive::drop_search_indexes(&mut conn)?;
    let seeded = insert_all_articles(&mut conn, options, &authors, &tags, now, &progress);
    db::archive::create_indexes(&mut conn, &search_indexes)?;
    seeded?;
    progress.finish();
    // The inserts above bypass the write transactions that keep the counters.
    db::counters::rebuild(&mut conn, now)?;
    db::analyze(&mut conn)?;
    Ok(())
}

/// Generates and inserts the articles: rendering markdown is the slow part, so workers
/// generate batches while this thread writes them, in order.
fn insert_all_articles(
    conn: &mut DbConn,
    options: &SeedOptions,
    authors: &[(i64, String)],
    tags: &[(i64, String)],
    now: NaiveDateTime,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    let batches = options.articles.div_ceil(BATCH);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (sender, receiver) = mpsc::sync_channel::<(usize, Vec<Draft>)>(workers * 2);
        for worker in 0..workers {
            let sender = sender.clone();
            scope.spawn(move || {
                for batch in (worker..batches).step_by(workers) {
                    let drafts = generate_batch(options, batch, now);
                    if sender.send((batch, drafts)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(sender);
        // Insert in batch order, so ids follow the generation order on every run.
        let mut pending = std::collections::BTreeMap::new();
        let mut next = 0;
        for (index, drafts) in receiver {
            pending.insert(index, drafts);
            while let Some(drafts) = pending.remove(&next) {
                insert_articles(conn, &drafts, authors, tags, now)?;
                progress.inc(drafts.len() as u64);
                next += 1;
            }
        }
        anyhow::ensure!(next == batches, "a seeding worker stopped early");
        Ok(())
    })
}

/// Ids and names of the authors created.
fn insert_authors(
    conn: &mut DbConn,
    options: &SeedOptions,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<(i64, String)>> {
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let mut slugs = HashSet::new();
    let people: Vec<(String, String, &str)> = (0..options.authors)
        .map(|i| {
            let name = format!(
                "{} {}",
                pick(&mut rng, FIRST_NAMES),
                pick(&mut rng, LAST_NAMES)
            );
            let slug = unique_slug(&mut slugs, &slug::slugify(&name));
            let role = if i % 5 == 4 { "editor" } else { "author" };
            (name, slug, role)
        })
        .collect();
    conn.transaction(|conn| {
        for (name, slug, role) in &people {
            let email = format!("{slug}@example.com");
            let bio = format!(
                "{name} writes about {} and {}.",
                pick(&mut rng, TOPICS),
                pick(&mut rng, TOPICS)
            );
            let avatar = format!("https://images.example.com/avatars/{slug}.jpg");
            diesel::insert_into(users::table)
                .values(NewUser {
                    email: &email,
                    slug,
                    name,
                    bio: &bio,
                    avatar: Some(&avatar),
                    role,
                    password_hash: None,
                    created_at: now,
                    updated_at: now,
                })
                .execute(conn)?;
        }
        let slugs: Vec<&String> = people.iter().map(|p| &p.1).collect();
        let ids = ids_in_order(
            conn,
            users::table
                .filter(users::slug.eq_any(&slugs))
                .select((users::slug, users::id)),
            &slugs,
        )?;
        Ok(ids
            .into_iter()
            .zip(people.iter().map(|p| p.0.clone()))
            .collect())
    })
}

/// Ids and names of the tags created.
fn insert_tags(
    conn: &mut DbConn,
    options: &SeedOptions,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<(i64, String)>> {
    let mut slugs = HashSet::new();
    let names: Vec<(String, String)> = (0..options.tags)
        .map(|i| {
            let base = TOPICS.get(i % TOPICS.len()).copied().unwrap_or("Misc");
            let name = match i / TOPICS.len() {
                0 => base.to_owned(),
                round => format!("{base} {}", round + 1),
            };
            let slug = unique_slug(&mut slugs, &slug::slugify(&name));
            (name, slug)
        })
        .collect();
    conn.transaction(|conn| {
        for (name, slug) in &names {
            let description = format!("Articles about {name}.");
            diesel::insert_into(tags::table)
                .values(NewTag {
                    slug,
                    name,
                    description: &description,
                    created_at: now,
                    updated_at: now,
                })
                .execute(conn)?;
        }
        let slugs: Vec<&String> = names.iter().map(|n| &n.1).collect();
        let ids = ids_in_order(
            conn,
            tags::table
                .filter(tags::slug.eq_any(&slugs))
                .select((tags::slug, tags::id)),
            &slugs,
        )?;
        Ok(ids
            .into_iter()
            .zip(names.iter().map(|n| n.0.clone()))
            .collect())
    })
}

/// Ids for `slugs`, in the same order, from a query returning (slug, id).
fn ids_in_order<'q, Q>(conn: &mut DbConn, query: Q, slugs: &[&String]) -> anyhow::Result<Vec<i64>>
where
    Q: diesel::query_dsl::LoadQuery<'q, DbConn, (String, i64)>,
{
    let found: std::collections::HashMap<String, i64> = query.load(conn)?.into_iter().collect();
    slugs
        .iter()
        .map(|slug| {
            found
                .get(*slug)
                .copied()
                .ok_or_else(|| anyhow::anyhow!("{slug} was not inserted"))
        })
        .collect()
}

fn insert_articles(
    conn: &mut DbConn,
    drafts: &[Draft],
    authors: &[(i64, String)],
    tags: &[(i64, String)],
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    // The names the search index reads, as `db::search::refresh_names` writes them: tag names
    // sorted, space-separated.
    let names: Vec<(String, &str)> = drafts
        .iter()
        .map(|d| {
            let mut tag_names: Vec<&str> = d
                .tags
                .iter()
                .filter_map(|&t| tags.get(t).map(|(_, name)| name.as_str()))
                .collect();
            tag_names.sort_unstable();
            let author = authors.get(d.author).map_or("", |(_, name)| name.as_str());
            (tag_names.join(" "), author)
        })
        .collect();
    let rows = drafts
        .iter()
        .zip(&names)
        .map(|(d, (search_tags, search_author))| {
            Ok(NewArticle {
                slug: &d.slug,
                title: &d.title,
                excerpt: &d.excerpt,
                body_markdown: &d.body_markdown,
                body_html: &d.body_html,
                feature_image: d.feature_image.as_deref(),
                feature_image_id: None,
                status: if d.published { "published" } else { "draft" },
                published_at: d.published_at,
                author_id: authors
                    .get(d.author)
                    .ok_or_else(|| anyhow::anyhow!("no author {}", d.author))?
                    .0,
                reading_time: d.reading_time,
                created_at: d.published_at.map_or(now, |t| t.min(now)),
                updated_at: d.published_at.map_or(now, |t| t.min(now)),
                search_tags,
                search_author,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    conn.transaction(|conn| {
        // Multi-row inserts are not available through MultiConnection; each backend runs its own.
        match conn {
            DbConn::Postgres(c) => diesel::insert_into(articles::table)
                .values(&rows)
                .execute(c)?,
            DbConn::Sqlite(c) => diesel::insert_into(articles::table)
                .values(&rows)
                .execute(c)?,
        };
        let slugs: Vec<&String> = drafts.iter().map(|d| &d.slug).collect();
        let ids = ids_in_order(
            conn,
            articles::table
                .filter(articles::slug.eq_any(&slugs))
                .select((articles::slug, articles::id)),
            &slugs,
        )?;
        let links: Vec<_> = drafts
            .iter()
            .zip(&ids)
            .flat_map(|(d, &article_id)| {
                d.tags.iter().filter_map(move |&t| {
                    tags.get(t).map(|&(tag_id, _)| {
                        (
                            article_tags::article_id.eq(article_id),
                            article_tags::tag_id.eq(tag_id),
                        )
                    })
                })
            })
            .collect();
        match conn {
            DbConn::Postgres(c) => diesel::insert_into(article_tags::table)
                .values(&links)
                .execute(c)?,
            DbConn::Sqlite(c) => diesel::insert_into(article_tags::table)
                .values(&links)
                .execute(c)?,
        };
        Ok(())
    })
}

/// One batch, from its own random stream, so batches can be made in any order or thread.
fn generate_batch(options: &SeedOptions, batch: usize, now: NaiveDateTime) -> Vec<Draft> {
    let mut rng = fastrand::Rng::with_seed(
        options.seed ^ (batch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let start = batch * BATCH;
    let end = (start + BATCH).min(options.articles);
    (start..end)
        .map(|index| generate_article(&mut rng, options, index, now))
        .collect()
}

fn generate_article(
    rng: &mut fastrand::Rng,
    options: &SeedOptions,
    index: usize,
    now: NaiveDateTime,
) -> Draft {
    let title = title(rng);
    let slug = format!("{}-{}", slug::slugify(&title), index + 1);
    let body_markdown = body(rng, &title);
    // Newer articles have higher indexes: spread over about three years, a few minutes apart.
    let age_minutes =
        ((options.articles - index) as i64) * 1_576_800 / options.articles.max(1) as i64;
    let roll = rng.u32(0..100);
    let (published, published_at) = match roll {
        0..=2 => (false, None),                                            // draft
        3..=4 => (true, Some(now + Duration::hours(rng.i64(1..24 * 60)))), // scheduled
        _ => (
            true,
            Some(now - Duration::minutes(age_minutes) - Duration::seconds(rng.i64(0..60))),
        ),
    };
    // With two tags or more the last one is retired: it is on the oldest tenth of the
    // articles, those already published, and no newer one, as a series a site stopped
    // writing is, so the benchmarks meet a tag whose every article is old.
    let retired = (options.tags >= 2).then(|| options.tags - 1);
    let drawn_from = retired.unwrap_or(options.tags);
    let mut tags = Vec::new();
    for _ in 0..rng.usize(1..=5) {
        // Squaring skews the choice, so a few tags are popular and most are niche.
        let u = rng.f64();
        let tag = (((u * u) * drawn_from as f64) as usize).min(drawn_from - 1);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let already_out = published_at.is_some_and(|at| at <= now);
    if let Some(retired) = retired.filter(|_| already_out && index < options.articles / 10) {
        tags.push(retired);
    }
    Draft {
        excerpt: markdown::excerpt(&body_markdown, 200),
        reading_time: markdown::reading_time(&body_markdown),
        body_html: markdown::render(&body_markdown),
        feature_image: (rng.u32(0..10) < 7)
            .then(|| format!("https://images.example.com/articles/{slug}.jpg")),
        author: rng.usize(0..options.authors),
        slug,
        title,
        body_markdown,
        published,
        published_at,
        tags,
    }
}

fn unique_slug(taken: &mut HashSet<String>, base: &str) -> String {
    let mut slug = base.to_owned();
    let mut n = 2;
    while !taken.insert(slug.clone()) {
        slug = format!("{base}-{n}");
        n += 1;
    }
    slug
}

fn pick<'a>(rng: &mut fastrand::Rng, words: &[&'a str]) -> &'a str {
    rng.choice(words.iter().copied()).unwrap_or("")
}

fn title(rng: &mut fastrand::Rng) -> String {
    match rng.u32(0..4) {
        0 => format!(
            "{} {} for {}",
            pick(rng, ADJECTIVES),
            pick(rng, TOPICS),
            pick(rng, AUDIENCES)
        ),
        1 => format!(
            "How we {} {} with {}",
            pick(rng, VERBS),
            pick(rng, NOUNS),
            pick(rng, TOPICS)
        ),
        2 => format!(
            "{} lessons from {} {}",
            rng.u32(3..13),
            pick(rng, ADJECTIVES).to_lowercase(),
            pick(rng, NOUNS)
        ),
        _ => format!(
            "Why {} needs {} {}",
            pick(rng, TOPICS),
            pick(rng, ADJECTIVES).to_lowercase(),
            pick(rng, NOUNS)
        ),
    }
}

fn sentence(rng: &mut fastrand::Rng) -> String {
    let words: Vec<&str> = (0..rng.usize(8..18)).map(|_| pick(rng, LOREM)).collect();
    let mut s = words.join(" ");
    if let Some(first) = s.get(..1) {
        s = first.to_uppercase() + s.get(1..).unwrap_or_default();
    }
    s.push('.');
    s
}

fn paragraph(rng: &mut fastrand::Rng) -> String {
    let mut sentences: Vec<String> = (0..rng.usize(3..7)).map(|_| sentence(rng)).collect();
    if let Some(s) = sentences.first_mut() {
        match rng.u32(0..4) {
            0 => s.push_str(&format!(
                " See *{}* for **{}**.",
                pick(rng, NOUNS),
                pick(rng, TOPICS)
            )),
            1 => s.push_str(&format!(
                " Read [the {} guide](https://example.com/{}).",
                pick(rng, TOPICS),
                pick(rng, NOUNS)
            )),
            2 => s.push_str(&format!(" Run `{}` first.", pick(rng, COMMANDS))),
            _ => {}
        }
    }
    sentences.join(" ")
}

/// A markdown body of a few KB: sections with headings, paragraphs, lists and code.
fn body(rng: &mut fastrand::Rng, title: &str) -> String {
    let mut out = format!("{}\n\n", paragraph(rng));
    for _ in 0..rng.usize(2..5) {
        out.push_str(&format!(
            "## {} {}\n\n",
            pick(rng, ADJECTIVES),
            pick(rng, NOUNS)
        ));
        for _ in 0..rng.usize(1..3) {
            out.push_str(&paragraph(rng));
            out.push_str("\n\n");
        }
        match rng.u32(0..3) {
            0 => {
                for _ in 0..rng.usize(3..6) {
                    out.push_str(&format!("- {}\n", sentence(rng)));
                }
                out.push('\n');
            }
            1 => out.push_str(&format!(
                "```sh\n{}\n{}\n```\n\n",
                pick(rng, COMMANDS),
                pick(rng, COMMANDS)
            )),
            _ => out.push_str(&format!("> {}\n\n", sentence(rng))),
        }
    }
    out.push_str(&format!("That is all on *{}* for now.\n", title));
    out
}

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Hedy",
    "Donald",
    "Sophie",
    "Guido",
    "Katherine",
    "Bjarne",
    "Lynn",
    "Niklaus",
    "Anita",
    "John",
    "Joan",
    "Leslie",
    "Mary",
    "Brian",
    "Karen",
    "Rob",
    "Shafi",
    "Yukihiro",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Knuth",
    "Wilson",
    "van Rossum",
    "Johnson",
    "Stroustrup",
    "Conway",
    "Wirth",
    "Borg",
    "McCarthy",
    "Clarke",
    "Lamport",
    "Keller",
    "Kernighan",
    "Spärck Jones",
    "Pike",
    "Goldwasser",
    "Matsumoto",
];
const TOPICS: &[&str] = &[
    "Rust",
    "Databases",
    "PostgreSQL",
    "SQLite",
    "Web",
    "Performance",
    "Security",
    "Testing",
    "DevOps",
    "Design",
    "Accessibility",
    "APIs",
    "Caching",
    "Networking",
    "Linux",
    "Compilers",
    "Concurrency",
    "Async",
    "Observability",
    "Search",
    "Typography",
    "Editing",
    "Publishing",
    "Frontend",
    "Mobile",
    "Cloud",
    "Privacy",
    "Open Source",
    "Career",
    "Product",
    "Data",
    "Machine Learning",
    "Embedded",
    "Graphics",
    "Audio",
    "Games",
    "Education",
    "Writing",
    "Research",
    "Startups",
];
const ADJECTIVES: &[&str] = &[
    "Practical",
    "Fast",
    "Careful",
    "Modern",
    "Simple",
    "Reliable",
    "Hidden",
    "Boring",
    "Elegant",
    "Pragmatic",
    "Robust",
    "Minimal",
    "Honest",
    "Quiet",
    "Small",
];
const NOUNS: &[&str] = &[
    "queries",
    "pipelines",
    "caches",
    "migrations",
    "indexes",
    "deployments",
    "benchmarks",
    "schemas",
    "editors",
    "newsrooms",
    "releases",
    "workflows",
    "drafts",
    "headlines",
    "backups",
];
const VERBS: &[&str] = &[
    "rebuilt",
    "measured",
    "simplified",
    "shipped",
    "replaced",
    "tamed",
    "scaled",
];
const AUDIENCES: &[&str] = &[
    "newsrooms",
    "small teams",
    "beginners",
    "editors",
    "operators",
    "everyone",
];
const COMMANDS: &[&str] = &[
    "cargo test",
    "folio migrate",
    "psql -c 'ANALYZE'",
    "sqlite3 folio.db .schema",
    "git bisect run ./check",
    "curl -s localhost:8080/healthz",
];
const LOREM: &[&str] = &[
    "the", "index", "reader", "page", "query", "latency", "cache", "writer", "draft", "story",
    "editor", "server", "request", "slug", "tag", "author", "column", "row", "budget", "deadline",
    "measure", "simple", "fast", "careful", "review", "publish", "schedule", "plan", "and", "with",
    "of", "for", "every", "small", "clear", "steady", "sharp", "honest", "quietly", "often",
];
