package synth

import (
	"cmp"
	"math"
	"slices"
	"testing"
)

func TestFraudRate(t *testing.T) {
	for _, rate := range []float64{0.001, 0.015, 0.05, 0.10} {
		txs, err := Transactions(Config{Seed: 3, Rows: 300_000, FraudRate: rate})
		if err != nil {
			t.Fatal(err)
		}
		var fraud int
		var types [NumFraudTypes]int
		for i := range txs {
			if txs[i].IsFraud() {
				fraud++
				types[txs[i].Fraud]++
			}
		}
		got := float64(fraud) / float64(len(txs))
		if math.Abs(got-rate)/rate > 0.15 {
			t.Errorf("rate %.3f: got %.4f", rate, got)
		}
		for k := 1; k < NumFraudTypes && rate >= 0.015; k++ {
			if types[k] == 0 {
				t.Errorf("rate %.3f: no %s", rate, FraudType(k))
			}
		}
	}
}

// Every id a transaction holds refers to a real entity, the right one.
func TestTransactionsConsistent(t *testing.T) {
	cfg := Config{Seed: 5, Rows: 50_000}.Normalize()
	txs, err := Transactions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWorld(cfg, TransactionCustomers(cfg.Rows, cfg.Days))
	nc := int64(TransactionCustomers(cfg.Rows, cfg.Days))
	end := cfg.Start.Unix() + int64(cfg.Days)*86400
	seen := map[int64]bool{}
	for i, tx := range txs {
		if tx.ID != int64(i+1) {
			t.Fatalf("row %d has id %d", i, tx.ID)
		}
		if tx.CustomerID < 1 || tx.CustomerID > nc {
			t.Fatalf("customer %d out of range", tx.CustomerID)
		}
		c := NewCustomer(cfg.Seed, tx.CustomerID, cfg.Start.Unix())
		if tx.AccountID/10 != tx.CustomerID || tx.AccountID%10 >= int64(c.Accounts) {
			t.Fatalf("account %d does not belong to customer %d", tx.AccountID, tx.CustomerID)
		}
		if tx.CardID/10 != tx.AccountID || tx.CardID%10 >= int64(c.Cards) {
			t.Fatalf("card %d does not belong to account %d", tx.CardID, tx.AccountID)
		}
		if tx.MerchantID < 1 || int(tx.MerchantID) > len(w.Merchants) {
			t.Fatalf("merchant %d out of range", tx.MerchantID)
		}
		if m := w.Merchant(tx.MerchantID); m.Category != tx.Category {
			t.Fatalf("row %d: category %d at a merchant of category %d", i, tx.Category, m.Category)
		}
		if l := LocalUnix(&tx); l < cfg.Start.Unix() || l >= end {
			t.Fatalf("row %d: time %d outside the period", i, tx.Unix)
		}
		if tx.Amount <= 0 {
			t.Fatalf("row %d: amount %d", i, tx.Amount)
		}
		seen[tx.CustomerID] = true
	}
	if len(seen) < int(nc)*9/10 {
		t.Fatalf("only %d of %d customers transact", len(seen), nc)
	}
}

// Amounts are log-normal by category: the median of each category is near
// its configured median.
func TestAmountsByCategory(t *testing.T) {
	txs, err := Transactions(Config{Seed: 9, Rows: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	logs := make([][]float64, NumCategories)
	for _, tx := range txs {
		if !tx.IsFraud() {
			logs[tx.Category] = append(logs[tx.Category], math.Log(float64(tx.Amount)/100))
		}
	}
	for k, c := range categories {
		if len(logs[k]) < 200 || c.Weight < 0.01 { // rare categories are dominated by big purchases
			continue
		}
		m := mean(logs[k])
		if math.Abs(m-c.Mu) > 0.25 {
			t.Errorf("%s: mean log amount %.2f, configured %.2f", c.Name, m, c.Mu)
		}
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func TestInsidePeriod(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		cfg := Config{Seed: seed, Rows: 200_000, FraudRate: 0.05, Days: 30}.Normalize()
		txs, err := Transactions(cfg)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := cfg.Start.Unix(), cfg.Start.Unix()+int64(cfg.Days)*86400
		for _, tx := range txs {
			if l := LocalUnix(&tx); l < lo || l >= hi {
				t.Fatalf("seed %d: row %d at local %d outside [%d, %d)", seed, tx.ID, l, lo, hi)
			}
		}
	}
}

// The radix sort of a chunk's rows matches a stable comparison sort by time
// (ties in generation order), including times before the period's start.
func TestSortByTimeMatchesStableSort(t *testing.T) {
	cfg := Config{Seed: 5, Rows: 3 * ChunkRows}.Normalize()
	w := NewWorld(cfg, TransactionCustomers(cfg.Rows, cfg.Days))
	for _, c := range []struct {
		name  string
		shift int64
	}{{"period", 0}, {"before start", -40_000}} {
		t.Run(c.name, func(t *testing.T) {
			rows := TransactionChunk(w, cfg, 1)
			r := newRand(9, 0, 0)
			for j := range rows {
				rows[j].Unix += c.shift + int64(r.IntN(3)) // ties and reordering
				rows[j].MerchantID = int32(j)              // generation order
			}
			want := slices.Clone(rows)
			slices.SortStableFunc(want, func(a, b Transaction) int { return cmp.Compare(a.Unix, b.Unix) })
			got := sortByTime(nil, rows, w.StartUnix, 100, &scratch{})
			for j := range want {
				want[j].ID = 100 + int64(j) + 1
			}
			if !slices.Equal(got, want) {
				t.Fatal("radix sort differs from the stable sort")
			}
		})
	}
}
