package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/metastation/metastation/app/bus"
)

// TopicNetwork carries the agent network's snapshot, twice a second.
var TopicNetwork = bus.NewTopic[NetworkState]("analytics.network.state")

// Service samples what the system publishes on the bus into the registry's
// series, tracks the agent network, publishes its snapshot and prunes old
// history. It reads payloads through their JSON form, so it depends on no
// other domain package: system.state, market.state and market.trades,
// rl.progress and rl.metrics, synth.progress and tournament.state.
type Service struct {
	Registry *Registry
	Graph    *Graph

	bus *bus.Bus
	log *slog.Logger

	last map[string]int64 // series key -> last sample time, to sample at most MinInterval
	// MinInterval is the least time between two points of a series sampled
	// from the bus; default one second.
	MinInterval time.Duration
	// PublishEvery is the time between network snapshots; default 500ms.
	PublishEvery time.Duration

	trades map[string]*tradeAcc // per instrument, the current second
}

type tradeAcc struct {
	sec    int64
	count  int
	volume float64
}

// NewService builds the sampler on reg and b.
func NewService(reg *Registry, b *bus.Bus, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{Registry: reg, Graph: NewGraph(10 * time.Second), bus: b, log: log,
		last: map[string]int64{}, MinInterval: time.Second, PublishEvery: 500 * time.Millisecond,
		trades: map[string]*tradeAcc{}}
}

// Run samples until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	sub := s.bus.Subscribe(16384, "*")
	defer sub.Close()
	publish := time.NewTicker(s.PublishEvery)
	defer publish.Stop()
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	if err := s.Registry.Prune(ctx, time.Now()); err != nil && ctx.Err() == nil {
		s.log.Warn("analytics: prune", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			s.Registry.FlushMinutes() // the writer closes after the services stop
			return nil
		case e := <-sub.C():
			if e.Topic == TopicNetwork.Name {
				continue
			}
			s.Graph.Observe(e)
			if err := s.Sample(e); err != nil {
				s.log.Debug("analytics: sample", "topic", e.Topic, "err", err)
			}
		case now := <-publish.C:
			TopicNetwork.Publish(s.bus, "analytics", "", "network", s.Graph.Snapshot(now))
		case now := <-prune.C:
			if err := s.Registry.Prune(ctx, now); err != nil && ctx.Err() == nil {
				s.log.Warn("analytics: prune", "err", err)
			}
		}
	}
}

// record adds a point unless the series had one less than MinInterval ago.
func (s *Service) record(name string, labels Labels, unit string, t time.Time, v float64) {
	key := Key(name, labels)
	ms := t.UnixMilli()
	// A tenth of slack: a publisher ticking each second is sometimes a few
	// milliseconds early.
	if last, ok := s.last[key]; ok && ms-last < s.MinInterval.Milliseconds()*9/10 {
		return
	}
	s.last[key] = ms
	s.Registry.Record(name, labels, unit, t, v)
}

// Sample turns one envelope into points of series.
func (s *Service) Sample(e bus.Envelope) error {
	switch {
	case e.Topic == "system.state":
		return s.sampleSystem(e)
	case e.Topic == "market.state":
		return s.sampleMarket(e)
	case e.Topic == "market.trades":
		return s.sampleTrades(e)
	case e.Topic == "rl.progress":
		return s.sampleRLProgress(e)
	case e.Topic == "rl.metrics":
		return s.sampleRLMetric(e)
	case e.Topic == "synth.progress":
		return s.sampleSynth(e)
	case e.Topic == "tournament.state":
		return s.sampleTournament(e)
	}
	return nil
}

// decode reads a payload through its JSON form into v.
func decode(payload, v any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode payload: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode payload: %w", err)
	}
	return nil
}

func (s *Service) sampleSystem(e bus.Envelope) error {
	var st struct {
		HeapBytes  float64 `json:"heap_bytes"`
		Goroutines float64 `json:"goroutines"`
		BusPerS    float64 `json:"bus_per_s"`
		FramesPerS float64 `json:"frames_per_s"`
		WritesPerS float64 `json:"writes_per_s"`
		Bus        struct {
			Dropped float64 `json:"dropped"`
		} `json:"bus"`
		Hub struct {
			Clients float64 `json:"clients"`
		} `json:"hub"`
	}
	if err := decode(e.Payload, &st); err != nil {
		return err
	}
	l := Labels{"subsystem": "system"}
	s.record("system.bus_per_s", l, "msg/s", e.Time, st.BusPerS)
	s.record("system.frames_per_s", l, "frames/s", e.Time, st.FramesPerS)
	s.record("system.writes_per_s", l, "rows/s", e.Time, st.WritesPerS)
	s.record("system.heap_bytes", l, "bytes", e.Time, st.HeapBytes)
	s.record("system.goroutines", l, "", e.Time, st.Goroutines)
	s.record("system.hub_clients", l, "", e.Time, st.Hub.Clients)
	s.record("system.bus_dropped", l, "", e.Time, st.Bus.Dropped)
	return nil
}

// regimes maps the market's regime names to a level for charts.
var regimes = map[string]float64{"calm": 0, "volatile": 1, "crisis": 2, "black_swan": 3, "blackswan": 3}

func (s *Service) sampleMarket(e bus.Envelope) error {
	var st struct {
		Regime string  `json:"regime"`
		Agents float64 `json:"agents"`
		Quotes []struct {
			Symbol string  `json:"symbol"`
			Bid    float64 `json:"bid"`
			Ask    float64 `json:"ask"`
			Last   float64 `json:"last"`
		} `json:"quotes"`
		Counters struct {
			Decisions float64 `json:"decisions"`
			Orders    float64 `json:"orders"`
		} `json:"counters"`
	}
	if err := decode(e.Payload, &st); err != nil {
		return err
	}
	l := Labels{"subsystem": "market"}
	if r, ok := regimes[st.Regime]; ok {
		s.record("market.regime", l, "level", e.Time, r)
	}
	s.record("market.agents", l, "", e.Time, st.Agents)
	s.record("market.decisions", l, "", e.Time, st.Counters.Decisions)
	s.record("market.orders", l, "", e.Time, st.Counters.Orders)
	for _, q := range st.Quotes {
		il := Labels{"subsystem": "market", "instrument": q.Symbol}
		if q.Last > 0 {
			s.record("market.price", il, "", e.Time, q.Last)
		}
		if mid := (q.Bid + q.Ask) / 2; q.Bid > 0 && q.Ask > 0 && mid > 0 {
			s.record("market.spread_bps", il, "bps", e.Time, 1e4*(q.Ask-q.Bid)/mid)
		}
	}
	return nil
}

// sampleTrades counts trades and volume per instrument and second; a second
// is recorded when the next one starts.
func (s *Service) sampleTrades(e bus.Envelope) error {
	var ts []struct {
		Symbol string  `json:"symbol"`
		Qty    float64 `json:"qty"`
	}
	if err := decode(e.Payload, &ts); err != nil {
		return err
	}
	sec := e.Time.Unix()
	for _, t := range ts {
		a := s.trades[t.Symbol]
		if a == nil {
			a = &tradeAcc{sec: sec}
			s.trades[t.Symbol] = a
		}
		if a.sec != sec {
			l := Labels{"subsystem": "market", "instrument": t.Symbol}
			at := time.Unix(a.sec, 0)
			s.record("market.trades_per_s", l, "trades/s", at, float64(a.count))
			s.record("market.volume_per_s", l, "qty/s", at, a.volume)
			*a = tradeAcc{sec: sec}
		}
		a.count++
		a.volume += t.Qty
	}
	return nil
}

func (s *Service) sampleRLProgress(e bus.Envelope) error {
	var runs []struct {
		ID     int64   `json:"id"`
		Status string  `json:"status"`
		Steps  float64 `json:"steps"`
		Return float64 `json:"return"`
	}
	if err := decode(e.Payload, &runs); err != nil {
		return err
	}
	for _, r := range runs {
		if r.Status != "running" {
			continue
		}
		l := Labels{"subsystem": "rl", "run": fmt.Sprint(r.ID)}
		s.record("rl.steps", l, "steps", e.Time, r.Steps)
		s.record("rl.return", l, "", e.Time, r.Return)
	}
	return nil
}

func (s *Service) sampleRLMetric(e bus.Envelope) error {
	var m struct {
		Run     int64    `json:"run"`
		Return  float64  `json:"return"`
		Entropy *float64 `json:"entropy"`
	}
	if err := decode(e.Payload, &m); err != nil {
		return err
	}
	l := Labels{"subsystem": "rl", "run": fmt.Sprint(m.Run)}
	s.record("rl.return", l, "", e.Time, m.Return)
	if m.Entropy != nil {
		s.record("rl.entropy", l, "", e.Time, *m.Entropy)
	}
	return nil
}

func (s *Service) sampleSynth(e bus.Envelope) error {
	var st struct {
		ID       string  `json:"id"`
		State    string  `json:"state"`
		Rows     float64 `json:"rows"`
		RowsPerS float64 `json:"rows_per_s"`
	}
	if err := decode(e.Payload, &st); err != nil {
		return err
	}
	l := Labels{"subsystem": "synth", "run": st.ID}
	s.record("synth.rows_per_s", l, "rows/s", e.Time, st.RowsPerS)
	s.record("synth.rows", l, "rows", e.Time, st.Rows)
	return nil
}

// sampleTournament records each strategy's figures from the tournament's
// leaderboard: equity (the curve's last point), underwater drawdown from the
// curve's peak, the rolling Sharpe of the curve's last 60 steps, P&L, Sharpe
// of the round so far and gross exposure.
func (s *Service) sampleTournament(e bus.Envelope) error {
	var st struct {
		DecisionP50us float64 `json:"decision_p50_us"`
		DecisionP99us float64 `json:"decision_p99_us"`
		Leaderboard   []struct {
			Strategy string    `json:"strategy"`
			PnL      float64   `json:"pnl"`
			Sharpe   float64   `json:"sharpe"`
			Gross    float64   `json:"gross"`
			Curve    []float64 `json:"curve"`
		} `json:"leaderboard"`
	}
	if err := decode(e.Payload, &st); err != nil {
		return err
	}
	if st.DecisionP99us > 0 {
		l := Labels{"subsystem": "tournament"}
		s.record("tournament.decision_p50", l, "µs", e.Time, st.DecisionP50us)
		s.record("tournament.decision_p99", l, "µs", e.Time, st.DecisionP99us)
	}
	for _, en := range st.Leaderboard {
		if en.Strategy == "" {
			continue
		}
		l := Labels{"subsystem": "tournament", "strategy": en.Strategy}
		s.record("tournament.pnl", l, "", e.Time, en.PnL)
		s.record("tournament.sharpe", l, "", e.Time, en.Sharpe)
		s.record("tournament.gross", l, "", e.Time, en.Gross)
		if n := len(en.Curve); n > 0 {
			peak := en.Curve[0]
			for _, v := range en.Curve {
				peak = max(peak, v)
			}
			s.record("tournament.equity", l, "", e.Time, en.Curve[n-1])
			if rs, ok := RollingSharpe(en.Curve, 60); ok {
				s.record("tournament.rolling_sharpe", l, "", e.Time, rs)
			}
			if peak > 0 {
				s.record("tournament.drawdown", l, "%", e.Time, 100*(en.Curve[n-1]/peak-1))
			}
		}
	}
	return nil
}

// RollingSharpe is the Sharpe ratio of the simple returns of the last window
// steps of an equity curve, over the window (mean / sd * sqrt(steps)), not
// annualised: the curve's step is the tournament's, not a calendar period.
// It needs at least 10 steps and a positive equity.
func RollingSharpe(curve []float64, window int) (float64, bool) {
	if len(curve) > window+1 {
		curve = curve[len(curve)-window-1:]
	}
	if len(curve) < 11 {
		return 0, false
	}
	r := make([]float64, 0, len(curve)-1)
	for i := 1; i < len(curve); i++ {
		if curve[i-1] <= 0 {
			return 0, false
		}
		r = append(r, curve[i]/curve[i-1]-1)
	}
	mean, sd := stat.MeanStdDev(r, nil)
	if sd == 0 || math.IsNaN(sd) {
		return 0, false
	}
	return mean / sd * math.Sqrt(float64(len(r))), true
}
