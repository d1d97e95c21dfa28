-- Reinforcement-learning runs started from the Training page or the trainer
-- service, and their learning curves. checkpoint is the path of the run's
-- latest checkpoint file, written atomically by the service.
CREATE TABLE rl_runs (
    id          INTEGER PRIMARY KEY,
    algo        TEXT    NOT NULL,
    env         TEXT    NOT NULL,
    seed        INTEGER NOT NULL,
    total_steps INTEGER NOT NULL,
    status      TEXT    NOT NULL, -- queued, running, done, stopped, failed
    steps       INTEGER NOT NULL DEFAULT 0,
    mean_return REAL,
    eval_return REAL,
    checkpoint  TEXT,
    error       TEXT,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);

-- One point of a run's learning curve per PPO update or per 1,000 SAC steps.
CREATE TABLE rl_metrics (
    run_id             INTEGER NOT NULL REFERENCES rl_runs (id) ON DELETE CASCADE,
    steps              INTEGER NOT NULL,
    mean_return        REAL    NOT NULL,
    episodes           INTEGER NOT NULL,
    approx_kl          REAL,
    clip_frac          REAL,
    entropy            REAL,
    explained_variance REAL,
    policy_loss        REAL,
    value_loss         REAL,
    q_loss             REAL,
    alpha              REAL,
    PRIMARY KEY (run_id, steps)
);
