package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
)

// SecretSize is the size of a secret in bytes.
const SecretSize = 32

// Secret returns the random secret kept under name (table secrets),
// creating it the first time, so whatever it signs survives a restart. Two
// callers creating it at once get the same one.
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	key := make([]byte, SecretSize)
	rand.Read(key)
	if _, err := db.W.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, key); err != nil {
		return nil, fmt.Errorf("store secret %s: %w", name, err)
	}
	var got []byte
	err := db.W.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&got)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("read secret %s: gone after it was stored", name)
	case err != nil:
		return nil, fmt.Errorf("read secret %s: %w", name, err)
	case len(got) != SecretSize:
		return nil, fmt.Errorf("read secret %s: %d bytes, want %d", name, len(got), SecretSize)
	}
	return got, nil
}
