DROP TRIGGER article_search_update;
DROP TRIGGER article_search_delete;
DROP TRIGGER article_search_insert;
DROP TABLE article_search;
ALTER TABLE articles DROP COLUMN search_author;
ALTER TABLE articles DROP COLUMN search_tags;
