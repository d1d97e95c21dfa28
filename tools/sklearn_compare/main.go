// Command sklearn_compare exports the fraud detector's data (the bench's
// transactions, features and time split) to CSV for compare.py, and trains
// and times Metastation's gradient-boosted detector on one thread on the
// same rows, writing its test scores beside them. compare.py then fits
// scikit-learn's HistGradientBoostingClassifier on the CSV and compares the
// two. Usage:
//
//	go run ./tools/sklearn_compare --out /tmp/cmp [--seed 1] [--rows 200000]
//	OMP_NUM_THREADS=1 /usr/bin/python3 tools/sklearn_compare/compare.py /tmp/cmp
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/metastation/metastation/app/atomicfile"
	"github.com/metastation/metastation/app/synth"
	"github.com/metastation/metastation/app/synth/detect"
)

func main() {
	if err := run(); err != nil {
		slog.Error("sklearn_compare", "err", err)
		os.Exit(1)
	}
}

// summary is what ours.json records of our run.
type summary struct {
	Seed, Rows     int
	TrainRows      int       `json:"train_rows"`
	TestRows       int       `json:"test_rows"`
	Trees          int       `json:"trees"`
	PRAUC          float64   `json:"pr_auc"`
	ROCAUC         float64   `json:"roc_auc"`
	TrainSeconds   []float64 `json:"train_s"`     // wall, each repeat
	TrainCPUSecond []float64 `json:"train_cpu_s"` // user+system CPU of the process, each repeat
	Options        detect.GBTOptions
}

func run() error {
	out := flag.String("out", "", "directory for train.csv, test.csv, ours.csv and ours.json")
	seed := flag.Int("seed", 1, "data seed (the bench uses 1)")
	rows := flag.Int("rows", 200_000, "transactions (the bench's --detector-rows)")
	repeat := flag.Int("repeat", 3, "training runs to time")
	noCSV := flag.Bool("no-csv", false, "skip writing train.csv and test.csv")
	var opt detect.GBTOptions
	flag.IntVar(&opt.Trees, "trees", 0, "GBT iterations (0: default)")
	flag.Float64Var(&opt.Rate, "rate", 0, "GBT learning rate (0: default)")
	flag.IntVar(&opt.MaxLeaves, "leaves", 0, "GBT leaves per tree (0: default)")
	flag.IntVar(&opt.MinLeaf, "min-leaf", 0, "GBT least rows per leaf (0: default)")
	flag.Float64Var(&opt.Lambda, "lambda", 0, "GBT L2 penalty (0: default)")
	flag.Float64Var(&opt.Validation, "validation", 0, "GBT early-stopping share (0: default, negative: none)")
	flag.IntVar(&opt.Patience, "patience", 0, "GBT early-stopping patience (0: default)")
	flag.Parse()
	if *out == "" || *rows < 20_000 || *repeat < 1 {
		return fmt.Errorf("want --out DIR, --rows >= 20000 and --repeat >= 1")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	txs, err := synth.Transactions(synth.Config{Seed: uint64(*seed), Rows: *rows})
	if err != nil {
		return err
	}
	sp := detect.NewSplit(txs, 0.7)
	if !*noCSV {
		for name, idx := range map[string][]int{"train.csv": sp.Train, "test.csv": sp.Test} {
			if err := writeRows(filepath.Join(*out, name), txs, sp, idx); err != nil {
				return err
			}
		}
	}
	x, y := sp.TrainMatrix()
	d := len(sp.Names)
	sum := summary{Seed: *seed, Rows: *rows, TrainRows: len(sp.Train), TestRows: len(sp.Test)}
	runtime.GOMAXPROCS(1) // one thread, as OMP_NUM_THREADS=1 gives scikit-learn
	var model *detect.GBT
	for range *repeat {
		runtime.GC()
		cpu0, start := cpuSeconds(), time.Now()
		model = detect.TrainGBT(x, d, y, opt)
		sum.TrainSeconds = append(sum.TrainSeconds, time.Since(start).Seconds())
		sum.TrainCPUSecond = append(sum.TrainCPUSecond, cpuSeconds()-cpu0)
	}
	scores := make([]float64, len(sp.Test))
	labels := make([]bool, len(sp.Test))
	for r, i := range sp.Test {
		scores[r] = model.Score(sp.Features[i*d : (i+1)*d])
		labels[r] = sp.Labels[i]
	}
	sum.Trees = len(model.Trees)
	sum.ROCAUC, sum.PRAUC, _, _ = detect.Curves(scores, labels, 1)
	sum.Options = opt
	fmt.Printf("seed %d: %d train rows, %d test rows; ours: %d trees, PR-AUC %.4f, ROC-AUC %.4f, train %v s (CPU %v s)\n",
		*seed, len(sp.Train), len(sp.Test), sum.Trees, sum.PRAUC, sum.ROCAUC, sum.TrainSeconds, sum.TrainCPUSecond)
	err = writeBuffered(filepath.Join(*out, "ours.csv"), func(w *bufio.Writer) error {
		fmt.Fprintln(w, "score")
		for _, s := range scores {
			fmt.Fprintln(w, strconv.FormatFloat(s, 'g', -1, 64))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeBuffered(filepath.Join(*out, "ours.json"), func(w *bufio.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(sum)
	})
}

// writeRows writes the customer, label and features of the rows idx.
func writeRows(path string, txs []synth.Transaction, sp *detect.Split, idx []int) error {
	d := len(sp.Names)
	return writeBuffered(path, func(w *bufio.Writer) error {
		fmt.Fprintf(w, "customer_id,label")
		for _, n := range sp.Names {
			fmt.Fprintf(w, ",%s", n)
		}
		fmt.Fprintln(w)
		buf := []byte{}
		for _, i := range idx {
			buf = strconv.AppendInt(buf[:0], txs[i].CustomerID, 10)
			buf = append(buf, ',', '0')
			if sp.Labels[i] {
				buf[len(buf)-1] = '1'
			}
			for _, v := range sp.Features[i*d : (i+1)*d] {
				buf = append(buf, ',')
				buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
			}
			buf = append(buf, '\n')
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// writeBuffered writes path atomically through a buffer.
func writeBuffered(path string, write func(w *bufio.Writer) error) error {
	return atomicfile.Write(path, 0o644, func(f io.Writer) error {
		w := bufio.NewWriterSize(f, 1<<20)
		if err := write(w); err != nil {
			return err
		}
		return w.Flush()
	})
}
