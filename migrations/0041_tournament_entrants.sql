-- Learners entered into the tournament through the API
-- (POST /api/tournament/entrants), so that the next start of the server
-- enters them again. checkpoint is the checkpoint's path inside the data
-- directory: runs/… (metastation train) or marl/run-N/… (a multi-agent run
-- of the Training page); added_ms is Unix milliseconds.
CREATE TABLE tournament_entrants (
    checkpoint TEXT PRIMARY KEY,
    strategy   TEXT    NOT NULL,
    added_ms   INTEGER NOT NULL
);
