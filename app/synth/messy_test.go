package synth_test

import (
	"testing"

	"github.com/metastation/metastation/app/synth"
	"github.com/metastation/metastation/app/synth/detect"
)

// Data that is not too clean (issue 22 item 4): no amount that gives the
// fraud away, every fraud type through several channels, fraud in every
// category, a customer and merchant population that grows with the rows,
// and a detector that can learn the fraud but not perfectly.
func TestDataNotTooClean(t *testing.T) {
	cfg := synth.Config{Seed: 42, Rows: 200_000, FraudRate: 0.015}
	txs, err := synth.Transactions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	type tally struct{ rows, fraud int }
	amounts := map[int64]*tally{}
	var byType [synth.NumFraudTypes][synth.NumChannels]int
	var byCat [synth.NumCategories]tally
	customers, merchants := map[int64]bool{}, map[int32]bool{}
	for i := range txs {
		tx := &txs[i]
		a := amounts[tx.Amount]
		if a == nil {
			a = &tally{}
			amounts[tx.Amount] = a
		}
		a.rows++
		byCat[tx.Category].rows++
		if tx.IsFraud() {
			a.fraud++
			byCat[tx.Category].fraud++
		}
		byType[tx.Fraud][tx.Channel]++
		customers[tx.CustomerID] = true
		merchants[tx.MerchantID] = true
	}

	t.Run("no exact amount is a fraud rule", func(t *testing.T) {
		one := amounts[100]
		if one == nil || one.rows < 200 {
			t.Fatalf("$1.00 in %v rows; honest pre-authorisations and verifications should give hundreds", one)
		}
		t.Logf("$1.00: %d fraud of %d rows", one.fraud, one.rows)
		for cents, a := range amounts {
			if a.rows >= 30 && float64(a.fraud) > 0.5*float64(a.rows) {
				t.Errorf("amount %d cents is fraud in %d of %d rows", cents, a.fraud, a.rows)
			}
		}
	})
	t.Run("every fraud type uses several channels", func(t *testing.T) {
		for k := 1; k < synth.NumFraudTypes; k++ {
			total, top, used := 0, 0, 0
			for _, n := range byType[k] {
				total += n
				top = max(top, n)
			}
			for _, n := range byType[k] {
				if float64(n) >= 0.05*float64(total) {
					used++
				}
			}
			t.Logf("%-20s %v", synth.FraudType(k), byType[k])
			if total == 0 || float64(top) > 0.8*float64(total) || used < 2 {
				t.Errorf("%s: channels %v (top %d of %d, %d channels above 5%%)", synth.FraudType(k), byType[k], top, total, used)
			}
		}
	})
	t.Run("every category carries fraud", func(t *testing.T) {
		for c, n := range byCat {
			if n.fraud < 5 {
				t.Errorf("%s: %d fraud of %d rows", synth.CategoryName(c), n.fraud, n.rows)
			}
		}
	})
	t.Run("population grows with the rows", func(t *testing.T) {
		t.Logf("200k rows: %d customers, %d merchants", len(customers), len(merchants))
		if len(customers) < 6000 || len(merchants) < 1800 {
			t.Errorf("200k rows from %d customers and %d merchants", len(customers), len(merchants))
		}
		for _, c := range []struct {
			rows, least int
		}{{1_000_000, 30_000}, {10_000_000, 300_000}, {100_000_000, 3_000_000}} {
			if n := synth.TransactionCustomers(c.rows, 90); n < c.least {
				t.Errorf("%d rows over 90 days: %d customers, want at least %d", c.rows, n, c.least)
			}
		}
	})
	t.Run("no raw column finds the fraud", func(t *testing.T) {
		top, topName := 0.0, ""
		for name, a := range detect.RawColumnPRAUC(txs, 0.7) {
			if a > top {
				top, topName = a, name
			}
			if a > 0.3 {
				t.Errorf("column %s alone reaches PR-AUC %.3f > 0.3", name, a)
			}
		}
		t.Logf("best raw column %s: PR-AUC %.3f", topName, top)
	})
	t.Run("learnable but not trivial", func(t *testing.T) {
		best := 0.0
		for _, model := range []string{"logistic", "gbt"} {
			rep, err := detect.Evaluate(txs, detect.Options{Model: model})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: ROC-AUC %.4f PR-AUC %.4f", model, rep.ROCAUC, rep.PRAUC)
			best = max(best, rep.ROCAUC)
		}
		if best < 0.85 || best > 0.99 {
			t.Errorf("best model ROC-AUC %.4f outside [0.85, 0.99]", best)
		}
	})
}
