-- Research agents (issue 17): runs, the papers read into memory, every
-- experiment and every trial (with seeds and data hashes), and the memos.
CREATE TABLE research_runs (
    id          INTEGER PRIMARY KEY,
    seed        INTEGER NOT NULL,
    corpus      TEXT NOT NULL,          -- "synthetic" or the folder read
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,          -- running, done, failed
    error       TEXT,
    summary     TEXT                    -- JSON Summary: concepts, graph, gaps, validation, timings
);

CREATE TABLE research_papers (
    key       TEXT PRIMARY KEY,         -- file path or synthetic/NNNN@seed
    memory_id INTEGER NOT NULL,
    title     TEXT NOT NULL,
    published TEXT NOT NULL
);

CREATE TABLE research_experiments (
    run_id     INTEGER NOT NULL REFERENCES research_runs(id),
    id         INTEGER NOT NULL,
    statement  TEXT NOT NULL,
    verdict    TEXT NOT NULL,
    p          REAL NOT NULL,
    p_bh       REAL NOT NULL,
    record     TEXT NOT NULL,           -- JSON Experiment
    PRIMARY KEY (run_id, id)
);

CREATE TABLE research_trials (
    run_id     INTEGER NOT NULL REFERENCES research_runs(id),
    id         INTEGER NOT NULL,
    experiment INTEGER NOT NULL,
    phase      TEXT NOT NULL,
    data_hash  TEXT NOT NULL,
    record     TEXT NOT NULL,           -- JSON Trial: rule, data, seeds, performance
    PRIMARY KEY (run_id, id)
);

CREATE TABLE research_memos (
    run_id     INTEGER NOT NULL REFERENCES research_runs(id),
    experiment INTEGER NOT NULL,
    title      TEXT NOT NULL,
    verdict    TEXT NOT NULL,
    memory_id  INTEGER,
    markdown   TEXT NOT NULL,
    PRIMARY KEY (run_id, experiment)
);
