-- Learners entered into the tournament through the API
-- (POST /api/tournament/entrants), so that the next start of the server
-- enters them again. checkpoint is the path inside the data directory's
-- runs/ folder; added_ms is Unix milliseconds.
CREATE TABLE tournament_entrants (
    checkpoint TEXT PRIMARY KEY,
    strategy   TEXT    NOT NULL,
    added_ms   INTEGER NOT NULL
);
