package store

import (
	"context"
	"database/sql"
	"testing"
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
