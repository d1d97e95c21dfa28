package synth

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// long skips a test unless METASTATION_LONG=1.
func long(t *testing.T) {
	t.Helper()
	if os.Getenv("METASTATION_LONG") != "1" {
		t.Skip("set METASTATION_LONG=1 to run the 10M-row checks")
	}
}

// Ten million transactions to Parquet: every row and the fraud rate read
// back from the file.
func TestLong10MParquet(t *testing.T) {
	long(t)
	cfg := Config{Seed: 1, Rows: 10_000_000}
	path := filepath.Join(t.TempDir(), "tx.parquet")
	start := time.Now()
	if err := GenerateFile(context.Background(), cfg, "transactions", Parquet, path, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d rows in %v", cfg.Rows, time.Since(start))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := parquet.NewGenericReader[ParquetTransaction](f)
	rows := make([]ParquetTransaction, 8192)
	n, fraud := 0, 0
	for {
		k, err := r.Read(rows)
		for _, p := range rows[:k] {
			n++
			if p.IsFraud {
				fraud++
			}
		}
		if err != nil {
			break
		}
	}
	rate := float64(fraud) / float64(n)
	t.Logf("read back %d rows, fraud rate %.4f", n, rate)
	if n != cfg.Rows || rate < 0.014 || rate > 0.016 {
		t.Fatalf("read %d rows at fraud rate %.4f; want %d at 0.015", n, rate, cfg.Rows)
	}
}

// Ten million rows of CSV hash the same on one worker and on four.
func TestLong10MSameAnyWorkers(t *testing.T) {
	long(t)
	sum := func(workers int) [32]byte {
		h := sha256.New()
		if err := Generate(context.Background(), Config{Seed: 2, Rows: 10_000_000, Workers: workers}, "transactions", CSV, h, nil); err != nil {
			t.Fatal(err)
		}
		var out [32]byte
		copy(out[:], h.Sum(nil))
		return out
	}
	if a, b := sum(1), sum(4); a != b {
		t.Fatalf("1 worker %x, 4 workers %x", a, b)
	}
}
