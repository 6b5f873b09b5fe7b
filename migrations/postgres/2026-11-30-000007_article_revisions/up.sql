-- Article revisions: every create, change and restore stores the article's content as it
-- then was, under the version it then had. Nothing here is ever rewritten: a restore adds a
-- new revision. The oldest are pruned past FOLIO_REVISIONS_KEEP per article; deleting the
-- article deletes its history. An article written before revisions existed gets its first
-- revision (its content as it was) when it is next changed.
CREATE TABLE article_revisions (
    id            BIGSERIAL PRIMARY KEY,
    article_id    BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    -- Who made it; null once that user is deleted, or for a baseline nobody is known for.
    editor_id     BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL,
    -- The version this one restored, when it was a restore.
    restored_from INTEGER,
    -- Space-separated names of the fields that differ from the revision before.
    changed       TEXT NOT NULL,
    title         TEXT NOT NULL,
    slug          TEXT NOT NULL,
    excerpt       TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    feature_image TEXT,
    status        TEXT NOT NULL,
    published_at  TIMESTAMP,
    -- Not a reference: the author may since have been deleted (a restore then keeps the heir).
    author_id     BIGINT NOT NULL,
    -- The tags as they were: a JSON array of {"id", "name"}.
    tags          TEXT NOT NULL,
    UNIQUE (article_id, version)
);
CREATE INDEX article_revisions_editor_id ON article_revisions (editor_id);
