DROP INDEX articles_search_excerpt;
DROP INDEX articles_search_title;
DROP INDEX articles_search;
ALTER TABLE articles
    DROP COLUMN search_excerpt, DROP COLUMN search_title, DROP COLUMN search,
    DROP COLUMN search_author, DROP COLUMN search_tags;
DROP TEXT SEARCH CONFIGURATION folio_search;
DROP TEXT SEARCH DICTIONARY folio_english_stem;
