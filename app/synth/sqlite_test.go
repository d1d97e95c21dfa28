package synth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metastation/metastation/app/store"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func tableSums(t *testing.T, db *store.DB, job int64) (n, fraud, amount, idSum int64) {
	t.Helper()
	err := db.R.QueryRow(`SELECT count(*), sum(is_fraud), sum(amount), sum(id) FROM synth_transactions WHERE job_id = ?`, job).
		Scan(&n, &fraud, &amount, &idSum)
	if err != nil {
		t.Fatal(err)
	}
	return
}

// A killed load resumes where it stopped and ends with exactly the rows of
// an uninterrupted load.
func TestLoadSQLiteResumes(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{Seed: 3, Rows: 6*ChunkRows + 77, Workers: 2}
	txs, err := Transactions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var fraud, amount int64
	for _, tx := range txs {
		fraud += int64(b2i(tx.IsFraud()))
		amount += tx.Amount
	}

	db := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	_, err = LoadSQLite(ctx, db, cfg, func(rows int) {
		if rows >= 3*ChunkRows {
			cancel()
		}
	}, log)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted load: %v", err)
	}
	start := time.Now()
	id, err := LoadSQLite(context.Background(), db, cfg, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	n, f, a, ids := tableSums(t, db, id)
	t.Logf("resumed load in %v", time.Since(start))
	if n != int64(cfg.Rows) || f != fraud || a != amount || ids != int64(cfg.Rows)*int64(cfg.Rows+1)/2 {
		t.Fatalf("got %d rows, %d fraud, %d cents; want %d, %d, %d", n, f, a, cfg.Rows, fraud, amount)
	}
	// Loading a complete job again changes nothing.
	if _, err := LoadSQLite(context.Background(), db, cfg, nil, log); err != nil {
		t.Fatal(err)
	}
	if n2, _, _, _ := tableSums(t, db, id); n2 != n {
		t.Fatalf("a second load left %d rows, want %d", n2, n)
	}
}

func TestLoadSQLiteSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db := openDB(t)
	cfg := Config{Seed: 1, Rows: 100_000}
	start := time.Now()
	if _, err := LoadSQLite(context.Background(), db, cfg, nil, log); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows into SQLite: %.0f rows/s", cfg.Rows, float64(cfg.Rows)/time.Since(start).Seconds())
}
