package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestDurableTxCommitsWithFullSync: inside DurableTx the connection runs
// synchronous=FULL (2), the row is committed, and afterwards the writer is
// back to NORMAL (1) for the batching writer's bulk rows.
func TestDurableTxCommitsWithFullSync(t *testing.T) {
	db := openTest(t, testMigrations)
	ctx := context.Background()
	var inside int
	err := DurableTx(ctx, db, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&inside); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, insertItem, "vote", 1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var after int
	if err := db.W.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if inside != 2 || after != 1 {
		t.Fatalf("synchronous inside %d, after %d; want 2 (FULL) then 1 (NORMAL)", inside, after)
	}
	if n := count(t, db, `SELECT count(*) FROM items WHERE name = 'vote'`); n != 1 {
		t.Fatalf("%d rows committed, want 1", n)
	}
}

// TestWriterDurableBatch: a batch holding a TryEnqueueDurable row commits
// with synchronous=FULL (the row records the connection's setting from
// inside its own INSERT), a batch without one keeps NORMAL, and the
// connection is back to NORMAL afterwards.
func TestWriterDurableBatch(t *testing.T) {
	db := openTest(t, testMigrations)
	w := NewWriter(db, WriterOptions{BatchSize: 100, Interval: time.Hour}, quiet())
	defer w.Close()
	const withSync = `INSERT INTO items (name, qty) SELECT ?, synchronous FROM pragma_synchronous`
	ctx := context.Background()
	cases := []struct {
		name    string
		durable bool
		want    int
	}{
		{name: "bulk row", durable: false, want: 1},
		{name: "state change", durable: true, want: 2},
		{name: "bulk row after", durable: false, want: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enqueue := w.TryEnqueue
			if c.durable {
				enqueue = w.TryEnqueueDurable
			}
			ok := enqueue(withSync, c.name)
			if !ok {
				t.Fatal("the writer refused the row")
			}
			if err := w.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			var got int
			if err := db.R.QueryRowContext(ctx, `SELECT qty FROM items WHERE name = ?`, c.name).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("synchronous inside the batch %d, want %d (1 NORMAL, 2 FULL)", got, c.want)
			}
		})
	}
}

// BenchmarkVoteCommit is a vote's two-row transaction committed with
// synchronous=NORMAL and with FULL (DurableTx), on a real file: what the
// durable commit of an acknowledged vote costs.
func BenchmarkVoteCommit(b *testing.B) {
	for _, mode := range []string{"normal", "full"} {
		b.Run(mode, func(b *testing.B) {
			db := openAt(b, filepath.Join(b.TempDir(), FileName), testMigrations)
			ctx := context.Background()
			vote := func(tx *sql.Tx, i int) error {
				if _, err := tx.ExecContext(ctx, insertItem, fmt.Sprint("vote", i), i); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, insertItem, fmt.Sprint("log", i), i)
				return err
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				var err error
				if mode == "full" {
					err = DurableTx(ctx, db, func(tx *sql.Tx) error { return vote(tx, i) })
				} else {
					var tx *sql.Tx
					if tx, err = db.W.BeginTx(ctx, nil); err == nil {
						if err = vote(tx, i); err == nil {
							err = tx.Commit()
						} else {
							tx.Rollback()
						}
					}
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
