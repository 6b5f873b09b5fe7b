-- When the published content last changed in any way a reader can see (an article, tag or
-- author written, deleted, or a scheduled article counted as its time came): the
-- Last-Modified of lists, and the safe one, since a deletion makes no row newer.
CREATE TABLE content_clock (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    changed_at TIMESTAMP NOT NULL
);
INSERT INTO content_clock VALUES (1, CURRENT_TIMESTAMP);
