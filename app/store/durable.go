package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// DurableTx runs fn in a transaction on the writer connection, committed
// with synchronous=FULL: the WAL is fsynced before Commit returns, so what
// the caller acknowledges (a vote, a job's state change) survives a power
// cut. Everything else keeps synchronous=NORMAL, which survives a crash of
// the process but may lose the last transactions on power loss; the
// batching writer's bulk rows are those. The connection is held for the
// whole call so the pragma applies to this transaction only.
func DurableTx(ctx context.Context, db *DB, fn func(tx *sql.Tx) error) error {
	conn, err := db.W.Conn(ctx)
	if err != nil {
		return fmt.Errorf("durable transaction: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=FULL"); err != nil {
		return fmt.Errorf("durable transaction: %w", err)
	}
	// Back to NORMAL whatever happens, even if ctx ends meanwhile.
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous=NORMAL")
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("durable transaction: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("durable transaction: commit: %w", err)
	}
	return nil
}

// IsFull reports whether err is SQLite's "database or disk is full"
// (SQLITE_FULL): the disk holding the data directory has no room.
func IsFull(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == 13
}
