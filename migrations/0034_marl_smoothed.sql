-- The curriculum's smoothed evaluation score of a multi-agent run, so that
-- the Learning page shows it after a restart (NULL for runs without the
-- curriculum and for runs from before).
ALTER TABLE marl_runs ADD COLUMN smoothed REAL;
