// Package detect is a baseline fraud detector for synth's transactions:
// features a fraud team would compute, a logistic regression on gonum,
// trained on earlier days and measured on later ones.
package detect

import (
	"fmt"
	"time"

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
	TrainSeconds   float64            `json:"train_s"`    // wall time of fitting the model (not of the features)
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
	sp := NewSplit(txs, opt.TrainShare)
	names, d, feats, train, test := sp.Names, len(sp.Names), sp.Features, sp.Train, sp.Test
	rep := &Report{TrainRows: len(train), TestRows: len(test), SplitUnix: sp.SplitUnix, AlertFPR: opt.AlertFPR}
	x, y := sp.TrainMatrix()
	for _, v := range y {
		rep.TrainFraudRate += v
	}
	if rep.TrainFraudRate == 0 || len(test) == 0 {
		return nil, fmt.Errorf("evaluate detector: %d training frauds and %d test rows; generate more rows", int(rep.TrainFraudRate), len(test))
	}
	rep.TrainFraudRate /= float64(len(train))
	var score func(row []float64) float64
	switch opt.Model {
	case "", "logistic":
		rep.Model = "logistic"
		start := time.Now()
		model, err := TrainLogistic(mat.NewDense(len(y), d, x), y, opt.Lambda)
		rep.TrainSeconds = time.Since(start).Seconds()
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
		start := time.Now()
		model := TrainGBT(x, d, y, opt.GBT)
		rep.TrainSeconds = time.Since(start).Seconds()
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

// Split is the detector's data: the features of every transaction and the
// time split into training rows (the first days) and test rows (the rest).
type Split struct {
	Names     []string
	Features  []float64 // row-major, len(Names) per transaction, in the order of the transactions
	Train     []int     // indexes of the training transactions, in order
	Test      []int     // indexes of the test transactions, in order
	SplitUnix int64     // test rows happen at or after this time
	Labels    []bool    // fraud, per transaction
}

// NewSplit computes the features of txs and splits them in time: the first
// share of the days trains.
func NewSplit(txs []synth.Transaction, share float64) *Split {
	sp := &Split{Names: FeatureNames(), Features: Features(txs), SplitUnix: SplitTime(txs, share), Labels: make([]bool, len(txs))}
	for i := range txs {
		sp.Labels[i] = txs[i].IsFraud()
		if txs[i].Unix < sp.SplitUnix {
			sp.Train = append(sp.Train, i)
		} else {
			sp.Test = append(sp.Test, i)
		}
	}
	return sp
}

// TrainMatrix returns the training rows' features (row-major) and labels
// (1 for fraud).
func (sp *Split) TrainMatrix() (x, y []float64) {
	d := len(sp.Names)
	x = make([]float64, 0, len(sp.Train)*d)
	y = make([]float64, len(sp.Train))
	for r, i := range sp.Train {
		x = append(x, sp.Features[i*d:(i+1)*d]...)
		if sp.Labels[i] {
			y[r] = 1
		}
	}
	return x, y
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
