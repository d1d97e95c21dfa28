package synth

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
)

func readIDs(t *testing.T, path string, col int) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, r := range recs[1:] {
		if out[r[col]] {
			t.Fatalf("%s: id %s twice", path, r[col])
		}
		out[r[col]] = true
	}
	return out
}

// Every id in the transactions is a row of its table, and every customer
// of the tables transacts or could: the data set is referentially whole.
func TestEntitiesReferentiallyConsistent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tx.csv")
	cfg := Config{Seed: 8, Rows: 5*ChunkRows + 99}
	if err := GenerateFile(context.Background(), cfg, "transactions", CSV, path, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteEntities(context.Background(), cfg, CSV, path); err != nil {
		t.Fatal(err)
	}
	customers := readIDs(t, EntityPath(path, "customers", CSV), 0)
	accounts := readIDs(t, EntityPath(path, "accounts", CSV), 0)
	cards := readIDs(t, EntityPath(path, "cards", CSV), 0)
	devices := readIDs(t, EntityPath(path, "devices", CSV), 0)
	merchants := readIDs(t, EntityPath(path, "merchants", CSV), 0)
	if len(customers) != TransactionCustomers(cfg.Rows, DefaultDays) {
		t.Fatalf("%d customers, want %d", len(customers), TransactionCustomers(cfg.Rows, DefaultDays))
	}
	f, _ := os.Open(path)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var online, unknown, fraudUnknown, fraudOnline int
	for _, r := range recs[1:] {
		// id,time,customer_id,account_id,card_id,merchant_id,device_id,...,is_fraud (13)
		if !customers[r[2]] || !accounts[r[3]] || !cards[r[4]] || !merchants[r[5]] {
			t.Fatalf("row %s refers to a missing entity: %v", r[0], r)
		}
		if r[6] == "" {
			continue
		}
		online++
		fraud := r[13] == "1"
		if fraud {
			fraudOnline++
		}
		if !devices[r[6]] {
			unknown++
			if fraud {
				fraudUnknown++
			}
		}
	}
	t.Logf("%d rows with a device, %d of an unregistered device, %d of them fraud (of %d fraud with a device)",
		online, unknown, fraudUnknown, fraudOnline)
	if unknown == fraudUnknown {
		t.Fatal("only fraudsters use unregistered devices: the devices table would leak the labels")
	}
}
