package research

import (
	"math"
	"strconv"
)

// Every number a memo shows goes through these, so the check that each
// traces to a record compares like with like.

// fmtNum formats x with digits decimals ("n/a" for NaN).
func fmtNum(x float64, digits int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	if x == 0 {
		x = 0 // no "-0.00"
	}
	s := strconv.FormatFloat(x, 'f', digits, 64)
	if s == "-0" || (len(s) > 1 && s[0] == '-' && isZeroDigits(s[1:])) {
		s = s[1:]
	}
	return s
}

func isZeroDigits(s string) bool {
	for _, r := range s {
		if r != '0' && r != '.' {
			return false
		}
	}
	return true
}

// fmtP formats a p-value: four decimals, or "< 0.0001".
func fmtP(p float64) string {
	if math.IsNaN(p) {
		return "n/a"
	}
	if p < 0.0001 {
		return "< 0.0001"
	}
	return fmtNum(p, 4)
}
