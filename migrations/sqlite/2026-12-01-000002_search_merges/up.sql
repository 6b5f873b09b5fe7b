-- Every write transaction adds a small segment to the search index, and FTS5 merges them only
-- once four share a level: at ten thousand seeded articles the index held 21 segments, and a
-- search page read each of them, twice as long as from one. With 'usermerge' at 2, the
-- merges the server runs in the background (`db::search::tidy_index`) leave at most one
-- segment of each size.
INSERT INTO article_search (article_search, rank) VALUES ('usermerge', 2);
