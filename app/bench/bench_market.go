package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/market/book"
)

// MarketBenchRun is one background-population run of `bench market`.
type MarketBenchRun struct {
	Agents         int     `json:"agents"`
	Seconds        float64 `json:"seconds"` // real seconds measured
	DecisionsPerS  float64 `json:"agent_decisions_per_s"`
	OrdersPerS     float64 `json:"orders_per_s"`
	CancelsPerS    float64 `json:"cancels_per_s"`
	TradesPerS     float64 `json:"trades_per_s"`
	SimSecondsPerS float64 `json:"sim_seconds_per_s"` // simulated seconds per real second, as fast as possible
}

// MarketBenchResult is what `metastation bench market --json` prints last.
type MarketBenchResult struct {
	BookEventsPerS     float64          `json:"book_events_per_s"`
	AgentDecisionsPerS float64          `json:"agent_decisions_per_s"` // at the largest population
	Agents             int              `json:"agents"`
	Runs               []MarketBenchRun `json:"runs"`
	FactsDays          int              `json:"facts_days"`
	ExcessKurtosis     float64          `json:"excess_kurtosis"`
	ACFR1              float64          `json:"acf_r1"`
	MaxACFR2to20       float64          `json:"max_acf_r_2_20"`
	ACFAbsR1           float64          `json:"acf_abs_r1"`
	S20                float64          `json:"s20"`
	Leverage           float64          `json:"leverage"`
	Kurtosis21d        float64          `json:"kurtosis_21d"`
	Kurtosis63d        float64          `json:"kurtosis_63d"`
	HillTail           float64          `json:"hill_tail"`
	AnnualVol          float64          `json:"annual_vol"`
	FactsPass          bool             `json:"facts_pass"`
	Real               map[string]any   `json:"real"`
}

// runBenchMarket is `metastation bench market`: a mixed add/cancel/market
// flow through one order book, the simulated market as fast as possible
// with 1k, 10k and 100k background agents (or --agents N), and the stylized
// facts of the equity index preset next to the real files.
func runBenchMarket(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench market", env.Stderr)
	agents := fs.Int("agents", 0, "background agents for one run (0: runs at 1000, 10000 and 100000)")
	seconds := fs.Float64("seconds", 3, "real seconds per population run")
	events := fs.Int("book-events", 5_000_000, "events in the raw order-book flow")
	days := fs.Int("days", 50_000, "simulated days for the stylized facts")
	seed := fs.Uint64("seed", 1, "random seed")
	realDir := fs.String("real", "../shared/data/market", "directory of real Yahoo CSV files to compare with (skipped when missing)")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *agents < 0 || *agents > market.MaxAgents || *seconds <= 0 || *seconds > 600 || *events < 1000 || *days < 2000 {
		return command.Usagef("bench market: --agents in [0, %d], --seconds in (0, 600], --book-events >= 1000, --days >= 2000 (fewer days leave the 63-day facts without enough windows)", market.MaxAgents)
	}
	say := func(format string, a ...any) { fmt.Fprintf(env.Stderr, format+"\n", a...) }
	res := MarketBenchResult{Real: map[string]any{}}

	res.BookEventsPerS = benchBookFlow(*events, *seed)
	say("order book: %.0f events/s (mixed 60%% limit, 30%% cancel, 10%% market)", res.BookEventsPerS)

	pops := []int{1000, 10_000, 100_000}
	if *agents > 0 {
		pops = []int{*agents}
	}
	u, _ := market.Preset("equity")
	for _, n := range pops {
		if err := ctx.Err(); err != nil {
			return err
		}
		run, err := benchPopulation(ctx, env, u, n, *seed, time.Duration(*seconds*float64(time.Second)))
		if err != nil {
			return err
		}
		say("%7d agents: %.0f decisions/s, %.0f orders/s, %.0f trades/s, %.0f simulated s per real s",
			n, run.DecisionsPerS, run.OrdersPerS, run.TradesPerS, run.SimSecondsPerS)
		res.Runs = append(res.Runs, run)
		res.Agents, res.AgentDecisionsPerS = n, run.DecisionsPerS
	}

	rs, err := market.DailyReturns(u, *days, *seed)
	if err != nil {
		return err
	}
	f, err := market.ComputeFacts(rs[0], 252)
	if err != nil {
		return err
	}
	res.FactsDays = *days
	res.ExcessKurtosis, res.ACFR1, res.MaxACFR2to20, res.ACFAbsR1 = f.ExcessKurtosis, f.ACFR1, f.MaxACFR2to20, f.ACFAbsR1
	res.S20, res.Leverage, res.Kurtosis21d, res.Kurtosis63d = f.S20, f.Leverage, f.Kurtosis21d, f.Kurtosis63d
	res.HillTail, res.AnnualVol = f.HillTail, f.AnnualVol
	res.FactsPass = true
	for _, c := range market.CheckEquityFacts(f) {
		res.FactsPass = res.FactsPass && c.OK
	}
	say("\nstylized facts of daily returns (excess kurtosis, ACF(r,1), max|ACF(r)| 2-20, ACF(|r|,1), S20, leverage, kurt 21d, kurt 63d, Hill, vol):")
	line := func(name string, f market.Facts) {
		say("  %-14s %6.1f %7.3f %6.3f %6.3f %5.2f %7.3f %6.1f %6.1f %5.2f %5.2f", name, f.ExcessKurtosis, f.ACFR1,
			f.MaxACFR2to20, f.ACFAbsR1, f.S20, f.Leverage, f.Kurtosis21d, f.Kurtosis63d, f.HillTail, f.AnnualVol)
	}
	line(fmt.Sprintf("sim SPX %dd", *days), f)
	if st, err := os.Stat(*realDir); err == nil && st.IsDir() {
		real, err := market.RealFacts(*realDir)
		if err != nil {
			return err
		}
		for _, r := range real {
			line(r.File, r.Facts)
			res.Real[r.File] = r.Facts
		}
	} else {
		say("  (no real files at %s)", *realDir)
	}
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}

// benchBookFlow pushes n events through one book: 60 % limit orders around
// a fixed mid, 30 % cancels of resting orders, 10 % market orders.
func benchBookFlow(n int, seed uint64) float64 {
	rng := rand.New(rand.NewPCG(seed, 99))
	b := book.New()
	live := make([]uint64, 0, 1<<16)
	trades := make([]book.Trade, 0, 64)
	// Pre-draw the flow so the timing measures the book, not the generator.
	type ev struct {
		kind  uint8
		side  book.Side
		price int64
		qty   int64
		pick  uint32
	}
	evs := make([]ev, n)
	for k := range evs {
		e := ev{side: book.Buy, price: 10_000 + int64(rng.IntN(41)) - 20, qty: 1 + int64(rng.IntN(9)), pick: rng.Uint32()}
		if rng.IntN(2) == 0 {
			e.side = book.Sell
		}
		switch r := rng.IntN(10); {
		case r < 3:
			e.kind = 1
		case r == 9:
			e.kind = 2
		}
		evs[k] = e
	}
	id := uint64(0)
	start := time.Now()
	for _, e := range evs {
		switch {
		case e.kind == 1 && len(live) > 0:
			k := int(e.pick) % len(live)
			b.Cancel(live[k])
			live[k] = live[len(live)-1]
			live = live[:len(live)-1]
		default:
			id++
			o := book.Order{ID: id, Side: e.side, Type: book.Limit, Price: e.price, Qty: e.qty}
			if e.kind == 2 {
				o.Type = book.Market
			}
			var res book.Result
			trades, res, _ = b.Submit(o, trades[:0])
			if res.Rested > 0 {
				live = append(live, id)
			}
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// benchPopulation runs the market with n agents as fast as possible for d.
func benchPopulation(ctx context.Context, env command.Env, u market.Universe, n int, seed uint64, d time.Duration) (MarketBenchRun, error) {
	sim, err := market.NewSim(market.SimConfig{Universe: u, Seed: seed, Agents: n})
	if err != nil {
		return MarketBenchRun{}, err
	}
	sim.KeepEvents(false)
	// Warm up for ten simulated minutes so the books are full.
	for range 600 {
		sim.Step()
	}
	bar := progressbar.NewOptions(int(d/time.Millisecond), progressbar.OptionSetWriter(env.Stderr),
		progressbar.OptionSetDescription(fmt.Sprintf("%d agents", n)), progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(250*time.Millisecond))
	c0, t0 := sim.Counters(), sim.Now()
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		for range 50 {
			sim.Step()
		}
		bar.Set(int(time.Since(start) / time.Millisecond))
	}
	el := time.Since(start).Seconds()
	bar.Finish()
	c := sim.Counters()
	simS := sim.Now().Sub(t0).Seconds()
	return MarketBenchRun{
		Agents: sim.Agents(), Seconds: el,
		DecisionsPerS:  float64(c.Decisions-c0.Decisions) / el,
		OrdersPerS:     float64(c.Orders-c0.Orders) / el,
		CancelsPerS:    float64(c.Cancels-c0.Cancels) / el,
		TradesPerS:     float64(c.Trades-c0.Trades) / el,
		SimSecondsPerS: simS / el,
	}, ctx.Err()
}
