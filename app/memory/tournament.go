package memory

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/metastation/metastation/app/bus"
)

// The tournament's topics this package reads. They are named, not imported:
// the tournament will read memories through this package, and the bus
// envelope (JSON on the wire in cluster mode) is the contract between them.
const (
	tournamentState      = "tournament.state"
	tournamentCommentary = "tournament.commentary"
	tournamentFills      = "tournament.fills"
)

// TournamentTopics are the topics a Service subscribes to.
var TournamentTopics = []string{tournamentState, tournamentCommentary, tournamentFills}

// SimDay0 is the simulated day of the tournament's round 1 opening
// (tournament.OpenTime's date); round n is n-1 days later.
var SimDay0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// fillBucket is how much simulated time of one strategy's fills on one
// symbol and side make one memory: a decision, not every child order.
const fillBucket = 15 * time.Minute

// The parts of the tournament's payloads a memory needs, decoded from their
// JSON form.
type (
	tLine struct {
		Round    int64  `json:"round"`
		Clock    string `json:"clock"`
		Kind     string `json:"kind"`
		Strategy string `json:"strategy"`
		Text     string `json:"text"`
	}
	tFill struct {
		Strategy string  `json:"strategy"`
		Symbol   string  `json:"symbol"`
		Side     string  `json:"side"`
		Price    float64 `json:"price"`
		Qty      float64 `json:"qty"`
	}
	tResult struct {
		Strategy    string  `json:"strategy"`
		Name        string  `json:"name"`
		PnL         float64 `json:"pnl"`
		Return      float64 `json:"return"`
		MaxDrawdown float64 `json:"max_drawdown"`
		Stopped     bool    `json:"stopped"`
		Rank        int     `json:"rank"`
	}
	tState struct {
		Round      int64  `json:"round"`
		Phase      string `json:"phase"`
		Clock      string `json:"clock"`
		Scenario   string `json:"scenario"`
		LastResult *struct {
			Round    int64     `json:"round"`
			Scenario string    `json:"scenario"`
			Results  []tResult `json:"results"`
		} `json:"last_result"`
		Profiles []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"profiles"`
	}
)

// TournamentWatcher turns the tournament's bus messages into memories of
// its strategies: their trading decisions (fills gathered per symbol, side
// and quarter hour), what the commentary noticed about them, and each
// round's outcome with the surprise against their running mean P&L. It is
// not safe for concurrent use; one Service goroutine drives it.
type TournamentWatcher struct {
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

// NewTournamentWatcher starts a watcher; lastResult is the newest round
// whose outcomes are already stored (so a restart does not write them twice).
func NewTournamentWatcher(lastResult int64) *TournamentWatcher {
	return &TournamentWatcher{lastResult: lastResult, names: map[string]string{}, pnls: map[string][]float64{}, pending: map[fillKey]*fillAgg{}}
}

// Handle returns the memories one envelope gives.
func (w *TournamentWatcher) Handle(e bus.Envelope) ([]Memory, error) {
	switch e.Topic {
	case tournamentState:
		var st tState
		if err := redecode(e.Payload, &st); err != nil {
			return nil, err
		}
		return w.state(st), nil
	case tournamentCommentary:
		var lines []tLine
		if err := redecode(e.Payload, &lines); err != nil {
			return nil, err
		}
		return w.commentary(lines), nil
	case tournamentFills:
		var fills []tFill
		if err := redecode(e.Payload, &fills); err != nil {
			return nil, err
		}
		w.addFills(fills)
		return nil, nil
	}
	return nil, nil
}

// redecode turns a payload (a Go value in process, JSON over the wire) into
// this package's view of it.
func redecode(payload any, v any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("tournament payload: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("tournament payload: %w", err)
	}
	return nil
}

func (w *TournamentWatcher) name(id string) string {
	if n := w.names[id]; n != "" {
		return n
	}
	return id
}

func (w *TournamentWatcher) state(st tState) []Memory {
	for _, p := range st.Profiles {
		w.names[p.ID] = p.Name
	}
	var out []Memory
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
			m := Memory{Agent: r.Strategy, Kind: Outcome, Topic: "round result", Source: "tournament.result",
				Tags: []string{"round", "result"}, SimTime: at, Value: math.Round(r.PnL*100) / 100,
				Links: []Link{{Kind: "round", Ref: strconv.FormatInt(lr.Round, 10)}}}
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
func (w *TournamentWatcher) commentary(lines []tLine) []Memory {
	var out []Memory
	for _, l := range lines {
		agent, kind := l.Strategy, Observation
		switch {
		case l.Kind == "result" || l.Kind == "stop":
			kind = Outcome
		case l.Strategy == "" && l.Kind == "regime":
			agent = "tournament"
		case l.Strategy == "":
			continue
		}
		out = append(out, Memory{Agent: agent, Kind: kind, Text: l.Text, Topic: strings.ReplaceAll(l.Kind, "_", " "),
			Source: "tournament.commentary", Tags: []string{"commentary"}, SimTime: simTime(l.Round, l.Clock),
			Links: []Link{{Kind: "round", Ref: strconv.FormatInt(l.Round, 10)}}})
	}
	return out
}

func (w *TournamentWatcher) addFills(fills []tFill) {
	for _, f := range fills {
		if f.Strategy == "" || f.Symbol == "" || f.Qty <= 0 {
			continue
		}
		k := fillKey{f.Strategy, f.Symbol, f.Side}
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
func (w *TournamentWatcher) flushFills() []Memory {
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
	var out []Memory
	for _, k := range keys {
		a := w.pending[k]
		verb := "bought"
		if k.side == "sell" {
			verb = "sold"
		}
		text := fmt.Sprintf("%s %s %s %s in %s at an average %.2f (round %d, %s to %s).", w.name(k.strategy), verb,
			strconv.FormatFloat(a.qty, 'f', -1, 64), k.symbol, plural(a.fills, "fill"), a.notional/a.qty, w.round,
			at.Format("15:04"), at.Add(fillBucket).Format("15:04"))
		out = append(out, Memory{Agent: k.strategy, Kind: Action, Text: text, Topic: k.symbol, Stance: k.side,
			Source: "tournament.fills", Tags: []string{k.symbol, k.side}, SimTime: at,
			Links: []Link{{Kind: "round", Ref: strconv.FormatInt(w.round, 10)}}})
	}
	clear(w.pending)
	return out
}

// simTime places a round's clock ("10:31") on the simulated calendar.
func simTime(round int64, clock string) time.Time {
	day := SimDay0.AddDate(0, 0, int(max(round, 1)-1))
	if t, err := time.Parse("15:04", clock); err == nil {
		return day.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute)
	}
	return day.Add(9*time.Hour + 30*time.Minute)
}
