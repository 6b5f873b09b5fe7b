DROP TABLE content_clock;
