-- app/memory ranks words with its own BM25 index, rebuilt from memories at
-- start: through modernc.org/sqlite the FTS5 insert trigger cost about
-- 80 µs of CPU per memory and bm25 over 100k memories was far slower than the
-- 20 ms search budget (docs/notes/issue-13.md has the measurements).
DROP TRIGGER memories_fts_insert;
DROP TRIGGER memories_fts_update;
DROP TABLE memories_fts;
