-- Full-text search (service::search): an FTS5 index over each article's title, excerpt, tag
-- names, author name and body, whose text it reads from `articles` itself (external content),
-- so no text is stored twice. Triggers keep it in step with every write in the same
-- transaction; the write path keeps the two name columns in step with tags and users.
--
-- unicode61 folds case for all of Unicode and, with remove_diacritics 2, accents ("creme"
-- finds "Crème"); porter stems English ("indexes" and "indexing" find "index").

ALTER TABLE articles ADD COLUMN search_tags TEXT NOT NULL DEFAULT '';
ALTER TABLE articles ADD COLUMN search_author TEXT NOT NULL DEFAULT '';

UPDATE articles SET
    search_tags = COALESCE((SELECT group_concat(name, ' ') FROM (
                                SELECT tags.name FROM article_tags JOIN tags ON tags.id = article_tags.tag_id
                                WHERE article_tags.article_id = articles.id ORDER BY tags.name)), ''),
    search_author = COALESCE((SELECT name FROM users WHERE users.id = articles.author_id), '');

CREATE VIRTUAL TABLE article_search USING fts5(
    title, excerpt, search_tags, search_author, body_markdown,
    content = 'articles', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2',
    -- Indexes of every word's first 2, 3 and 4 letters, for the word being typed: without
    -- them a 4-letter prefix merges every word it starts (207 ms at a million articles).
    prefix = '2 3 4'
);

INSERT INTO article_search (article_search) VALUES ('rebuild');

CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN
    INSERT INTO article_search (rowid, title, excerpt, search_tags, search_author, body_markdown)
    VALUES (new.id, new.title, new.excerpt, new.search_tags, new.search_author, new.body_markdown);
END;

CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN
    INSERT INTO article_search (article_search, rowid, title, excerpt, search_tags, search_author, body_markdown)
    VALUES ('delete', old.id, old.title, old.excerpt, old.search_tags, old.search_author, old.body_markdown);
END;

CREATE TRIGGER article_search_update
AFTER UPDATE OF title, excerpt, search_tags, search_author, body_markdown ON articles BEGIN
    INSERT INTO article_search (article_search, rowid, title, excerpt, search_tags, search_author, body_markdown)
    VALUES ('delete', old.id, old.title, old.excerpt, old.search_tags, old.search_author, old.body_markdown);
    INSERT INTO article_search (rowid, title, excerpt, search_tags, search_author, body_markdown)
    VALUES (new.id, new.title, new.excerpt, new.search_tags, new.search_author, new.body_markdown);
END;
