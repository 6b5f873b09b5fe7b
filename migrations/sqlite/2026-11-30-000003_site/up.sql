-- The site the content is published on: what feeds and the sitemap say of it, and the URL
-- templates that turn a slug into a link to the frontend (never to the API).
CREATE TABLE site (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    url         TEXT NOT NULL,
    locale      TEXT NOT NULL,
    logo        TEXT,
    article_url TEXT NOT NULL,
    tag_url     TEXT NOT NULL,
    author_url  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TIMESTAMP NOT NULL DEFAULT (CURRENT_TIMESTAMP)
);

INSERT INTO site (id, title, description, url, locale, logo, article_url, tag_url, author_url)
VALUES (1, 'Folio', '', 'http://localhost:3000', 'en', NULL,
        '{url}/articles/{slug}', '{url}/tags/{slug}', '{url}/authors/{slug}');
