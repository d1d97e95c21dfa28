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

// TestRatiosNeedEnoughReturns: Sharpe and Sortino are withheld (and the
// score is zero, so the board ranks by P&L) until MinReturns returns; from
// then on they are the formulas' values, with Lo's standard error.
func TestRatiosNeedEnoughReturns(t *testing.T) {
	curve := func(n int) []float64 {
		eq := []float64{100}
		for i := 1; i <= n; i++ {
			eq = append(eq, eq[i-1]*(1+0.001*math.Sin(float64(i))+0.0002))
		}
		return eq
	}
	for _, tc := range []struct {
		name    string
		returns int
		by      ScoreBy
		scored  bool
	}{
		{"five returns by sortino", 5, BySortino, false},
		{"one short of the minimum", MinReturns - 1, BySharpe, false},
		{"the minimum", MinReturns, BySharpe, true},
		{"a whole round", 390, BySortino, true},
		{"pnl needs no minimum", 5, ByPnL, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eq := curve(tc.returns)
			m := Compute(eq, 0, 0, 252*390, tc.by)
			if m.Returns != tc.returns || m.Scored != tc.scored {
				t.Fatalf("returns %d scored %v, want %d %v", m.Returns, m.Scored, tc.returns, tc.scored)
			}
			r := Returns(eq)
			switch {
			case tc.returns < MinReturns:
				if m.Sharpe != 0 || m.Sortino != 0 || m.Calmar != 0 || m.SharpeSE != 0 {
					t.Errorf("ratios shown on %d returns: %+v", tc.returns, m)
				}
				if tc.by != ByPnL && m.Score != 0 {
					t.Errorf("score %v on %d returns, want 0 (rank by P&L)", m.Score, tc.returns)
				}
			default:
				near(t, "sharpe", m.Sharpe, Sharpe(r, 252*390))
				near(t, "sortino", m.Sortino, Sortino(r, 252*390))
				per := m.Sharpe / math.Sqrt(252*390)
				near(t, "sharpe se", m.SharpeSE, math.Sqrt((1+per*per/2)/float64(len(r)))*math.Sqrt(252*390))
			}
			if tc.by == ByPnL {
				near(t, "pnl score", m.Score, m.PnL)
			}
		})
	}
}

// TestRoundRatiosWaitAndAgree: on a full default round, no strategy shows
// a Sharpe or Sortino before MinReturns one-minute returns, and the leader
// the commentary names is the board's at every minute (same returns, same
// rule). The figures shown are logged with Sharpe's standard error: one
// day's annualised ratios are noisy, which the page says.
func TestRoundRatiosWaitAndAgree(t *testing.T) {
	r, err := NewRound(RoundConfig{Seed: 3, Script: DefaultScript})
	if err != nil {
		t.Fatal(err)
	}
	d := newDetector(len(r.Profiles()), BySortino)
	var events []Event
	mismatches, checks, shown := 0, 0, 0
	for !r.Done() {
		r.Step()
		events = d.step(r, r.DrainEvents(), events[:0])
		if r.StepNo()%r.minuteSteps() != 0 {
			continue
		}
		minute := r.StepNo() / r.minuteSteps()
		res := r.Results(BySortino)
		for _, x := range res {
			if x.Returns != minute {
				t.Fatalf("minute %d: %s has %d returns", minute, x.Name, x.Returns)
			}
			if x.Scored != (minute >= MinReturns) {
				t.Fatalf("minute %d: %s scored %v", minute, x.Name, x.Scored)
			}
			if !x.Scored && (x.Sharpe != 0 || x.Sortino != 0 || x.Score != 0) {
				t.Fatalf("minute %d: %s shows ratios before %d returns: %+v", minute, x.Name, MinReturns, x.Metrics)
			}
			if x.Scored {
				shown++
				if minute%60 == 0 && testing.Verbose() {
					t.Logf("minute %d: %-16s sharpe %7.1f ± %5.1f sortino %7.1f pnl %8.0f", minute, x.Name, x.Sharpe, x.SharpeSE, x.Sortino, x.PnL)
				}
			}
		}
		checks++
		if d.candidate >= 0 && r.profiles[d.candidate].ID != res[0].Strategy && res[0].Score != res[1].Score {
			mismatches++
		}
	}
	if shown == 0 {
		t.Fatal("no ratio was ever shown")
	}
	if mismatches > 0 {
		t.Errorf("the commentary's leader differed from the board's at %d of %d minutes", mismatches, checks)
	}
}
