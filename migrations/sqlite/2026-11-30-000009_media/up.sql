-- The media library. Stored objects are content-addressed (`object_key` is the SHA-256 of
-- the stored bytes), so rows uploaded with the same bytes share one object; an object is
-- removed when the last row that names it goes.
CREATE TABLE media (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    object_key  TEXT NOT NULL,
    -- Where readers fetch it, fixed at upload (FOLIO_MEDIA_PUBLIC_URL then): an article's
    -- response carries it without knowing the storage.
    url         TEXT NOT NULL,
    mime_type   TEXT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    bytes       BIGINT NOT NULL,
    -- The responsive variants, a JSON array of {width, height, key, url, mime_type, bytes}.
    variants    TEXT NOT NULL,
    alt         TEXT NOT NULL,
    caption     TEXT NOT NULL,
    -- Null once the uploader's account is deleted: the image stays in the articles.
    uploader_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    version     INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX media_object_key ON media (object_key);
CREATE INDEX media_uploader ON media (uploader_id, id);

-- No REFERENCES here: SQLite cannot drop a column that has one (the down migration); the
-- write path checks the media exists, and deleting media clears it in the same transaction.
ALTER TABLE articles ADD COLUMN feature_image_id BIGINT;
CREATE INDEX articles_feature_image_id ON articles (feature_image_id) WHERE feature_image_id IS NOT NULL;
