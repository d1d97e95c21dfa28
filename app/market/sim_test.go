package market

import (
	"math"
	"testing"
	"time"
)

func runSim(t *testing.T, preset string, agents int, seed uint64, d time.Duration) *Sim {
	t.Helper()
	u, _ := Preset(preset)
	s, err := NewSim(SimConfig{Universe: u, Seed: seed, Agents: agents})
	if err != nil {
		t.Fatal(err)
	}
	for range int(d / s.StepSize()) {
		s.Step()
		for i := range u.Instruments {
			q := s.books[i].Top()
			if q.BidQty > 0 && q.AskQty > 0 && q.Bid >= q.Ask {
				t.Fatalf("%s book crossed at %s: %+v", u.Instruments[i].Symbol, s.Now(), q)
			}
		}
	}
	return s
}

func TestSimTradedPriceFollowsLatent(t *testing.T) {
	for _, preset := range []string{"equity", "crypto", "fx"} {
		s := runSim(t, preset, 2000, 1, 2*time.Hour)
		c := s.Counters()
		if c.Trades < 1000 {
			t.Errorf("%s: only %d trades in two hours", preset, c.Trades)
		}
		for i, in := range s.Universe().Instruments {
			q := s.Quote(i)
			t.Logf("%s: %+v trades %d", in.Symbol, q, c.Trades)
			if q.Last == 0 {
				t.Errorf("%s: no trade", in.Symbol)
				continue
			}
			// Two hours of the instrument's volatility is the yardstick.
			sd := in.AnnualVol / math.Sqrt(in.Class.DaysPerYear()) * math.Sqrt(2.0/24)
			if dev := math.Abs(math.Log(q.Last / q.Latent)); dev > 2*sd+0.002 {
				t.Errorf("%s: last %.5g strays %.2f%% from latent %.5g", in.Symbol, q.Last, 100*dev, q.Latent)
			}
		}
		bars := s.DrainBars()
		per := map[Interval]int{}
		for _, b := range bars {
			per[b.Interval]++
			if b.Low > b.Open || b.Low > b.Close || b.High < b.Open || b.High < b.Close {
				t.Fatalf("inconsistent bar %+v", b)
			}
		}
		n := len(s.Universe().Instruments)
		if per[Minute] < 119*n || per[Hour] < 1*n {
			t.Errorf("%s: bars per interval %v, want about 120 and 2 per instrument", preset, per)
		}
	}
}

func TestSimIsDeterministic(t *testing.T) {
	a := runSim(t, "equity", 500, 9, 20*time.Minute)
	b := runSim(t, "equity", 500, 9, 20*time.Minute)
	if a.Counters() != b.Counters() || a.Quote(0) != b.Quote(0) {
		t.Errorf("same seed, different markets: %+v %+v vs %+v %+v", a.Counters(), a.Quote(0), b.Counters(), b.Quote(0))
	}
}

func TestSimulateBars(t *testing.T) {
	u, _ := Preset("equity")
	bars, err := SimulateBars(u, 10, 1, Day, DefaultStart)
	if err != nil {
		t.Fatal(err)
	}
	if len(bars) != 4 || len(bars[0]) != 10 {
		t.Fatalf("got %d instruments, %d bars", len(bars), len(bars[0]))
	}
	for _, b := range bars[0] {
		if wd := b.Time.Weekday(); wd == time.Saturday || wd == time.Sunday {
			t.Errorf("equity bar on a %s", wd)
		}
		if b.High < max(b.Open, b.Close) || b.Low > min(b.Open, b.Close) || b.Volume <= 0 {
			t.Errorf("bad bar %+v", b)
		}
	}
	for k := 1; k < 10; k++ {
		if bars[0][k].Open != bars[0][k-1].Close {
			t.Errorf("day %d opens at %g, not the previous close %g", k, bars[0][k].Open, bars[0][k-1].Close)
		}
	}
	h, _ := SimulateBars(u, 1, 1, Hour, DefaultStart)
	if len(h[0]) != 24 {
		t.Errorf("%d hourly bars in a day, want 24", len(h[0]))
	}
	if _, err := SimulateBars(u, 100000, 1, Minute, DefaultStart); err == nil {
		t.Error("100,000 days of minute bars should be refused")
	}
}

func TestReplayFollowsTheSeries(t *testing.T) {
	s, _ := parseFile(t, "testdata/SPY-2007-2009.csv")
	s.Bars = s.Bars[:6]
	u, err := ReplayUniverse(s, "SPY", ClassIndex)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := NewSim(SimConfig{Universe: u, Seed: 1, Agents: 300, Step: 10 * time.Second,
		Replay: map[string][]float64{"SPY": s.Returns()}, Script: Script{{Regime: BlackSwan, Shock: -10}}})
	if err != nil {
		t.Fatal(err)
	}
	for d := 1; d <= 5; d++ {
		for range 8640 {
			sim.Step()
		}
		got, want := sim.proc.Price(0), s.Bars[d].AdjClose
		if math.Abs(got/want-1) > 1e-9 {
			t.Errorf("day %d: latent %.6f, want the recorded %.6f", d, got, want)
		}
		if q := sim.Quote(0); math.Abs(q.Last/want-1) > 0.01 {
			t.Errorf("day %d: last trade %.2f strays from the replayed %.2f", d, q.Last, want)
		}
	}
}

func TestFlashCrashReachesTheBook(t *testing.T) {
	u, _ := Preset("equity")
	sc, _ := FlashCrash(DefaultStart)
	sim, err := NewSim(SimConfig{Universe: u, Seed: 2, Agents: 2000, Script: sc})
	if err != nil {
		t.Fatal(err)
	}
	var before, low float64
	for k := 1; k <= 75*60; k++ { // to 10:45
		sim.Step()
		last := sim.Quote(0).Last
		if k == 59*60 {
			before, low = last, last
		}
		if k > 59*60 {
			low = min(low, last)
		}
	}
	if r, _ := sim.Regime(); r != Crisis {
		t.Errorf("regime at 10:45 is %s, want crisis", r)
	}
	if low/before-1 > -0.03 {
		t.Errorf("SPX traded from %.2f down to only %.2f in the flash crash", before, low)
	}
}

func TestSimWithAHandfulOfAgents(t *testing.T) {
	s := runSim(t, "crypto", 5, 1, 30*time.Minute)
	if s.Agents() < 3 || s.Agents() > 8 {
		t.Errorf("%d agents, want about 5", s.Agents())
	}
	u, _ := Preset("crypto")
	if _, err := NewSim(SimConfig{Universe: u, Agents: MaxAgents + 1}); err == nil {
		t.Error("more than MaxAgents should be refused")
	}
}

func TestChangedQuotes(t *testing.T) {
	s := runSim(t, "fx", 300, 1, time.Minute)
	q := s.ChangedQuotes()
	if len(q) != 3 {
		t.Fatalf("%d changed quotes after a minute, want 3", len(q))
	}
	if again := s.ChangedQuotes(); len(again) != 0 {
		t.Errorf("%d changed quotes without a step, want 0", len(again))
	}
}
