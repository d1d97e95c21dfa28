package store

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var testMigrations = fstest.MapFS{
	"0001_items.sql": {Data: []byte(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);`)},
	"0002_more.sql":  {Data: []byte(`ALTER TABLE items ADD COLUMN qty INTEGER NOT NULL DEFAULT 0;`)},
	"README.txt":     {Data: []byte(`not a migration`)},
}

func openAt(t testing.TB, path string, fsys fstest.MapFS) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, fsys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openTest(t *testing.T, fsys fstest.MapFS) *DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), FileName), fsys)
}

func count(t *testing.T, db *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.R.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestOpenSetsPragmasOnEveryConnection(t *testing.T) {
	db := openTest(t, testMigrations)
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "1"}, // NORMAL
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
	}
	for _, tt := range tests {
		t.Run(tt.pragma, func(t *testing.T) {
			var gotW, gotR string
			if err := db.W.QueryRow("PRAGMA " + tt.pragma).Scan(&gotW); err != nil {
				t.Fatal(err)
			}
			if err := db.R.QueryRow("PRAGMA " + tt.pragma).Scan(&gotR); err != nil {
				t.Fatal(err)
			}
			if gotW != tt.want || gotR != tt.want {
				t.Errorf("PRAGMA %s: writer %q, reader %q, want %q", tt.pragma, gotW, gotR, tt.want)
			}
		})
	}
	if _, err := db.R.Exec(`INSERT INTO items (name) VALUES ('x')`); err == nil {
		t.Error("the reader pool accepted a write")
	}
}

func TestMigrationsApplyOnceAndInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db := openAt(t, path, testMigrations)
	if n := count(t, db, `SELECT count(*) FROM schema_migrations`); n != 2 {
		t.Fatalf("schema_migrations has %d rows, want 2", n)
	}
	if _, err := db.W.Exec(`INSERT INTO items (name, qty) VALUES ('a', 3)`); err != nil {
		t.Fatalf("column from 0002 missing: %v", err)
	}
	db.Close()

	// Reopening applies nothing twice (0002 would fail: duplicate column).
	db2 := openAt(t, path, testMigrations)
	if n := count(t, db2, `SELECT count(*) FROM items`); n != 1 {
		t.Fatalf("items after reopen: %d, want 1", n)
	}
}

func TestFailedMigrationLeavesNoTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	openAt(t, path, testMigrations).Close()
	bad := fstest.MapFS{
		"0001_items.sql": testMigrations["0001_items.sql"],
		"0002_more.sql":  testMigrations["0002_more.sql"],
		"0003_bad.sql":   {Data: []byte("CREATE TABLE half (x INTEGER);\nTHIS IS NOT SQL;")},
	}
	if _, err := Open(context.Background(), path, bad); err == nil {
		t.Fatal("a broken migration was accepted")
	}
	db := openAt(t, path, testMigrations)
	if n := count(t, db, `SELECT count(*) FROM sqlite_master WHERE name = 'half'`); n != 0 {
		t.Fatal("the broken migration's first statement survived its rollback")
	}
	if n := count(t, db, `SELECT count(*) FROM schema_migrations`); n != 2 {
		t.Fatalf("schema_migrations has %d rows, want 2", n)
	}
}

func TestLoadMigrationsRejectsBadNames(t *testing.T) {
	tests := map[string]fstest.MapFS{
		"no number":     {"items.sql": {Data: []byte("SELECT 1")}},
		"duplicate":     {"0001_a.sql": {Data: []byte("SELECT 1")}, "0001_b.sql": {Data: []byte("SELECT 1")}},
		"zero":          {"0000_a.sql": {Data: []byte("SELECT 1")}},
		"no underscore": {"0001.sql": {Data: []byte("SELECT 1")}},
		"letters first": {"v1_a.sql": {Data: []byte("SELECT 1")}},
	}
	for name, fsys := range tests {
		if _, err := LoadMigrations(fsys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
