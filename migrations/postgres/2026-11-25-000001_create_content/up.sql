-- Times are UTC in TIMESTAMP columns (TIMESTAMPTZ is not usable through diesel's MultiConnection).
-- Text that is sorted on uses the "C" collation so PostgreSQL orders it byte-wise, as SQLite does.

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    slug          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL COLLATE "C",
    bio           TEXT NOT NULL DEFAULT '',
    avatar        TEXT,
    role          TEXT NOT NULL CHECK (role IN ('contributor', 'author', 'editor', 'admin')),
    password_hash TEXT,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at    TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);

CREATE TABLE tags (
    id          BIGSERIAL PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL COLLATE "C",
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at  TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);

-- Small columns come first: SQLite keeps a row's tail (the bodies) on overflow pages, and a
-- filter on status or published_at should never have to read them.
-- status holds 'draft' or 'published'; a published article whose published_at is still in the
-- future is "scheduled", so it goes live when that time passes with nothing to update.
CREATE TABLE articles (
    id            BIGSERIAL PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    published_at  TIMESTAMP,
    author_id     BIGINT NOT NULL REFERENCES users (id),
    reading_time  INTEGER NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at    TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    title         TEXT NOT NULL COLLATE "C",
    excerpt       TEXT NOT NULL,
    feature_image TEXT,
    body_markdown TEXT NOT NULL,
    body_html     TEXT NOT NULL,
    CHECK (status = 'draft' OR published_at IS NOT NULL)
);

-- One index per list order, led by status so the public lists read them in order.
CREATE INDEX articles_status_published_at_id ON articles (status, published_at, id);
CREATE INDEX articles_status_updated_at_id ON articles (status, updated_at, id);
CREATE INDEX articles_status_title_id ON articles (status, title, id);
CREATE INDEX articles_author_id_status_published_at ON articles (author_id, status, published_at);

CREATE TABLE article_tags (
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag_id     BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (article_id, tag_id)
);
CREATE INDEX article_tags_tag_id_article_id ON article_tags (tag_id, article_id);

CREATE TABLE refresh_tokens (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    family     TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);

-- Instance-wide values that every instance on this database must agree on (the JWT secret).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
