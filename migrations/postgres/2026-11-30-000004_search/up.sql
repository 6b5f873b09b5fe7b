-- Full-text search (service::search): a weighted tsvector of each article (title A, excerpt B,
-- tag and author names C, body D), generated from the row, so every write keeps it in the
-- same transaction, with a GIN index. The write path keeps the two name columns in step with
-- tags and users.
--
-- folio_search is the english configuration with accents folded first (unaccent: "creme"
-- finds "Crème") and stemming without a stop-word list, so that no word a reader types is
-- dropped (SQLite's porter tokenizer drops none either). Case is folded by the database's
-- ctype: a UTF-8 one (C.UTF-8, en_US.UTF-8) folds all of Unicode.

CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TEXT SEARCH DICTIONARY folio_english_stem (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION folio_search (COPY = english);
ALTER TEXT SEARCH CONFIGURATION folio_search
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
    WITH unaccent, folio_english_stem;

ALTER TABLE articles
    ADD COLUMN search_tags TEXT NOT NULL DEFAULT '',
    ADD COLUMN search_author TEXT NOT NULL DEFAULT '';

UPDATE articles SET
    search_tags = COALESCE((SELECT string_agg(tags.name, ' ' ORDER BY tags.name)
                            FROM article_tags JOIN tags ON tags.id = article_tags.tag_id
                            WHERE article_tags.article_id = articles.id), ''),
    search_author = COALESCE((SELECT name FROM users WHERE users.id = articles.author_id), '');

ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('folio_search'::regconfig, title), 'A')
    || setweight(to_tsvector('folio_search'::regconfig, excerpt), 'B')
    || setweight(to_tsvector('folio_search'::regconfig, search_tags || ' ' || search_author), 'C')
    || setweight(to_tsvector('folio_search'::regconfig, body_markdown), 'D')
) STORED;

CREATE INDEX articles_search ON articles USING gin (search);
