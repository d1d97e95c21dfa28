package synth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metastation/metastation/app/errs"
)

func generateBytes(t *testing.T, cfg Config, kind string, format Format) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Generate(context.Background(), cfg, kind, format, &b, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The same seed gives the same bytes whatever the number of workers.
func TestGenerateSameBytesAnyWorkers(t *testing.T) {
	for _, kind := range Kinds {
		for _, format := range []Format{CSV, JSONL} {
			t.Run(kind+"/"+format.String(), func(t *testing.T) {
				rows := 3*ChunkRows + 123 // three full chunks and a partial one
				one := generateBytes(t, Config{Seed: 7, Rows: rows, Workers: 1}, kind, format)
				four := generateBytes(t, Config{Seed: 7, Rows: rows, Workers: 4}, kind, format)
				if !bytes.Equal(one, four) {
					t.Fatalf("1 worker and 4 workers differ: %x vs %x", sha256.Sum256(one), sha256.Sum256(four))
				}
				other := generateBytes(t, Config{Seed: 8, Rows: rows, Workers: 4}, kind, format)
				if bytes.Equal(one, other) {
					t.Fatal("seeds 7 and 8 give the same output")
				}
				lines := bytes.Count(one, []byte{'\n'})
				want := rows + map[Format]int{CSV: 1, JSONL: 0}[format]
				if lines != want {
					t.Fatalf("got %d lines, want %d", lines, want)
				}
			})
		}
	}
}

func TestGenerateFormatsParse(t *testing.T) {
	for _, kind := range Kinds {
		cols, err := Columns(kind)
		if err != nil {
			t.Fatal(err)
		}
		data := generateBytes(t, Config{Seed: 1, Rows: 500, Workers: 2}, kind, CSV)
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("%s: CSV does not parse: %v", kind, err)
		}
		if strings.Join(recs[0], ",") != strings.Join(cols, ",") || len(recs) != 501 {
			t.Fatalf("%s: header %v, %d records", kind, recs[0], len(recs))
		}
		data = generateBytes(t, Config{Seed: 1, Rows: 500, Workers: 2}, kind, JSONL)
		for i, line := range bytes.Split(bytes.TrimSpace(data), []byte{'\n'}) {
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatalf("%s line %d: %v: %s", kind, i, err, line)
			}
			if len(m) != len(cols) {
				t.Fatalf("%s line %d: %d keys, want %d", kind, i, len(m), len(cols))
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Rows: -1}, "Rows must not be negative"},
		{Config{Rows: MaxRows + 1}, "at most"},
		{Config{Rows: 10, FraudRate: 0.2}, "Fraud rate must be between 0.1% and 10%"},
		{Config{Rows: 10, FraudRate: 0.0005}, "Fraud rate"},
		{Config{Rows: 10, Workers: -3}, "Workers"},
		{Config{Rows: 10, Days: 3}, "Days"},
	} {
		err := c.cfg.Normalize().Validate()
		if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.cfg, err, c.want)
		}
	}
	if err := (Config{Rows: 10}).Normalize().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := Generate(context.Background(), Config{Rows: 1}, "widgets", CSV, &bytes.Buffer{}, nil); err == nil ||
		!strings.Contains(err.Error(), `Unknown kind "widgets"`) {
		t.Fatalf("unknown kind: %v", err)
	}
}

func TestGenerateFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tx.csv")
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := GenerateFile(ctx, Config{Seed: 1, Rows: 10 * ChunkRows, Workers: 2}, "transactions", CSV, path,
		func(rows int) {
			if n++; n == 2 {
				cancel()
			}
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a cancelled job left %v", ents)
	}
	if err := GenerateFile(context.Background(), Config{Seed: 1, Rows: 1000}, "transactions", CSV, path, nil); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 || ents[0].Name() != "tx.csv" {
		t.Fatalf("directory holds %v", ents)
	}
	err = GenerateFile(context.Background(), Config{Seed: 1, Rows: 10}, "transactions", CSV,
		filepath.Join(dir, "missing", "x.csv"), nil)
	if err == nil || !strings.Contains(err.Error(), "cannot write to") {
		t.Fatalf("unwritable path: %v", err)
	}
}

func TestAlias(t *testing.T) {
	w := []float64{1, 0, 3, 6}
	a := newAlias(w)
	r := newRng(1, 1, 1)
	var got [4]float64
	const n = 200_000
	for range n {
		got[a.pick(r)]++
	}
	for i := range w {
		if d := got[i]/n - w[i]/10; d > 0.01 || d < -0.01 {
			t.Fatalf("index %d drawn %.3f of the time, want %.3f", i, got[i]/n, w[i]/10)
		}
	}
}

func TestEstimateBytes(t *testing.T) {
	cfg := Config{Seed: 1, Rows: 5 * ChunkRows}
	for _, format := range []Format{CSV, JSONL} {
		est, err := EstimateBytes(cfg, "transactions", format)
		if err != nil {
			t.Fatal(err)
		}
		got := int64(len(generateBytes(t, cfg, "transactions", format)))
		if d := float64(est-got) / float64(got); d > 0.05 || d < -0.05 {
			t.Errorf("%s: estimated %d bytes, got %d", format, est, got)
		}
	}
	if free, ok := FreeBytes(t.TempDir()); ok && free == 0 {
		t.Error("no free space reported in a temporary directory")
	}
}
