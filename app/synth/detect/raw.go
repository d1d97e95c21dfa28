package detect

import (
	"math"

	"github.com/metastation/metastation/app/synth"
)

// RawColumnPRAUC measures every raw column of txs alone as a fraud score on
// the held-out days: numeric columns as they are (in whichever direction
// scores better), categorical and id columns through their fraud rate on the
// training days. A column that alone reaches a high PR-AUC means the data
// leaks its labels.
func RawColumnPRAUC(txs []synth.Transaction, trainShare float64) map[string]float64 {
	split := SplitTime(txs, trainShare)
	numeric := map[string]func(t *synth.Transaction) float64{
		"id":          func(t *synth.Transaction) float64 { return float64(t.ID) },
		"time":        func(t *synth.Transaction) float64 { return float64(t.Unix) },
		"amount":      func(t *synth.Transaction) float64 { return float64(t.Amount) },
		"hour":        func(t *synth.Transaction) float64 { return float64(t.Unix % 86400 / 3600) },
		"lat":         func(t *synth.Transaction) float64 { return float64(t.Lat) },
		"lon":         func(t *synth.Transaction) float64 { return float64(t.Lon) },
		"customer_id": func(t *synth.Transaction) float64 { return float64(t.CustomerID) },
		"card_id":     func(t *synth.Transaction) float64 { return float64(t.CardID) },
		"device_id":   func(t *synth.Transaction) float64 { return float64(t.DeviceID) },
		"merchant_id": func(t *synth.Transaction) float64 { return float64(t.MerchantID) },
	}
	categorical := map[string]func(t *synth.Transaction) int64{
		"category":         func(t *synth.Transaction) int64 { return int64(t.Category) },
		"channel":          func(t *synth.Transaction) int64 { return int64(t.Channel) },
		"city":             func(t *synth.Transaction) int64 { return int64(t.Region) },
		"merchant_id (id)": func(t *synth.Transaction) int64 { return int64(t.MerchantID) },
		"device_id (id)":   func(t *synth.Transaction) int64 { return t.DeviceID },
		"amount (value)":   func(t *synth.Transaction) int64 { return t.Amount },
		"hour (value)":     func(t *synth.Transaction) int64 { return t.Unix % 86400 / 3600 },
	}
	var labels []bool
	for i := range txs {
		if txs[i].Unix >= split {
			labels = append(labels, txs[i].IsFraud())
		}
	}
	out := map[string]float64{}
	for name, f := range numeric {
		var s []float64
		for i := range txs {
			if txs[i].Unix >= split {
				s = append(s, f(&txs[i]))
			}
		}
		up := PRAUC(s, labels)
		for k := range s {
			s[k] = -s[k]
		}
		out[name] = math.Max(up, PRAUC(s, labels))
	}
	for name, f := range categorical {
		fraud, total := map[int64]float64{}, map[int64]float64{}
		for i := range txs {
			if txs[i].Unix < split {
				v := f(&txs[i])
				total[v]++
				if txs[i].IsFraud() {
					fraud[v]++
				}
			}
		}
		var s []float64
		for i := range txs {
			if txs[i].Unix >= split {
				v := f(&txs[i])
				s = append(s, (fraud[v]+0.01)/(total[v]+1))
			}
		}
		out[name] = PRAUC(s, labels)
	}
	return out
}
