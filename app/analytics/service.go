package analytics

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/synth/jobs"
	"github.com/metastation/metastation/app/system"
	"github.com/metastation/metastation/app/tournament"
)

// TopicNetwork carries the agent network's snapshot, twice a second.
var TopicNetwork = bus.NewTopic[NetworkState]("analytics.network.state")

// Service samples what the system publishes on the bus into the registry's
// series, tracks the agent network, publishes its snapshot and prunes old
// history. It reads the subsystems' typed topics (see samplers): the
// payloads are the publishers' own types, checked by the compiler.
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
	sample map[string]sampler   // topic name -> its sampler
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
	s := &Service{Registry: reg, Graph: NewGraph(10 * time.Second), bus: b, log: log,
		last: map[string]int64{}, MinInterval: time.Second, PublishEvery: 500 * time.Millisecond,
		trades: map[string]*tradeAcc{}}
	s.sample = s.samplers()
	return s
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

// sampler turns the payloads of one topic into points of series.
type sampler func(e bus.Envelope) error

// on is the sampler of the typed topic t: fn gets each payload as a T. A
// payload of another type is an error (the publisher broke the topic's
// contract), not a guess.
func on[T any](t bus.Topic[T], fn func(at time.Time, v T)) (string, sampler) {
	return t.Name, func(e bus.Envelope) error {
		v, ok := e.Payload.(T)
		if !ok {
			var want T
			return fmt.Errorf("%s carries a %T, not a %T", t.Name, e.Payload, want)
		}
		fn(e.Time, v)
		return nil
	}
}

// samplers are the topics the service samples, by name: each subsystem's
// typed topic and what becomes of its payloads.
func (s *Service) samplers() map[string]sampler {
	m := map[string]sampler{}
	add := func(name string, f sampler) { m[name] = f }
	add(on(system.TopicState, s.sampleSystem))
	add(on(market.TopicState, s.sampleMarket))
	add(on(market.TopicTrades, s.sampleTrades))
	add(on(rl.TopicProgress, s.sampleRLProgress))
	add(on(rl.TopicMetrics, s.sampleRLMetric))
	add(on(jobs.TopicProgress, s.sampleSynth))
	add(on(tournament.TopicState, s.sampleTournament))
	add(on(tournament.TopicVotes, s.sampleVotes))
	return m
}

// Sample turns one envelope into points of series; topics the service does
// not sample are ignored.
func (s *Service) Sample(e bus.Envelope) error {
	if f := s.sample[e.Topic]; f != nil {
		return f(e)
	}
	return nil
}

func (s *Service) sampleSystem(at time.Time, st system.State) {
	l := Labels{"subsystem": "system"}
	s.record("system.bus_per_s", l, "msg/s", at, st.BusPerS)
	s.record("system.frames_per_s", l, "frames/s", at, st.FramesPerS)
	s.record("system.writes_per_s", l, "rows/s", at, st.WritesPerS)
	s.record("system.heap_bytes", l, "bytes", at, float64(st.HeapBytes))
	s.record("system.goroutines", l, "", at, float64(st.Goroutines))
	s.record("system.hub_clients", l, "", at, float64(st.Hub.Clients))
	s.record("system.bus_dropped", l, "", at, float64(st.Bus.Dropped))
}

// regimes maps the market's regimes to a level for charts.
var regimes = map[market.Regime]float64{market.Calm: 0, market.Volatile: 1, market.Crisis: 2, market.BlackSwan: 3}

func (s *Service) sampleMarket(at time.Time, st market.State) {
	l := Labels{"subsystem": "market"}
	if r, ok := regimes[st.Regime]; ok {
		s.record("market.regime", l, "level", at, r)
	}
	s.record("market.agents", l, "", at, float64(st.Agents))
	s.record("market.decisions", l, "", at, float64(st.Counters.Decisions))
	s.record("market.orders", l, "", at, float64(st.Counters.Orders))
	for _, q := range st.Quotes {
		il := Labels{"subsystem": "market", "instrument": q.Symbol}
		if q.Last > 0 {
			s.record("market.price", il, "", at, q.Last)
		}
		if mid := (q.Bid + q.Ask) / 2; q.Bid > 0 && q.Ask > 0 && mid > 0 {
			s.record("market.spread_bps", il, "bps", at, 1e4*(q.Ask-q.Bid)/mid)
		}
	}
}

// sampleTrades counts trades and volume per instrument and second; a second
// is recorded when the next one starts.
func (s *Service) sampleTrades(at time.Time, ts []market.Trade) {
	sec := at.Unix()
	for _, t := range ts {
		a := s.trades[t.Symbol]
		if a == nil {
			a = &tradeAcc{sec: sec}
			s.trades[t.Symbol] = a
		}
		if a.sec != sec {
			l := Labels{"subsystem": "market", "instrument": t.Symbol}
			then := time.Unix(a.sec, 0)
			s.record("market.trades_per_s", l, "trades/s", then, float64(a.count))
			s.record("market.volume_per_s", l, "qty/s", then, a.volume)
			*a = tradeAcc{sec: sec}
		}
		a.count++
		a.volume += t.Qty
	}
}

func (s *Service) sampleRLProgress(at time.Time, runs []rl.RunInfo) {
	for _, r := range runs {
		if r.Status != "running" {
			continue
		}
		l := Labels{"subsystem": "rl", "run": fmt.Sprint(r.ID)}
		s.record("rl.steps", l, "steps", at, float64(r.Steps))
		s.record("rl.return", l, "", at, r.Return)
	}
}

func (s *Service) sampleRLMetric(at time.Time, m rl.RunMetric) {
	l := Labels{"subsystem": "rl", "run": fmt.Sprint(m.Run)}
	s.record("rl.return", l, "", at, m.Return)
	if m.Entropy != 0 { // only PPO reports it
		s.record("rl.entropy", l, "", at, m.Entropy)
	}
}

func (s *Service) sampleSynth(at time.Time, st jobs.Status) {
	l := Labels{"subsystem": "synth", "run": st.ID}
	s.record("synth.rows_per_s", l, "rows/s", at, st.RowsPerS)
	s.record("synth.rows", l, "rows", at, float64(st.Rows))
}

// sampleTournament records each strategy's figures from the tournament's
// leaderboard: equity (the curve's last point), underwater drawdown from the
// curve's peak, the rolling Sharpe of the curve's last 60 steps, P&L, Sharpe
// of the round so far and gross exposure.
func (s *Service) sampleTournament(at time.Time, st tournament.State) {
	if st.DecisionP99us > 0 {
		l := Labels{"subsystem": "tournament"}
		s.record("tournament.decision_p50", l, "µs", at, st.DecisionP50us)
		s.record("tournament.decision_p99", l, "µs", at, st.DecisionP99us)
	}
	for _, en := range st.Leaderboard {
		if en.Strategy == "" {
			continue
		}
		l := Labels{"subsystem": "tournament", "strategy": en.Strategy}
		s.record("tournament.pnl", l, "", at, en.PnL)
		s.record("tournament.sharpe", l, "", at, en.Sharpe)
		s.record("tournament.gross", l, "", at, en.Gross)
		if n := len(en.Curve); n > 0 {
			peak := en.Curve[0]
			for _, v := range en.Curve {
				peak = max(peak, v)
			}
			s.record("tournament.equity", l, "", at, en.Curve[n-1])
			if rs, ok := RollingSharpe(en.Curve, 60); ok {
				s.record("tournament.rolling_sharpe", l, "", at, rs)
			}
			if peak > 0 {
				s.record("tournament.drawdown", l, "%", at, 100*(en.Curve[n-1]/peak-1))
			}
		}
	}
}

// sampleVotes records the audience's votes for the open round as they
// come, per strategy and in total.
func (s *Service) sampleVotes(at time.Time, t tournament.Tally) {
	s.record("tournament.votes", Labels{"subsystem": "tournament"}, "votes", at, float64(t.Total))
	for st, n := range t.Votes {
		s.record("tournament.votes", Labels{"subsystem": "tournament", "strategy": st}, "votes", at, float64(n))
	}
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
