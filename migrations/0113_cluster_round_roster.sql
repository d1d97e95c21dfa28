-- The leader's roster of each replicated round (entrant ids and digests, in
-- order), kept across its records: every node plays the round with it.
ALTER TABLE cluster_rounds ADD COLUMN roster TEXT NOT NULL DEFAULT '';

-- Which of this node's tournament rounds it played as a cluster node (1) or
-- alone (0): a node whose database holds rounds from running alone is not
-- started in cluster mode, where the cluster's rounds would collide with
-- them. Rounds played in cluster mode before this column existed are the
-- ones the cluster has a record of.
ALTER TABLE tournament_rounds ADD COLUMN cluster INTEGER NOT NULL DEFAULT 0;
UPDATE tournament_rounds SET cluster = 1 WHERE id IN (SELECT round FROM cluster_rounds);
