// Package detect is a baseline fraud detector for synth's transactions:
// features a fraud team would compute, a logistic regression on gonum,
// trained on earlier days and measured on later ones.
package detect

import (
	"fmt"

	"github.com/metastation/metastation/app/synth"
	"gonum.org/v1/gonum/mat"
)

// Options tune Evaluate. Zero values take the defaults.
type Options struct {
	TrainShare float64 // share of the days used for training; default 0.7
	Lambda     float64 // L2 penalty; default 1e-4
	AlertFPR   float64 // false-positive rate at which recall is reported; default 0.01
	Model      string  // "logistic" (the default) or "gbt"
	GBT        GBTOptions
}

// Report is the detector's result on the held-out days.
type Report struct {
	Model          string             `json:"model"`
	TrainRows      int                `json:"train_rows"`
	TestRows       int                `json:"test_rows"`
	TrainFraudRate float64            `json:"train_fraud_rate"`
	TestFraudRate  float64            `json:"test_fraud_rate"`
	SplitUnix      int64              `json:"split_unix"` // test rows happen at or after this time
	ROCAUC         float64            `json:"roc_auc"`
	PRAUC          float64            `json:"pr_auc"`
	AlertFPR       float64            `json:"alert_fpr"`
	RecallByType   map[string]float64 `json:"recall_by_type"`    // at AlertFPR
	Weights        map[string]float64 `json:"weights,omitempty"` // logistic: on standardised features
	ROC            []Point            `json:"roc"`               // (false-positive rate, recall)
	PR             []Point            `json:"pr"`                // (recall, precision)
	// Fitted is the model the report measured, for whoever keeps models
	// (the model registry); it is not part of the report's JSON.
	Fitted *Detector `json:"-"`
}

// Detector is a fitted model: one of Logistic and GBT, on the columns of
// Features. It is plain data (gob-encodable) so it can be saved and loaded.
type Detector struct {
	Model    string // "logistic" or "gbt"
	Features []string
	Logistic *Logistic
	GBT      *GBT
}

// Score returns the fraud probability of one feature row.
func (d *Detector) Score(row []float64) float64 {
	if d.GBT != nil {
		return d.GBT.Score(row)
	}
	return d.Logistic.Score(row)
}

// Evaluate computes the features of txs, trains a logistic regression on
// the first days and scores the rest.
func Evaluate(txs []synth.Transaction, opt Options) (*Report, error) {
	if opt.TrainShare == 0 {
		opt.TrainShare = 0.7
	}
	if opt.Lambda == 0 {
		opt.Lambda = 1e-4
	}
	if opt.AlertFPR == 0 {
		opt.AlertFPR = 0.01
	}
	if len(txs) == 0 {
		return nil, fmt.Errorf("evaluate detector: no transactions")
	}
	names := FeatureNames()
	d := len(names)
	feats := Features(txs)
	split := SplitTime(txs, opt.TrainShare)

	var train, test []int
	for i := range txs {
		if txs[i].Unix < split {
			train = append(train, i)
		} else {
			test = append(test, i)
		}
	}
	x := mat.NewDense(len(train), d, nil)
	y := make([]float64, len(train))
	rep := &Report{TrainRows: len(train), TestRows: len(test), SplitUnix: split, AlertFPR: opt.AlertFPR}
	for r, i := range train {
		x.SetRow(r, feats[i*d:(i+1)*d])
		if txs[i].IsFraud() {
			y[r] = 1
			rep.TrainFraudRate++
		}
	}
	if rep.TrainFraudRate == 0 || len(test) == 0 {
		return nil, fmt.Errorf("evaluate detector: %d training frauds and %d test rows; generate more rows", int(rep.TrainFraudRate), len(test))
	}
	rep.TrainFraudRate /= float64(len(train))
	var score func(row []float64) float64
	switch opt.Model {
	case "", "logistic":
		rep.Model = "logistic"
		model, err := TrainLogistic(x, y, opt.Lambda)
		if err != nil {
			return nil, err
		}
		rep.Weights = map[string]float64{}
		for j, n := range names {
			rep.Weights[n] = model.Weights[j]
		}
		score = model.Score
		rep.Fitted = &Detector{Model: "logistic", Features: names, Logistic: model}
	case "gbt":
		rep.Model = "gbt"
		model := TrainGBT(x.RawMatrix().Data, d, y, opt.GBT)
		score = model.Score
		rep.Fitted = &Detector{Model: "gbt", Features: names, GBT: model}
	default:
		return nil, fmt.Errorf("evaluate detector: unknown model %q (want logistic or gbt)", opt.Model)
	}
	scores := make([]float64, len(test))
	labels := make([]bool, len(test))
	for r, i := range test {
		scores[r] = score(feats[i*d : (i+1)*d])
		labels[r] = txs[i].IsFraud()
		if labels[r] {
			rep.TestFraudRate++
		}
	}
	rep.TestFraudRate /= float64(len(test))
	rep.ROCAUC, rep.PRAUC, rep.ROC, rep.PR = Curves(scores, labels, 100)
	th := thresholdAtFPR(scores, labels, opt.AlertFPR)
	var caught, all [synth.NumFraudTypes]float64
	for r, i := range test {
		k := txs[i].Fraud
		all[k]++
		if scores[r] > th {
			caught[k]++
		}
	}
	rep.RecallByType = map[string]float64{}
	for k := 1; k < synth.NumFraudTypes; k++ {
		if all[k] > 0 {
			rep.RecallByType[synth.FraudType(k).String()] = caught[k] / all[k]
		}
	}
	return rep, nil
}

// SplitTime returns the time that splits txs into the first share of the
// period's days (training) and the rest (test), on a day boundary.
func SplitTime(txs []synth.Transaction, share float64) int64 {
	lo, hi := txs[0].Unix, txs[0].Unix
	for i := range txs {
		lo, hi = min(lo, txs[i].Unix), max(hi, txs[i].Unix)
	}
	first := lo / 86400
	days := hi/86400 - first + 1
	return (first + int64(share*float64(days))) * 86400
}
