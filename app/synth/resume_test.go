package synth

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A cancelled resumable job leaves only its hidden partial file; running it
// again finishes with the bytes of an uninterrupted run.
func TestGenerateFileResumes(t *testing.T) {
	for _, format := range []Format{CSV, JSONL} {
		dir := t.TempDir()
		path := filepath.Join(dir, "tx."+format.String())
		cfg := Config{Seed: 6, Rows: 40*ChunkRows + 5, Workers: 2}
		want := generateBytes(t, cfg, "transactions", format)

		ctx, cancel := context.WithCancel(context.Background())
		_, err := GenerateFileResumable(ctx, cfg, "transactions", format, path, func(rows int) {
			if rows >= 21*ChunkRows {
				cancel()
			}
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: interrupted job: %v", format, err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("%s: an interrupted job left %s", format, path)
		}
		var first int
		from, err := GenerateFileResumable(context.Background(), cfg, "transactions", format, path, func(rows int) {
			if first == 0 {
				first = rows
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if from != 16*ChunkRows || first != 17*ChunkRows {
			t.Fatalf("%s: resumed from row %d, first progress %d; want %d and %d", format, from, first, 16*ChunkRows, 17*ChunkRows)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: resumed file differs from an uninterrupted run (%d vs %d bytes)", format, len(got), len(want))
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Fatalf("%s: directory holds %v", format, ents)
		}
	}
}

// A partial file of another job is not resumed.
func TestGenerateFileResumeOtherJob(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tx.csv")
	ctx, cancel := context.WithCancel(context.Background())
	GenerateFileResumable(ctx, Config{Seed: 1, Rows: 40 * ChunkRows}, "transactions", CSV, path, func(rows int) {
		if rows >= 20*ChunkRows {
			cancel()
		}
	})
	cfg := Config{Seed: 2, Rows: 40 * ChunkRows}
	from, err := GenerateFileResumable(context.Background(), cfg, "transactions", CSV, path, nil)
	if err != nil || from != 0 {
		t.Fatalf("from %d, err %v", from, err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, generateBytes(t, cfg, "transactions", CSV)) {
		t.Fatal("the file mixes two jobs")
	}
}
