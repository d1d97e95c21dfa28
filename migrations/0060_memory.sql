-- Agents' memory streams (app/memory). One row per memory; nothing is ever
-- deleted: consolidation marks rows merged or forgotten, and a newer memory
-- that contradicts an older one sets the older one's superseded_by.
-- Times are Unix milliseconds: sim_ms on the simulation's clock, wall_ms on
-- the machine's. tags and links are JSON arrays (links of {"kind","ref"}), so
-- a memory and its evidence are written in one statement. vec is the
-- sentence vector, little-endian float32, of the version vec_version.
CREATE TABLE memories (
    id            INTEGER PRIMARY KEY,
    agent         TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('observation', 'action', 'outcome', 'reflection', 'document')),
    text          TEXT    NOT NULL,
    topic         TEXT    NOT NULL DEFAULT '',
    stance        TEXT    NOT NULL DEFAULT '',
    source        TEXT    NOT NULL DEFAULT '',
    tags          TEXT    NOT NULL DEFAULT '[]',
    links         TEXT    NOT NULL DEFAULT '[]',
    sim_ms        INTEGER NOT NULL,
    wall_ms       INTEGER NOT NULL,
    value         REAL    NOT NULL DEFAULT 0,
    expected      REAL,
    importance    REAL    NOT NULL,
    pinned        INTEGER NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'merged', 'forgotten')),
    merged_into   INTEGER,
    superseded_by INTEGER,
    count         INTEGER NOT NULL DEFAULT 1,
    vec           BLOB    NOT NULL,
    vec_version   TEXT    NOT NULL
);
CREATE INDEX memories_agent_sim ON memories (agent, sim_ms);

-- Full-text index over the text and tags, kept by triggers so that a memory
-- and its index entry commit together.
CREATE VIRTUAL TABLE memories_fts USING fts5(
    text, tags, content = 'memories', content_rowid = 'id', tokenize = 'porter unicode61'
);
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, text, tags) VALUES (new.id, new.text, new.tags);
END;
CREATE TRIGGER memories_fts_update AFTER UPDATE OF text, tags ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, text, tags) VALUES ('delete', old.id, old.text, old.tags);
    INSERT INTO memories_fts (rowid, text, tags) VALUES (new.id, new.text, new.tags);
END;
