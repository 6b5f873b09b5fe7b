DROP TABLE settings;
DROP TABLE refresh_tokens;
DROP TABLE article_tags;
DROP TABLE articles;
DROP TABLE tags;
DROP TABLE users;
