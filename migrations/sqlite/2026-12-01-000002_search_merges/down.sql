INSERT INTO article_search (article_search, rank) VALUES ('usermerge', 4);
