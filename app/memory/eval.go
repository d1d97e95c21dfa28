package memory

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// The planted-fact evaluation: facts hidden among seeded everyday events,
// each looked for by a paraphrase that shares no content word with it, so
// that full-text search alone cannot find it. planted.tsv was written by
// hand before any ranking was measured; TestPlantedSetSharesNoContentWord
// holds it to its promise.
//
//go:embed planted.tsv
var plantedTSV string

// PlantedPair is a fact and the paraphrase that should find it.
type PlantedPair struct{ Fact, Query string }

// PlantedSet returns the hand-written pairs.
func PlantedSet() ([]PlantedPair, error) {
	var out []PlantedPair
	for i, line := range strings.Split(plantedTSV, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fact, query, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("planted.tsv line %d: no tab", i+1)
		}
		out = append(out, PlantedPair{Fact: fact, Query: query})
	}
	return out, nil
}

// Word pools of the seeded events: the same trades, goods, places and
// people as the planted facts, so the facts hide among look-alikes.
var (
	evAgents  = []string{"momentum", "meanrev", "contrarian", "marketmaker", "breakout", "planner", "buyer", "analyst"}
	evSymbols = []string{"SPY", "AAPL", "JPM", "KO", "BTC", "EURUSD", "GLD", "OIL"}
	evGoods   = []string{"steel", "grain", "wheat", "laptops", "fabric", "coffee", "copper", "chips", "milk", "sugar", "bolts", "cement"}
	evPlaces  = []string{"Rotterdam", "Singapore", "Busan", "Hamburg", "Chicago", "Santos", "Antwerp", "Shanghai", "Houston", "Lagos"}
	evPeople  = []string{"the supplier", "the customer", "the auditor", "the planner", "the broker", "the carrier", "the board", "the analyst"}
	evMoods   = []string{"calm", "volatile", "crisis", "trending", "quiet"}
	evTopics  = []string{"volatility", "spread", "inventory", "lead time", "demand", "price", "correlation", "backlog"}
)

// SeededEvents returns n everyday memories drawn from seed, spread over
// span of simulated time from start, in time order.
func SeededEvents(seed uint64, n int, start time.Time, span time.Duration) []Memory {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	out := make([]Memory, n)
	for i := range out {
		at := start.Add(time.Duration(int64(span) / int64(n) * int64(i)))
		m := Memory{Agent: pick(evAgents), SimTime: at, Source: "seed", Kind: Observation}
		switch rng.IntN(7) {
		case 0:
			side := pick([]string{"bought", "sold"})
			sym := pick(evSymbols)
			m.Kind, m.Topic, m.Stance = Action, sym, side
			m.Text = fmt.Sprintf("%s %d %s at %.2f in %d fills.", side, 10*(1+rng.IntN(90)), sym, 20+rng.Float64()*400, 1+rng.IntN(9))
		case 1:
			sym := pick(evSymbols)
			m.Topic = sym
			m.Text = fmt.Sprintf("%s moved %+.1f%% in the %s session while the regime was %s.", sym, rng.NormFloat64()*2,
				pick([]string{"morning", "midday", "afternoon"}), pick(evMoods))
		case 2:
			g, p := pick(evGoods), pick(evPlaces)
			m.Topic = g
			m.Text = fmt.Sprintf("Shipment of %d tonnes of %s from %s arrived %s.", 10*(1+rng.IntN(50)), g, p,
				pick([]string{"on time", "two days late", "a week late", "early"}))
		case 3:
			g, p := pick(evGoods), pick(evPlaces)
			m.Topic = "inventory"
			m.Text = fmt.Sprintf("Inventory of %s at the %s warehouse is %d units, reorder point %d.", g, p, rng.IntN(5000), rng.IntN(800))
		case 4:
			m.Kind, m.Topic = Outcome, "pnl"
			m.Value = float64(rng.IntN(4000) - 2000)
			m.Text = fmt.Sprintf("Closed the position with P&L %+.0f after %d minutes.", m.Value, 5+rng.IntN(300))
		case 5:
			who, g := pick(evPeople), pick(evGoods)
			m.Topic = "meeting"
			m.Text = fmt.Sprintf("Call with %s about %s prices for next quarter; they asked for %d%% more.", who, g, 1+rng.IntN(15))
		default:
			a, b := pick(evTopics), pick(evTopics)
			m.Kind, m.Topic = Document, "note"
			m.Text = fmt.Sprintf("Research note: %s and %s in %s show a correlation of %.2f over %d days.", a, b, pick(evSymbols), rng.Float64()*2-1, 5+rng.IntN(60))
		}
		out[i] = m
	}
	return out
}

// PlantedReport is recall@10 of the planted facts by their paraphrases,
// for the three modes, before and after one consolidation pass.
type PlantedReport struct {
	Facts, Events          int
	Hybrid, Lexical        float64
	Vector                 float64
	HybridAfter            float64
	LexicalAfter           float64
	VectorAfter            float64
	Consolidation          Report
	MissedHybrid           []string // queries hybrid search missed, for the notes
	SearchTook, SearchMost time.Duration
}

// EvaluatePlanted writes events seeded events with the planted facts at
// seeded places among them into st (which should be empty), and measures
// recall@10 of each fact by its paraphrase, in each mode, before and after
// consolidation. A fact merged into a survivor is found when the survivor is.
func EvaluatePlanted(ctx context.Context, st *Store, seed uint64, events int) (PlantedReport, error) {
	pairs, err := PlantedSet()
	if err != nil {
		return PlantedReport{}, err
	}
	// 48 simulated hours: recent enough that the default forgetting keeps
	// the facts, so what is measured is search, not decay.
	start := simDay0().Add(9 * time.Hour)
	span := 48 * time.Hour
	evs := SeededEvents(seed, events, start, span)
	rng := rand.New(rand.NewPCG(seed, seed^0xfac7))
	at := make(map[int]int, len(pairs)) // event index -> pair
	for i := range pairs {
		for {
			k := rng.IntN(len(evs))
			if _, taken := at[k]; !taken {
				at[k] = i
				break
			}
		}
	}
	ids := make([]int64, len(pairs))
	for k, ev := range evs {
		if _, err := st.Write(ctx, ev); err != nil {
			return PlantedReport{}, fmt.Errorf("write event: %w", err)
		}
		if i, ok := at[k]; ok {
			m, err := st.Write(ctx, Memory{Agent: evAgents[rng.IntN(len(evAgents))], Kind: Observation,
				Text: pairs[i].Fact, Topic: "news", Source: "planted", SimTime: ev.SimTime})
			if err != nil {
				return PlantedReport{}, fmt.Errorf("write fact: %w", err)
			}
			ids[i] = m.ID
		}
	}
	if err := st.Flush(ctx); err != nil {
		return PlantedReport{}, err
	}
	rep := PlantedReport{Facts: len(pairs), Events: events}
	measure := func(mode Mode, missed *[]string) (float64, error) {
		found := 0
		for i, p := range pairs {
			t0 := time.Now()
			res, err := st.Search(ctx, Query{Text: p.Query, Mode: mode, Limit: 10})
			took := time.Since(t0)
			rep.SearchTook += took
			rep.SearchMost = max(rep.SearchMost, took)
			if err != nil {
				return 0, fmt.Errorf("search %q: %w", p.Query, err)
			}
			want, err := st.resolve(ids[i])
			if err != nil {
				return 0, err
			}
			hit := false
			for _, r := range res {
				if r.Memory.ID == want {
					hit = true
					break
				}
			}
			if hit {
				found++
			} else if missed != nil {
				*missed = append(*missed, p.Query)
			}
		}
		return float64(found) / float64(len(pairs)), nil
	}
	var errs []error
	var e error
	rep.Hybrid, e = measure(Hybrid, &rep.MissedHybrid)
	errs = append(errs, e)
	rep.Lexical, e = measure(Lexical, nil)
	errs = append(errs, e)
	rep.Vector, e = measure(Vector, nil)
	errs = append(errs, e)
	if err := errors.Join(errs...); err != nil {
		return rep, err
	}
	if rep.Consolidation, err = st.Consolidate(ctx); err != nil {
		return rep, err
	}
	rep.HybridAfter, e = measure(Hybrid, nil)
	errs = append(errs, e)
	rep.LexicalAfter, e = measure(Lexical, nil)
	errs = append(errs, e)
	rep.VectorAfter, e = measure(Vector, nil)
	errs = append(errs, e)
	return rep, errors.Join(errs...)
}

// resolve follows a memory's merges to the memory that now stands for it.
func (s *Store) resolve(id int64) (int64, error) {
	for range 64 {
		m, err := s.Get(id)
		if err != nil {
			return 0, err
		}
		if m.Status != Merged {
			return id, nil
		}
		id = m.MergedInto
	}
	return 0, fmt.Errorf("memory %d: a merge chain longer than 64", id)
}

// simDay0 is the first simulated day of the seeded events (the
// tournament's first round is on it too).
func simDay0() time.Time { return time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) }
