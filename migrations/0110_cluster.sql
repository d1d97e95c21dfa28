-- Cluster mode (app/cluster): rows derived from the applied raft log alone,
-- so a node deleted and rejoined rebuilds the same rows. A snapshot restore
-- rewrites them all in one transaction.

-- Where the derivation stands: the last applied raft index and the chain
-- hash of the applied sequence, and the state hash.
CREATE TABLE cluster_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE cluster_votes (
    round      INTEGER NOT NULL,
    voter      TEXT NOT NULL,
    strategy   TEXT NOT NULL,
    PRIMARY KEY (round, voter)
);

CREATE TABLE cluster_aliases (
    model      TEXT NOT NULL,
    alias      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    raft_index INTEGER NOT NULL,
    PRIMARY KEY (model, alias)
);

CREATE TABLE cluster_alias_moves (
    raft_index   INTEGER PRIMARY KEY,
    model        TEXT NOT NULL,
    alias        TEXT NOT NULL,
    from_version INTEGER NOT NULL,
    to_version   INTEGER NOT NULL,
    actor        TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT '',
    at           TEXT NOT NULL,
    node         TEXT NOT NULL
);

-- The last 1,000 replicated agent-protocol envelopes.
CREATE TABLE cluster_envelopes (
    raft_index INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    node       TEXT NOT NULL,
    topic      TEXT NOT NULL,
    sender     TEXT NOT NULL DEFAULT '',
    recipient  TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL DEFAULT '',
    payload    TEXT NOT NULL DEFAULT ''
);

CREATE TABLE cluster_rounds (
    round      INTEGER PRIMARY KEY,
    status     TEXT NOT NULL,
    seed       INTEGER NOT NULL,
    step       INTEGER NOT NULL,
    state      TEXT NOT NULL DEFAULT '',
    results    TEXT NOT NULL DEFAULT '',
    raft_index INTEGER NOT NULL,
    node       TEXT NOT NULL,
    at         TEXT NOT NULL
);
