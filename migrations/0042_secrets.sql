-- Secrets the app keeps across restarts, by name: the key that signs
-- voters' cookies (the web layer's; it was tournament_meta's cookie_key,
-- copied here so existing cookies stay valid).
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

INSERT INTO secrets (name, value)
    SELECT 'voter_cookie', value FROM tournament_meta WHERE key = 'cookie_key' AND length(value) = 32;
