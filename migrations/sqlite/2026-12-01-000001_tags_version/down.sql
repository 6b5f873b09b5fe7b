DROP TRIGGER tags_bump_version_on_delete;
DROP TRIGGER tags_bump_version_on_update;
DROP TRIGGER tags_bump_version_on_insert;
DROP TABLE tags_version;
