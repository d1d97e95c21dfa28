package quality

import (
	"math"

	"github.com/metastation/metastation/app/synth"
)

// TransactionTable lays out the columns of transactions that the quality
// report compares: amount (on a log scale), hour of day, weekday, category,
// channel and city.
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
		wd := (tx.Unix/86400 + 3) % 7
		t.Numeric["log_amount"][i] = math.Log(float64(tx.Amount) / 100)
		t.Numeric["hour"][i] = float64(tx.Unix%86400) / 3600
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
func Transactions(cfg synth.Config, txs []synth.Transaction) (*Report, error) {
	target := synth.TargetSample(cfg, len(txs))
	return Compare(TransactionTable(target), TransactionTable(txs))
}
