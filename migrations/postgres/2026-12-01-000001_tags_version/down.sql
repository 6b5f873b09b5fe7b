DROP TRIGGER tags_bump_version_on_truncate ON tags;
DROP TRIGGER tags_bump_version ON tags;
DROP FUNCTION tags_bump_version();
DROP TABLE tags_version;
