DROP TRIGGER articles_share_publication ON articles;
DROP FUNCTION articles_share_publication();
DROP TRIGGER article_tags_take_publication ON article_tags;
DROP FUNCTION article_tags_take_publication();
CREATE INDEX article_tags_tag_id_article_id ON article_tags (tag_id, article_id);
DROP INDEX article_tags_timeline;
ALTER TABLE article_tags DROP COLUMN published_at;
