package synth

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// A Parquet file reads back with every row, the same labels and the same
// bytes whatever the number of workers.
func TestParquetReadsBack(t *testing.T) {
	cfg := Config{Seed: 4, Rows: 3*ChunkRows + 11, Workers: 1}
	path := filepath.Join(t.TempDir(), "tx.parquet")
	if err := GenerateFile(context.Background(), cfg, "transactions", Parquet, path, nil); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := parquet.NewGenericReader[ParquetTransaction](f)
	if r.NumRows() != int64(cfg.Rows) {
		t.Fatalf("%d rows, want %d", r.NumRows(), cfg.Rows)
	}
	want, err := Transactions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]ParquetTransaction, 1000)
	n := 0
	for {
		k, err := r.Read(rows)
		for _, p := range rows[:k] {
			w := &want[n]
			if p.ID != w.ID || p.IsFraud != w.IsFraud() || p.Amount != float64(w.Amount)/100 ||
				(p.DeviceID == nil) != (w.DeviceID == 0) {
				t.Fatalf("row %d: %+v, want %+v", n, p, *w)
			}
			n++
		}
		if err != nil {
			break
		}
	}
	if n != cfg.Rows {
		t.Fatalf("read %d rows, want %d", n, cfg.Rows)
	}
	var one, four bytes.Buffer
	if err := Generate(context.Background(), cfg, "transactions", Parquet, &one, nil); err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 4
	if err := Generate(context.Background(), cfg, "transactions", Parquet, &four, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), four.Bytes()) {
		t.Fatal("parquet differs between 1 and 4 workers")
	}
}
