// Package feeds turns other subsystems' bus messages into memories: each
// feed is a memory.Source the memory service runs. It is apart from package
// memory so that the subsystems themselves can read and write memories
// without an import cycle.
package feeds

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/tournament"
)

// Tournament turns the tournament's bus messages into memories of its
// strategies: their trading decisions (fills gathered per symbol, side
// and quarter hour), what the commentary noticed about them, and each
// round's outcome with the surprise against their running mean P&L. It is
// not safe for concurrent use; one Service goroutine drives it.
type Tournament struct {
	round, lastResult int64
	clock             string
	names             map[string]string
	pnls              map[string][]float64
	pending           map[fillKey]*fillAgg
	bucket            time.Time
}

type fillKey struct{ strategy, symbol, side string }

type fillAgg struct {
	qty, notional float64
	fills         int
}

// NewTournament starts the feed for st: it resumes after the newest round
// whose outcomes st holds, so a restart does not write them twice.
func NewTournament(st *memory.Store) *Tournament {
	return &Tournament{lastResult: st.MaxLinkRef(resultSource, "round"), names: map[string]string{}, pnls: map[string][]float64{}, pending: map[fillKey]*fillAgg{}}
}

// Name names the feed in logs.
func (w *Tournament) Name() string { return "tournament" }

// Topics are the tournament's topics the feed reads.
func (w *Tournament) Topics() []string {
	return []string{tournament.TopicState.Name, tournament.TopicCommentary.Name, tournament.TopicFills.Name}
}

// Handle returns the memories one envelope gives.
func (w *Tournament) Handle(e bus.Envelope) ([]memory.Memory, error) {
	switch e.Topic {
	case tournament.TopicState.Name:
		st, ok := e.Payload.(tournament.State)
		if !ok {
			return nil, fmt.Errorf("%s carries a %T, not a tournament.State", e.Topic, e.Payload)
		}
		return w.state(st), nil
	case tournament.TopicCommentary.Name:
		lines, ok := e.Payload.([]tournament.Line)
		if !ok {
			return nil, fmt.Errorf("%s carries a %T, not []tournament.Line", e.Topic, e.Payload)
		}
		return w.commentary(lines), nil
	case tournament.TopicFills.Name:
		fills, ok := e.Payload.([]tournament.Fill)
		if !ok {
			return nil, fmt.Errorf("%s carries a %T, not []tournament.Fill", e.Topic, e.Payload)
		}
		w.addFills(fills)
	}
	return nil, nil
}

func (w *Tournament) name(id string) string {
	if n := w.names[id]; n != "" {
		return n
	}
	return id
}

func (w *Tournament) state(st tournament.State) []memory.Memory {
	for _, p := range st.Profiles {
		w.names[p.ID] = p.Name
	}
	var out []memory.Memory
	if st.Round != w.round && w.round != 0 {
		out = append(out, w.flushFills()...)
	}
	w.round, w.clock = st.Round, st.Clock
	if b := simTime(w.round, w.clock).Truncate(fillBucket); b != w.bucket {
		out = append(out, w.flushFills()...)
		w.bucket = b
	}
	if lr := st.LastResult; lr != nil && lr.Round > w.lastResult {
		out = append(out, w.flushFills()...)
		w.lastResult = lr.Round
		at := simTime(lr.Round, "16:00")
		for _, r := range lr.Results {
			m := memory.Memory{Agent: r.Strategy, Kind: memory.Outcome, Topic: "round result", Source: resultSource,
				Tags: []string{"round", "result"}, SimTime: at, Value: math.Round(r.PnL*100) / 100,
				Links: []memory.Link{{Kind: "round", Ref: strconv.FormatInt(lr.Round, 10)}}}
			if prev := w.pnls[r.Strategy]; len(prev) > 0 {
				mean := 0.0
				for _, x := range prev {
					mean += x
				}
				mean = math.Round(mean/float64(len(prev))*100) / 100
				m.Expected = &mean
			}
			w.pnls[r.Strategy] = append(w.pnls[r.Strategy], r.PnL)
			m.Text = fmt.Sprintf("%s finished round %d (%s) ranked %d of %d with P&L %+.2f, return %+.2f%%, max drawdown %.2f%%",
				w.name(r.Strategy), lr.Round, lr.Scenario, r.Rank, len(lr.Results), r.PnL, 100*r.Return, 100*r.MaxDrawdown)
			if r.Stopped {
				m.Text += ", stopped out by its risk limit"
			}
			m.Text += "."
			out = append(out, m)
		}
	}
	return out
}

// commentary keeps the lines about a strategy (as its observations) and the
// market's regime changes (as the tournament's).
func (w *Tournament) commentary(lines []tournament.Line) []memory.Memory {
	var out []memory.Memory
	for _, l := range lines {
		agent, kind := l.Strategy, memory.Observation
		switch {
		case l.Kind == "result" || l.Kind == "stop":
			kind = memory.Outcome
		case l.Strategy == "" && l.Kind == "regime":
			agent = "tournament"
		case l.Strategy == "":
			continue
		}
		out = append(out, memory.Memory{Agent: agent, Kind: kind, Text: l.Text, Topic: strings.ReplaceAll(l.Kind, "_", " "),
			Source: "tournament.commentary", Tags: []string{"commentary"}, SimTime: simTime(l.Round, l.Clock),
			Links: []memory.Link{{Kind: "round", Ref: strconv.FormatInt(l.Round, 10)}}})
	}
	return out
}

func (w *Tournament) addFills(fills []tournament.Fill) {
	for _, f := range fills {
		if f.Strategy == "" || f.Symbol == "" || f.Qty <= 0 {
			continue
		}
		k := fillKey{f.Strategy, f.Symbol, f.Side.String()}
		a := w.pending[k]
		if a == nil {
			a = &fillAgg{}
			w.pending[k] = a
		}
		a.qty += f.Qty
		a.notional += f.Qty * f.Price
		a.fills++
	}
}

// flushFills writes the gathered fills of the bucket that just closed, one
// decision per strategy, symbol and side, in a fixed order.
func (w *Tournament) flushFills() []memory.Memory {
	if len(w.pending) == 0 {
		return nil
	}
	keys := make([]fillKey, 0, len(w.pending))
	for k := range w.pending {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b fillKey) int {
		return strings.Compare(a.strategy+"\x00"+a.symbol+"\x00"+a.side, b.strategy+"\x00"+b.symbol+"\x00"+b.side)
	})
	at := w.bucket
	if at.IsZero() {
		at = simTime(w.round, w.clock)
	}
	var out []memory.Memory
	for _, k := range keys {
		a := w.pending[k]
		verb := "bought"
		if k.side == "sell" {
			verb = "sold"
		}
		text := fmt.Sprintf("%s %s %s %s in %s at an average %.2f (round %d, %s to %s).", w.name(k.strategy), verb,
			strconv.FormatFloat(a.qty, 'f', -1, 64), k.symbol, plural(a.fills, "fill"), a.notional/a.qty, w.round,
			at.Format("15:04"), at.Add(fillBucket).Format("15:04"))
		out = append(out, memory.Memory{Agent: k.strategy, Kind: memory.Action, Text: text, Topic: k.symbol, Stance: k.side,
			Source: "tournament.fills", Tags: []string{k.symbol, k.side}, SimTime: at,
			Links: []memory.Link{{Kind: "round", Ref: strconv.FormatInt(w.round, 10)}}})
	}
	clear(w.pending)
	return out
}

// simTime places a round's clock ("10:31") on the simulated calendar: round
// n is n-1 days after the first round's day (tournament.OpenTime).
func simTime(round int64, clock string) time.Time {
	y, mo, d := tournament.OpenTime.Date()
	day := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(max(round, 1)-1))
	if t, err := time.Parse("15:04", clock); err == nil {
		return day.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute)
	}
	return day.Add(9*time.Hour + 30*time.Minute)
}

// fillBucket is how much simulated time of one strategy's fills on one
// symbol and side make one memory: a decision, not every child order.
const fillBucket = 15 * time.Minute

// resultSource is the Source of a round's outcome memories.
const resultSource = "tournament.result"

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
