-- Multi-agent training runs started from the Training page (app/marl's
-- Service), their learning curves and curriculum events. checkpoint is the
-- path of the run's latest checkpoint, written atomically by the service.
CREATE TABLE marl_runs (
    id             INTEGER PRIMARY KEY,
    env            TEXT    NOT NULL,
    algo           TEXT    NOT NULL,
    seed           INTEGER NOT NULL,
    curriculum     INTEGER NOT NULL DEFAULT 0,
    total_episodes INTEGER NOT NULL,
    status         TEXT    NOT NULL, -- queued, running, evaluating, done, stopped, failed
    episodes       INTEGER NOT NULL DEFAULT 0,
    team_return    REAL,             -- mean of the last 100 training episodes
    agent_returns  TEXT,             -- JSON array, each agent's mean of the last 100
    stage          INTEGER,          -- curriculum stage index (stages passed)
    eval_return    REAL,             -- greedy team return on held-out episodes
    eval_ci        REAL,             -- half-width of its 95 % confidence interval
    eval_episodes  INTEGER,
    random_return  REAL,             -- a random team on the same episodes
    checkpoint     TEXT,
    error          TEXT,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);

-- One learning-curve point every few episodes: the team's and each agent's
-- mean return over the last 100 training episodes.
CREATE TABLE marl_points (
    run_id  INTEGER NOT NULL REFERENCES marl_runs (id) ON DELETE CASCADE,
    episode INTEGER NOT NULL,
    team    REAL    NOT NULL,
    agents  TEXT    NOT NULL, -- JSON array
    PRIMARY KEY (run_id, episode)
);

-- Curriculum promotions, with the stages found forgotten at each.
CREATE TABLE marl_events (
    run_id   INTEGER NOT NULL REFERENCES marl_runs (id) ON DELETE CASCADE,
    episode  INTEGER NOT NULL,
    stage    TEXT    NOT NULL, -- the stage passed
    next     TEXT    NOT NULL, -- the stage trained next ('' when all are passed)
    score    REAL    NOT NULL,
    smoothed REAL    NOT NULL,
    drawdown REAL    NOT NULL,
    forgot   TEXT    NOT NULL, -- JSON array of stage names
    text     TEXT    NOT NULL,
    PRIMARY KEY (run_id, episode)
);
