-- Files ingested by app/media. One row per distinct file (by sha256; the
-- original lives under the data directory at media/originals/ab/<sha256>).
-- An item is written 'ingesting' with its pictures and chunk positions in one
-- transaction, then its memories (app/memory, source 'media/<id>', a link
-- {"kind":"chunk","ref":"<n>"} on each), then set 'ready'; an item found
-- 'ingesting' at start-up is completed from its original. info is the
-- features as JSON (app/media.Info); phash is an image's 64-bit perceptual
-- hash, for near-duplicates by Hamming distance.
CREATE TABLE media_items (
    id         INTEGER PRIMARY KEY,
    sha256     TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    format     TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('text', 'image', 'audio', 'video', 'data')),
    mime       TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('ingesting', 'ready')),
    created_ms INTEGER NOT NULL,
    summary    TEXT    NOT NULL,
    excerpt    TEXT    NOT NULL DEFAULT '',
    info       TEXT    NOT NULL DEFAULT '{}',
    chunks     INTEGER NOT NULL DEFAULT 0,
    phash      INTEGER
);
CREATE INDEX media_items_kind ON media_items (kind, id);

-- Pictures derived from an item: thumb, waveform, scene-N (PNG or JPEG).
CREATE TABLE media_assets (
    item INTEGER NOT NULL REFERENCES media_items (id),
    name TEXT    NOT NULL,
    mime TEXT    NOT NULL,
    data BLOB    NOT NULL,
    PRIMARY KEY (item, name)
);

-- Where each memory of an item came from: idx 0 is the description, then
-- the chunks in order; page is 1-based for PDFs (0 otherwise), start_off and
-- end_off byte offsets in the page's (or file's) extracted text.
CREATE TABLE media_chunks (
    item      INTEGER NOT NULL REFERENCES media_items (id),
    idx       INTEGER NOT NULL,
    part      TEXT    NOT NULL,
    page      INTEGER NOT NULL,
    start_off INTEGER NOT NULL,
    end_off   INTEGER NOT NULL,
    PRIMARY KEY (item, idx)
);
