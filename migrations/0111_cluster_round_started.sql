-- When each replicated round started (its "started" record's time), kept
-- across its checkpoints: a new leader resumes the round on that clock.
ALTER TABLE cluster_rounds ADD COLUMN started TEXT NOT NULL DEFAULT '';
