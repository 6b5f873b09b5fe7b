-- A number that moves whenever any tag is created, changed or deleted, in the same
-- transaction: a list page reads it with its articles' tag ids, so an instance that holds the
-- tags in memory knows, exactly and on every instance, whether its copy is current. A time
-- (max(updated_at)) would not do: an instance whose clock is behind can rename a tag without
-- moving it.
CREATE TABLE tags_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO tags_version VALUES (1, 1);

-- Once per transaction: an import writing thousands of tags would otherwise update the row
-- once per tag at its commit, each update reading past every earlier version of the row.
CREATE FUNCTION tags_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('folio.tags_version_bumped_by', true) IS DISTINCT FROM txid_current()::text THEN
        UPDATE tags_version SET version = version + 1 WHERE id = 1;
        PERFORM set_config('folio.tags_version_bumped_by', txid_current()::text, true);
    END IF;
    RETURN NULL;
END
$$;

-- Deferred to the commit, so the row is locked last: a tag written early in a transaction that
-- then waits for an article row cannot hold it against a writer that holds that article.
CREATE CONSTRAINT TRIGGER tags_bump_version
AFTER INSERT OR UPDATE OR DELETE ON tags
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION tags_bump_version();

-- TRUNCATE has no row triggers, so no deferred one: this bump locks the row at once.
CREATE TRIGGER tags_bump_version_on_truncate
AFTER TRUNCATE ON tags
FOR EACH STATEMENT EXECUTE FUNCTION tags_bump_version();
