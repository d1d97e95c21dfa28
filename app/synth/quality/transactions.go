package quality

import (
	"math"
	"slices"

	"github.com/metastation/metastation/app/synth"
)

// TransactionTable lays out the columns of transactions that the quality
// report compares: amount (on a log scale), local hour of day and weekday,
// category, channel and city.
func TransactionTable(txs []synth.Transaction) Table {
	n := len(txs)
	t := Table{
		Numeric: map[string][]float64{
			"log_amount":    make([]float64, n),
			"hour":          make([]float64, n),
			"weekday_index": make([]float64, n),
		},
		Categorical: map[string][]string{
			"category": make([]string, n),
			"channel":  make([]string, n),
			"city":     make([]string, n),
			"weekday":  make([]string, n),
		},
	}
	days := [...]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	for i := range txs {
		tx := &txs[i]
		local := synth.LocalUnix(tx)
		wd := (local/86400 + 3) % 7
		t.Numeric["log_amount"][i] = math.Log(float64(tx.Amount) / 100)
		t.Numeric["hour"][i] = float64(local%86400) / 3600
		t.Numeric["weekday_index"][i] = float64(wd)
		t.Categorical["category"][i] = synth.CategoryName(int(tx.Category))
		t.Categorical["channel"][i] = tx.Channel.String()
		t.Categorical["city"][i] = synth.RegionName(int(tx.Region))
		t.Categorical["weekday"][i] = days[wd]
	}
	return t
}

// Transactions scores generated transactions against a sample drawn from
// the configured targets alone (synth.TargetSample) of the same size.
// The report's Targets compare headline figures with their configured
// values: the fraud rate, and the median amount of every category.
func Transactions(cfg synth.Config, txs []synth.Transaction) (*Report, error) {
	cfg = cfg.Normalize()
	target := synth.TargetSample(cfg, len(txs))
	rep, err := Compare(TransactionTable(target), TransactionTable(txs))
	if err != nil {
		return nil, err
	}
	fraud := 0
	amounts := make([][]float64, synth.NumCategories)
	for i := range txs {
		if txs[i].IsFraud() {
			fraud++
			continue
		}
		c := txs[i].Category
		amounts[c] = append(amounts[c], float64(txs[i].Amount)/100)
	}
	rep.Targets = map[string]Target{
		"fraud_rate": {Want: cfg.FraudRate, Got: float64(fraud) / float64(max(1, len(txs)))},
	}
	for c, a := range amounts {
		if len(a) < 50 {
			continue
		}
		slices.Sort(a)
		rep.Targets["median_amount_"+synth.CategoryName(c)] = Target{Want: synth.CategoryMedian(c), Got: a[len(a)/2]}
	}
	return rep, nil
}
