-- Each tag's timeline: article_tags.published_at copies the article's published_at while the
-- article is published (NULL otherwise), so a tag's list is one range of the
-- (tag_id, published_at, article_id) index, newest first, whatever the tag's size or age. Read
-- in articles' date order instead, a tag whose articles are all old had every newer article
-- probed before its first row. The triggers keep the copy, so every write path (the API,
-- seed, import) keeps it without knowing of it.
ALTER TABLE article_tags ADD COLUMN published_at TIMESTAMP;

UPDATE article_tags SET published_at = (
    SELECT articles.published_at FROM articles
    WHERE articles.id = article_tags.article_id AND articles.status = 'published'
);

-- Replaces (tag_id, article_id): it serves the same lookups by tag.
CREATE INDEX article_tags_timeline ON article_tags (tag_id, published_at, article_id);
DROP INDEX article_tags_tag_id_article_id;

CREATE TRIGGER article_tags_take_publication AFTER INSERT ON article_tags
BEGIN
    UPDATE article_tags SET published_at = (
        SELECT articles.published_at FROM articles
        WHERE articles.id = NEW.article_id AND articles.status = 'published'
    )
    WHERE article_id = NEW.article_id AND tag_id = NEW.tag_id;
END;

CREATE TRIGGER articles_share_publication AFTER UPDATE OF status, published_at ON articles
WHEN OLD.status IS NOT NEW.status OR OLD.published_at IS NOT NEW.published_at
BEGIN
    UPDATE article_tags
    SET published_at = CASE WHEN NEW.status = 'published' THEN NEW.published_at END
    WHERE article_id = NEW.id;
END;
