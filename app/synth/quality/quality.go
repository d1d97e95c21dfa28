// Package quality scores synthetic data against a reference in the manner of
// SDMetrics: the shape of every column (Kolmogorov-Smirnov complement for
// numeric columns, total-variation complement for categorical ones) and the
// trend of every pair of numeric columns (correlation similarity). Every
// score runs from 0 to 1; identical data scores 1.
package quality

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat"
)

// Table holds columns by name: numeric ones as numbers, categorical ones as
// labels. Every column of a table has the same length.
type Table struct {
	Numeric     map[string][]float64
	Categorical map[string][]string
}

// Report is the score of synthetic data against a reference.
type Report struct {
	Score        float64            `json:"score"`         // the mean of Shapes and Trends
	Shapes       float64            `json:"shapes"`        // the mean column-shape score
	Trends       float64            `json:"trends"`        // the mean pair-trend score
	ColumnShapes map[string]float64 `json:"column_shapes"` // per column
	PairTrends   map[string]float64 `json:"pair_trends"`   // per pair, "a~b"
	Targets      map[string]Target  `json:"targets,omitempty"`
}

// Target is a headline figure of the data against its configured value.
type Target struct {
	Want float64 `json:"want"`
	Got  float64 `json:"got"`
}

// Compare scores synth against real over the columns both tables hold.
func Compare(real, synth Table) (*Report, error) {
	rep := &Report{ColumnShapes: map[string]float64{}, PairTrends: map[string]float64{}}
	var numeric []string
	for name, a := range real.Numeric {
		b, ok := synth.Numeric[name]
		if !ok {
			continue
		}
		if len(a) == 0 || len(b) == 0 {
			return nil, fmt.Errorf("quality: column %s is empty", name)
		}
		rep.ColumnShapes[name] = KSComplement(a, b)
		numeric = append(numeric, name)
	}
	for name, a := range real.Categorical {
		if b, ok := synth.Categorical[name]; ok {
			rep.ColumnShapes[name] = TVComplement(a, b)
		}
	}
	if len(rep.ColumnShapes) == 0 {
		return nil, fmt.Errorf("quality: the tables share no column")
	}
	sort.Strings(numeric)
	for i, x := range numeric {
		for _, y := range numeric[i+1:] {
			rep.PairTrends[x+"~"+y] = CorrelationSimilarity(
				real.Numeric[x], real.Numeric[y], synth.Numeric[x], synth.Numeric[y])
		}
	}
	rep.Shapes = meanOf(rep.ColumnShapes)
	rep.Trends = meanOf(rep.PairTrends)
	rep.Score = rep.Shapes
	if len(rep.PairTrends) > 0 {
		rep.Score = (rep.Shapes + rep.Trends) / 2
	}
	return rep, nil
}

// KSComplement is 1 minus the two-sample Kolmogorov-Smirnov statistic: the
// largest gap between the two empirical distribution functions.
func KSComplement(a, b []float64) float64 {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	var i, j int
	d := 0.0
	for i < len(x) && j < len(y) {
		v := math.Min(x[i], y[j])
		for i < len(x) && x[i] == v {
			i++
		}
		for j < len(y) && y[j] == v {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/float64(len(x))-float64(j)/float64(len(y))))
	}
	return 1 - d
}

// TVComplement is 1 minus the total-variation distance between the
// frequencies of the categories in a and in b.
func TVComplement(a, b []string) float64 {
	fa, fb := freq(a), freq(b)
	tv := 0.0
	for k, p := range fa {
		tv += math.Abs(p - fb[k])
	}
	for k, q := range fb {
		if _, ok := fa[k]; !ok {
			tv += q
		}
	}
	return 1 - tv/2
}

// CorrelationSimilarity is 1 minus half the gap between the Pearson
// correlation of (ra, rb) and that of (sa, sb).
func CorrelationSimilarity(ra, rb, sa, sb []float64) float64 {
	cr := corr(ra, rb)
	cs := corr(sa, sb)
	return 1 - math.Abs(cr-cs)/2
}

func corr(a, b []float64) float64 {
	c := stat.Correlation(a, b, nil)
	if math.IsNaN(c) { // a constant column
		return 0
	}
	return c
}

func freq(a []string) map[string]float64 {
	m := map[string]float64{}
	for _, v := range a {
		m[v]++
	}
	for k := range m {
		m[k] /= float64(len(a))
	}
	return m
}

func meanOf(m map[string]float64) float64 {
	if len(m) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range m {
		s += v
	}
	return s / float64(len(m))
}
