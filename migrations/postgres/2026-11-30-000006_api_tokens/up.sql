-- Personal access tokens: long-lived, scoped, revocable credentials for scripts. Only a
-- SHA-256 of the token is kept (it is 256 random bits: a fast hash is right), with a short
-- prefix to recognise it by. Revoking deletes the row.
CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    -- Space-separated scope names (`content:read content:write`).
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    expires_at   TIMESTAMP
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);
