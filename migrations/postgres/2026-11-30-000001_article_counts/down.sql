DROP TABLE count_watermark;
DROP TABLE article_counts;
ALTER TABLE users ALTER COLUMN slug TYPE TEXT COLLATE "default";
ALTER TABLE tags ALTER COLUMN slug TYPE TEXT COLLATE "default";
ALTER TABLE articles ALTER COLUMN slug TYPE TEXT COLLATE "default";
