package store

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// Secret is created once and kept across a restart; the voter-cookie key
// the tournament kept before migration 0042 carries over, so existing
// cookies stay valid.
func TestSecret(t *testing.T) {
	ctx := context.Background()
	all := os.DirFS("../../migrations")
	before := fstest.MapFS{}
	entries, err := fs.ReadDir(all, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() < "0042" && strings.HasSuffix(e.Name(), ".sql") {
			b, err := fs.ReadFile(all, e.Name())
			if err != nil {
				t.Fatal(err)
			}
			before[e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	path := filepath.Join(t.TempDir(), "s.db")
	old := bytes.Repeat([]byte{7}, SecretSize)
	db, err := Open(ctx, path, before)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.Exec(`INSERT INTO tournament_meta (key, value) VALUES ('cookie_key', ?)`, old); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for _, c := range []struct {
		name string
		want []byte // nil: any, but the same on every call
	}{
		{"voter_cookie", old},
		{"another", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var first []byte
			for range 2 { // a restart in between
				db, err := Open(ctx, path, all)
				if err != nil {
					t.Fatal(err)
				}
				got, err := db.Secret(ctx, c.name)
				db.Close()
				if err != nil || len(got) != SecretSize {
					t.Fatalf("Secret(%q) = %x, %v", c.name, got, err)
				}
				if c.want != nil && !bytes.Equal(got, c.want) {
					t.Errorf("Secret(%q) = %x, want the key kept before the migration", c.name, got)
				}
				if first != nil && !bytes.Equal(got, first) {
					t.Errorf("Secret(%q) changed across a restart", c.name)
				}
				first = got
			}
		})
	}
}
