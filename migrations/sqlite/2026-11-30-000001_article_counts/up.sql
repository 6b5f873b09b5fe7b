-- Published articles per scope ('all' with ref_id 0, 'tag', 'author'), kept by the write
-- transactions and by the job that counts scheduled articles once their time has come, so list
-- totals and article_count never count rows. An article is counted when it is published and
-- either its time had come when it was last written (published_at <= updated_at) or the job has
-- counted up to its time (published_at <= count_watermark.counted_until).
CREATE TABLE article_counts (
    scope     TEXT NOT NULL CHECK (scope IN ('all', 'tag', 'author')),
    ref_id    BIGINT NOT NULL,
    published BIGINT NOT NULL,
    PRIMARY KEY (scope, ref_id)
);

CREATE TABLE count_watermark (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    counted_until TIMESTAMP NOT NULL
);

INSERT INTO count_watermark VALUES (1, CURRENT_TIMESTAMP);

INSERT INTO article_counts (scope, ref_id, published)
SELECT 'all', 0, count(*) FROM articles
WHERE status = 'published' AND published_at <= (SELECT counted_until FROM count_watermark);

INSERT INTO article_counts (scope, ref_id, published)
SELECT 'author', author_id, count(*) FROM articles
WHERE status = 'published' AND published_at <= (SELECT counted_until FROM count_watermark)
GROUP BY author_id;

INSERT INTO article_counts (scope, ref_id, published)
SELECT 'tag', article_tags.tag_id, count(*) FROM article_tags
JOIN articles ON articles.id = article_tags.article_id
WHERE articles.status = 'published'
  AND articles.published_at <= (SELECT counted_until FROM count_watermark)
GROUP BY article_tags.tag_id;
