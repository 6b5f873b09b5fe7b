-- Full-text search (service::search): tsvectors of each article, generated from the row, so
-- every write keeps them in the same transaction, with GIN indexes. The write path keeps the two name columns in step with
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

-- The whole article, and its title and excerpt alone: relevance reads each of these
-- (`service::search::Tier`), and a title's few words are quick to test row by row where the
-- whole article's are not (25 µs a row, most of it reading the long vector).
ALTER TABLE articles
    ADD COLUMN search tsvector GENERATED ALWAYS AS (
        to_tsvector('folio_search'::regconfig,
            title || ' ' || excerpt || ' ' || search_tags || ' ' || search_author || ' ' || body_markdown)
    ) STORED,
    ADD COLUMN search_title tsvector GENERATED ALWAYS AS (
        to_tsvector('folio_search'::regconfig, title)
    ) STORED,
    ADD COLUMN search_excerpt tsvector GENERATED ALWAYS AS (
        to_tsvector('folio_search'::regconfig, excerpt)
    ) STORED;

CREATE INDEX articles_search ON articles USING gin (search);
CREATE INDEX articles_search_title ON articles USING gin (search_title);
CREATE INDEX articles_search_excerpt ON articles USING gin (search_excerpt);

-- Statistics for the new columns now, not when autovacuum comes by: without them the planner
-- guesses how many articles a word is in, and reads every match of a common one.
ANALYZE articles;
