// Package store owns Metastation's one SQLite database: opening it with the
// right pragmas, applying the embedded migrations, and the batching writer.
//
// SQLite allows one writer at a time, so the store keeps exactly one writer
// connection (DB.W) and a pool of read-only connections (DB.R) that read in
// parallel under WAL.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the database file inside the data directory.
const FileName = "metastation.db"

// DB is the open database: one writer connection and a reader pool.
type DB struct {
	Path string
	W    *sql.DB // exactly one connection; all writes go here
	R    *sql.DB // read-only pool
}

// dsn builds the modernc.org/sqlite DSN. Pragmas go in the DSN, not through
// Exec, so that every pooled connection gets them.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		q.Set("_txlock", "immediate")
		// The batching writer's transactions run to tens of MB (a 256-memory
		// batch with its FTS rows is ~1 MB); with the default 2 MB page
		// cache SQLite spilled dirty pages mid-transaction (pagerStress,
		// a sixth of a memory insert's CPU). 32 MiB, for the one connection.
		// Statement journals (a multi-row INSERT whose triggers write the
		// FTS index keeps one) go to memory rather than a temp file.
		q.Add("_pragma", "cache_size(-32768)")
		q.Add("_pragma", "temp_store(MEMORY)")
	}
	return "file:" + filepath.ToSlash(path) + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path and applies the
// migrations found at the root of migrations (files named NNNN_name.sql).
// migrations may be nil when the caller manages the schema itself.
func Open(ctx context.Context, path string, migrations fs.FS) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if migrations != nil {
		if err := Migrate(ctx, w, migrations); err != nil {
			w.Close()
			return nil, err
		}
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open readers: %w", err)
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &DB{Path: path, W: w, R: r}, nil
}

// Close closes the reader pool and then the writer. The writer's close
// checkpoints the WAL.
func (db *DB) Close() error {
	rerr := db.R.Close()
	if _, err := db.W.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil && rerr == nil {
		rerr = fmt.Errorf("checkpoint: %w", err)
	}
	if err := db.W.Close(); err != nil {
		return fmt.Errorf("close writer: %w", err)
	}
	return rerr
}
