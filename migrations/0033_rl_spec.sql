-- The whole spec of an rl run as JSON (RunSpec: hidden layer sizes and
-- workers too), so that a run reloaded after a restart and started afresh
-- trains the network it was asked for. NULL for runs from before.
ALTER TABLE rl_runs ADD COLUMN spec TEXT;
