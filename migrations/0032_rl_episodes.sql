-- The returns of the episodes each learning-curve point finished, for the
-- Training page's histogram of a run from an earlier session: little-endian
-- float64s, 8 bytes each. The service keeps here exactly the returns its
-- bounded in-memory curve holds (at most 20,000 per run by default) and sets
-- the older ones back to NULL. NULL also for points stored before this
-- migration, which kept only the count (episodes).
ALTER TABLE rl_metrics ADD COLUMN episode_returns BLOB;
