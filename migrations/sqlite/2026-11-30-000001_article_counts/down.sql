DROP TABLE count_watermark;
DROP TABLE article_counts;
