-- Single sign-on through an OpenID Connect provider.
--
-- Which provider account is which Folio user: (issuer, subject) is the identity the provider
-- vouches for; the email may change there, the subject never does.
CREATE TABLE user_identities (
    id         INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (issuer, subject)
);
CREATE INDEX user_identities_user_id ON user_identities (user_id);

-- Sign-ins under way: what the callback needs to finish one (the nonce to expect in the ID
-- token, the PKCE verifier, where to send the tokens, and a hash of the cookie that ties it to
-- the browser that started it). In the database rather than in one process, so the callback
-- may reach any instance; keyed by a hash of the state, and deleted when used, so a state
-- works once.
CREATE TABLE sign_ins (
    state_hash    TEXT PRIMARY KEY NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    callback_url  TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    browser_hash  TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX sign_ins_created_at ON sign_ins (created_at);
