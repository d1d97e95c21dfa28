-- How far this node's model registry has applied the cluster's alias moves:
-- the raft index of the last one, written in the same transaction as the
-- move itself, so a restarted node neither skips nor repeats one.
CREATE TABLE cluster_mlops_applied (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    raft_index INTEGER NOT NULL
);
