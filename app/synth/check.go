package synth

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// FileSummary is what CheckTransactionsFile reads back from a file.
type FileSummary struct {
	Rows      int            `json:"rows"`
	Fraud     int            `json:"fraud"`
	FraudRate float64        `json:"fraud_rate"`
	ByType    map[string]int `json:"by_type"`
	FirstID   int64          `json:"first_id"`
	LastID    int64          `json:"last_id"`
}

// CheckTransactionsFile reads a transactions file (CSV, JSON Lines or
// Parquet, by extension) and counts its rows and frauds, in constant memory.
func CheckTransactionsFile(path string) (*FileSummary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &FileSummary{ByType: map[string]int{}}
	add := func(id int64, fraud bool, kind string) {
		if s.Rows == 0 {
			s.FirstID = id
		}
		s.Rows++
		s.LastID = id
		if fraud {
			s.Fraud++
			s.ByType[kind]++
		}
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet":
		r := parquet.NewGenericReader[ParquetTransaction](f)
		defer r.Close()
		rows := make([]ParquetTransaction, 4096)
		for {
			n, err := r.Read(rows)
			for _, t := range rows[:n] {
				add(t.ID, t.IsFraud, t.FraudType)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", path, err)
			}
		}
	case ".jsonl", ".json":
		dec := json.NewDecoder(bufio.NewReaderSize(f, 1<<20))
		for {
			var t struct {
				ID        int64  `json:"id"`
				IsFraud   bool   `json:"is_fraud"`
				FraudType string `json:"fraud_type"`
			}
			if err := dec.Decode(&t); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("read %s: %w", path, err)
			}
			add(t.ID, t.IsFraud, t.FraudType)
		}
	default:
		r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
		r.ReuseRecord = true
		head, err := r.Read()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		id, fr, ft := slices.Index(head, "id"), slices.Index(head, "is_fraud"), slices.Index(head, "fraud_type")
		if id < 0 || fr < 0 || ft < 0 {
			return nil, fmt.Errorf("%s is not a transactions file: no id, is_fraud or fraud_type column", path)
		}
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", path, err)
			}
			var n int64
			fmt.Sscan(rec[id], &n)
			add(n, rec[fr] == "1", rec[ft])
		}
	}
	if s.Rows > 0 {
		s.FraudRate = float64(s.Fraud) / float64(s.Rows)
	}
	return s, nil
}
