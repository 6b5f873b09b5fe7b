-- Login attempt budgets shared by every instance on this database (`db::login_limits`), so N
-- instances allow what one does. SQLite runs one instance, which keeps them in memory.
--
-- `ready_at` is the key's theoretical arrival time (GCRA), in seconds since the epoch on the
-- database's clock: the budget is whole again once it has passed.
CREATE TABLE login_limits (
    key TEXT PRIMARY KEY,
    ready_at DOUBLE PRECISION NOT NULL
);
