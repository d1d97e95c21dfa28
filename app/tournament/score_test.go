package tournament

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// The expected values were computed independently (Python, by the
// formulas in score.go's conventions) and are held to 1e-9.
var fixtureEquity = []float64{100, 101, 99.5, 102, 101, 103.5, 100, 104, 105, 103}

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %.15g, want %.15g", name, got, want)
	}
}

func TestMetricsFixture(t *testing.T) {
	r := Returns(fixtureEquity)
	near(t, "sharpe", Sharpe(r, 252), 2.3154818029043813)
	near(t, "sortino", Sortino(r, 252), 3.962576778635068)
	near(t, "max drawdown", MaxDrawdown(fixtureEquity), 0.033816425120772986)
	near(t, "annual return", AnnualReturn(fixtureEquity, 252), 1.2879276757372629)
	near(t, "calmar", Calmar(fixtureEquity, 252), 38.085861268230445)
	near(t, "hit rate", HitRate(r), 0.5555555555555556)
	m := MomentsOf(r)
	near(t, "per-period SR", m.SR, 0.1458616432328683)
	near(t, "skew", m.Skew, -0.035498217442327465)
	near(t, "raw kurtosis", m.Kurt, 1.8156406177294944)
	near(t, "PSR", PSR(m, 0), 0.6593207140270924)
	srs := []float64{0.1, 0.05, -0.02, 0.2, 0.0}
	near(t, "expected max SR", ExpectedMaxSharpe(0.00778, 5), 0.1051919289241113)
	near(t, "DSR", DSR(m, srs), 0.5455744698208244)

	c := Compute(fixtureEquity, 250, 1.5, 252, BySharpe)
	near(t, "pnl", c.PnL, 3)
	near(t, "return", c.Return, 0.03)
	near(t, "turnover", c.Turnover, 2.5)
	near(t, "score", c.Score, c.Sharpe)
}

func TestMetricsEdgeCases(t *testing.T) {
	flat := []float64{100, 100, 100}
	c := Compute(flat, 0, 0, 252, BySortino)
	for name, v := range map[string]float64{"sharpe": c.Sharpe, "sortino": c.Sortino, "dd": c.MaxDrawdown, "calmar": c.Calmar, "hit": c.HitRate} {
		if v != 0 || math.IsNaN(v) {
			t.Errorf("flat curve: %s = %v, want 0", name, v)
		}
	}
	if got := Sortino([]float64{0.01, 0.02}, 252); got != 0 {
		t.Errorf("Sortino without losses = %v, want 0 (no downside)", got)
	}
	if m := MomentsOf([]float64{0.01}); m.N != 1 || PSR(m, 0) != 0 {
		t.Errorf("one return: %+v", m)
	}
}

func TestStandingsUseMedian(t *testing.T) {
	// B has one huge round and four poor ones; A is steadily good. The
	// median keeps A ahead where the mean would put B first.
	in := []SeasonInput{
		{Strategy: "b", Name: "B", Scores: []float64{50, -1, -1, -1, -1}, PnLs: []float64{9, -1, -1, -1, -1}},
		{Strategy: "a", Name: "A", Scores: []float64{2, 2, 3, 1, 2}, PnLs: []float64{1, 1, 1, 1, 1}},
	}
	st := Standings(in)
	if st[0].Strategy != "a" || st[0].Rank != 1 || st[0].MedianScore != 2 {
		t.Fatalf("standings %+v", st)
	}
	if Median([]float64{3, 1, 2, 10}) != 2.5 || Median(nil) != 0 {
		t.Error("median")
	}
}

func TestRSI(t *testing.T) {
	near(t, "rsi", RSI([]float64{1, 2, 1, 3}, 3), 100-100/(1+3.0/1))
	if RSI([]float64{1, 1, 1, 1}, 3) != 50 {
		t.Error("flat RSI is not 50")
	}
}

func TestEveryMinute(t *testing.T) {
	eq := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	got := everyMinute(eq, 10*time.Second) // 6 steps a minute
	want := []float64{0, 6, 12, 14}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("everyMinute = %v, want %v", got, want)
	}
	if got := everyMinute([]float64{0, 1, 2}, time.Minute); fmt.Sprint(got) != "[0 1 2]" {
		t.Errorf("one step a minute: %v", got)
	}
}
