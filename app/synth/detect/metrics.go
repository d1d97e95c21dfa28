package detect

import (
	"cmp"
	"slices"
)

// Point is one point of a curve.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// ranked returns the indexes of scores from the highest score down.
func ranked(scores []float64) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	return idx
}

// Curves computes the ROC and precision-recall curves of scores against
// labels, their areas (ROC-AUC by the trapezoid rule, PR-AUC as average
// precision), and at most n points of each curve. Tied scores count as one
// step, so the areas do not depend on the order of ties.
func Curves(scores []float64, labels []bool, n int) (rocAUC, prAUC float64, roc, pr []Point) {
	var pos, neg float64
	for _, l := range labels {
		if l {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return 0, 0, nil, nil
	}
	idx := ranked(scores)
	var tp, fp, prevTP, prevFP float64
	roc = append(roc, Point{0, 0})
	for k := 0; k < len(idx); {
		s := scores[idx[k]]
		for ; k < len(idx) && scores[idx[k]] == s; k++ {
			if labels[idx[k]] {
				tp++
			} else {
				fp++
			}
		}
		rocAUC += (fp - prevFP) / neg * (tp + prevTP) / 2 / pos
		prAUC += (tp - prevTP) / pos * tp / (tp + fp)
		roc = append(roc, Point{fp / neg, tp / pos})
		pr = append(pr, Point{tp / pos, tp / (tp + fp)})
		prevTP, prevFP = tp, fp
	}
	return rocAUC, prAUC, thin(roc, n), thin(pr, n)
}

// thin keeps at most n points of a curve, always the last.
func thin(c []Point, n int) []Point {
	if len(c) <= n {
		return c
	}
	out := make([]Point, 0, n+1)
	for i := 0; i < n; i++ {
		out = append(out, c[i*len(c)/n])
	}
	return append(out, c[len(c)-1])
}

// ROCAUC returns the area under the ROC curve.
func ROCAUC(scores []float64, labels []bool) float64 {
	a, _, _, _ := Curves(scores, labels, 1)
	return a
}

// PRAUC returns the area under the precision-recall curve (average precision).
func PRAUC(scores []float64, labels []bool) float64 {
	_, a, _, _ := Curves(scores, labels, 1)
	return a
}

// thresholdAtFPR returns the lowest score threshold whose false-positive
// rate on the negatives stays at or under fpr.
func thresholdAtFPR(scores []float64, labels []bool, fpr float64) float64 {
	var neg []float64
	for i, l := range labels {
		if !l {
			neg = append(neg, scores[i])
		}
	}
	if len(neg) == 0 {
		return 0
	}
	slices.Sort(neg)
	k := int(float64(len(neg)) * (1 - fpr))
	if k >= len(neg) {
		k = len(neg) - 1
	}
	return neg[k]
}
