-- A number that moves whenever any tag is created, changed or deleted, in the same
-- transaction: a list page reads it with its articles' tag ids, so an instance that holds the
-- tags in memory knows, exactly, whether its copy is current. A time (max(updated_at)) would
-- not do: a process whose clock is behind can rename a tag without moving it.
CREATE TABLE tags_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO tags_version VALUES (1, 1);

CREATE TRIGGER tags_bump_version_on_insert AFTER INSERT ON tags
BEGIN
    UPDATE tags_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER tags_bump_version_on_update AFTER UPDATE ON tags
BEGIN
    UPDATE tags_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER tags_bump_version_on_delete AFTER DELETE ON tags
BEGIN
    UPDATE tags_version SET version = version + 1 WHERE id = 1;
END;
