// Package entrant brings learners from outside into the tournament: a
// trained trading-world QMIX/VDN checkpoint played as a tournament strategy
// (TradingAgent), where such checkpoints may come from in the data
// directory, and the entrants the app remembers across restarts.
package entrant

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/nn"
	"github.com/metastation/metastation/app/tournament"
)

// TradingAgentConfig sets how a trading-world learner plays the tournament.
// Zero fields take the defaults.
type TradingAgentConfig struct {
	Symbol string        // the instrument it trades; default "SPX"
	Bar    time.Duration // simulated time of one "day" bar; default 5m
	Day    time.Duration // the session whose variance is one trading day; default 6h30m
}

func (c TradingAgentConfig) withDefaults() TradingAgentConfig {
	if c.Symbol == "" {
		c.Symbol = "SPX"
	}
	if c.Bar == 0 {
		c.Bar = 5 * time.Minute
	}
	if c.Day == 0 {
		c.Day = 6*time.Hour + 30*time.Minute
	}
	return c
}

// ErrNotTrading is returned for a checkpoint that is valid but was not
// trained in the trading world.
var ErrNotTrading = errors.New("not a trading-world learner")

// TradingAgent is a trained QMIX/VDN learner of the trading world, ready to
// enter the tournament. It is immutable; every round gets a fresh strategy
// from Maker with its own copy of the network.
//
// The learner was trained in TradingMA, where one step is one trading day
// and the observation is the last 10 daily returns of the mark in percent,
// their 20-day standard deviation in percent, the agent's position in
// units of its capital, its equity − 1, and yesterday's net flow of all
// learners. The tournament is one intraday session of 5-second steps over
// several instruments, so the adapter maps one onto the other:
//
//   - Instrument: one, chosen by symbol (default SPX, the equity index the
//     trading world simulates; its fundamental is the same SPX process of
//     the market's equity preset).
//   - Bars: every K tournament steps make one "day" bar, K = Bar/step
//     (default Bar = 5 minutes, so K = 60 at the default 5-second step):
//     a 6.5-hour round holds 78 bars, close to the 20 days of warm-up plus
//     60 days of an episode the agent was trained on. The bar's close is
//     the mid price at its last step.
//   - Scale: the round's market runs one trading day's variance over the
//     whole 6.5-hour session, so a 5-minute bar has 1/78 of a day's
//     variance and its returns are √78 ≈ 8.8 times smaller than the daily
//     returns the network saw. Bar lengths that make the scales match by
//     themselves would leave one bar per round, so the adapter rescales
//     instead: bar returns and their volatility are multiplied by
//     √(Day/Bar) (Day = 6h30m, the round's session). That is exact for the
//     latent random walk; the round's intraday order-flow drift and
//     microstructure (spread, impact) are not in the training world and get
//     magnified by the same factor, so what the agent sees is a
//     time-changed market, not a copy of its training diet.
//   - Warm-up: the agent holds cash until Window+1 bars have closed (the
//     returns it observes); its volatility feature then uses the up to 20
//     returns available (the training world always had 19 or 20).
//   - Position: the money value of its position over the round's
//     MaxPosition, clipped to [−1, 1]; the action's target level × MaxPosition
//     is the money it wants in the instrument (the training world's
//     position of 1 is the whole capital; the tournament allows 0.3 of it).
//   - Equity: equity/capital − 1, unscaled. Intraday the tournament's
//     equity moves are small against the 60-day swings of training, so this
//     feature sits near zero.
//   - Net flow: 0. The other learners of the training world are not in
//     the tournament, and the adapter cannot see anyone else's flow.
//
// The agent acts greedily with its learned network (agent 0's one-hot id),
// re-deciding once per bar with View.Target (a market order to the target
// position), so it pays the spread and walks the book like any entrant.
type TradingAgent struct {
	Config     TradingAgentConfig
	Algo       string // "vdn" or "qmix"
	Episodes   int    // training episodes
	Seed       uint64 // training seed
	Stage      string // the curriculum stage reached ("" without a curriculum)
	Curriculum bool

	sizes   []int
	weights []nn.Tensor
	n       int // agents of the training world (width of the one-hot id)
	window  int
	digest  string
}

// LoadTradingAgent reads a QMIX/VDN checkpoint (marl.SaveQMIX) of the
// trading world and returns it as a tournament entrant.
func LoadTradingAgent(r io.Reader, cfg TradingAgentConfig) (*TradingAgent, error) {
	q, cur, err := marl.LoadQMIX(r)
	if err != nil {
		return nil, fmt.Errorf("trading agent: %w", err)
	}
	return NewTradingAgent(q, cur, cfg)
}

// NewTradingAgent makes an entrant of q (and its curriculum, which may be
// nil). The network's weights are copied: q may go on training.
func NewTradingAgent(q *marl.QMIX, cur *marl.Curriculum, cfg TradingAgentConfig) (*TradingAgent, error) {
	t, ok := q.Env.(*marl.TradingMA)
	if !ok || q.Config.Env != "trading-ma" {
		return nil, fmt.Errorf("trading agent: the checkpoint was trained on %q, which is %w (train one with --env trading-ma)", q.Config.Env, ErrNotTrading)
	}
	cfg = cfg.withDefaults()
	if cfg.Bar <= 0 || cfg.Day < cfg.Bar {
		return nil, fmt.Errorf("trading agent: a bar of %v in a day of %v: the bar must be positive and no longer than the day", cfg.Bar, cfg.Day)
	}
	if err := checkSymbol(cfg.Symbol); err != nil {
		return nil, err
	}
	net := q.AgentNet()
	if t.Window < 1 || net.ObsDim != t.Window+4 || net.Actions != len(marl.TradingLevels) {
		return nil, fmt.Errorf("trading agent: the checkpoint's network (%d inputs, %d actions) does not fit the trading world's observation", net.ObsDim, net.Actions)
	}
	a := &TradingAgent{Config: cfg, Algo: q.Config.Mixer, Episodes: q.Episodes, Seed: q.Config.Seed,
		sizes: net.Sizes, weights: net.Weights, n: net.Agents, window: t.Window}
	if cur != nil {
		a.Curriculum = true
		a.Stage = cur.Current().Name
		if cur.Done() {
			a.Stage = "all stages passed"
		}
	}
	if _, err := a.network(); err != nil {
		return nil, err
	}
	a.digest = a.computeDigest()
	return a, nil
}

// computeDigest is the SHA-256 of what decides the agent's play: its
// network (sizes and every weight, bit for bit), its world's shape and
// its settings. Two nodes of a cluster play a round together only when
// their entrants of the same id have the same digest.
func (a *TradingAgent) computeDigest() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%d|%d|%v|%d|%d|%+v|", a.Algo, a.n, a.window, a.Curriculum, a.Seed, a.Episodes, a.Config)
	var b [8]byte
	for _, s := range a.sizes {
		binary.LittleEndian.PutUint64(b[:], uint64(s))
		h.Write(b[:])
	}
	for _, w := range a.weights {
		fmt.Fprintf(h, "%s|%d|%d|", w.Name, w.Rows, w.Cols)
		for _, x := range w.Data {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// checkSymbol makes sure the tournament trades symbol.
func checkSymbol(symbol string) error {
	r, err := tournament.NewRound(tournament.RoundConfig{Length: time.Minute, Roster: []tournament.Maker{}})
	if err != nil {
		return fmt.Errorf("trading agent: %w", err)
	}
	var known []string
	for _, in := range r.Instruments() {
		if in.Symbol == symbol {
			return nil
		}
		known = append(known, in.Symbol)
	}
	return fmt.Errorf("trading agent: the tournament has no instrument %q (it trades %v)", symbol, known)
}

// network builds a fresh copy of the agent network.
func (a *TradingAgent) network() (*nn.MLP, error) {
	m := nn.NewMLP(rand.New(rand.NewPCG(0, 0)), a.sizes, nn.ActReLU, 1, 1)
	if err := nn.Import(m.Params(), a.weights); err != nil {
		return nil, fmt.Errorf("trading agent: the checkpoint's weights do not fit its network: %w", err)
	}
	return m, nil
}

// ID is the entrant's profile id: "rl-", the algorithm, "-mix" when it was
// trained on the regime mix rather than the curriculum, and the training
// seed: "rl-vdn-s1", "rl-vdn-mix-s2". Learners of different runs can so
// play in the same tournament.
func (a *TradingAgent) ID() string {
	if a.Curriculum {
		return fmt.Sprintf("rl-%s-s%d", a.Algo, a.Seed)
	}
	return fmt.Sprintf("rl-%s-mix-s%d", a.Algo, a.Seed)
}

// Profile is the entrant's personality.
func (a *TradingAgent) Profile() tournament.Profile {
	name, how := "Regime-Mix Learner", "on the market's long-run mix of regimes"
	if a.Curriculum {
		name, how = "Curriculum Learner", "through the calm → volatile → crisis → black-swan curriculum (stage: "+a.Stage+")"
	}
	if a.Seed != 1 {
		name += fmt.Sprintf(" #%d", a.Seed)
	}
	algo := map[string]string{"vdn": "VDN", "qmix": "QMIX"}[a.Algo]
	return tournament.Profile{
		ID: a.ID(), Name: name, Color: "#e879f9", Shape: "capsule",
		Bio: fmt.Sprintf("Trained by multi-agent reinforcement learning (%s, %d episodes, seed %d) in Metastation's trading world, %s. Reads %s in %v bars as if each were a trading day.",
			algo, a.Episodes, a.Seed, how, a.Config.Symbol, a.Config.Bar),
		Style:   "a learned policy over five target positions",
		Risk:    "medium",
		Holding: fmt.Sprintf("one or more %v bars", a.Config.Bar),
		Phrases: []string{"The network has spoken.", "I have seen black swans before.", "Greedy, by design."},
		Digest:  a.digest,
	}
}

// Maker builds the entrant afresh for every round.
func (a *TradingAgent) Maker() tournament.Maker {
	return func(uint64) tournament.Strategy { return a.Strategy() }
}

// Strategy returns a fresh strategy with its own copy of the network.
func (a *TradingAgent) Strategy() tournament.Strategy {
	net, err := a.network()
	if err != nil {
		panic(err) // checked in NewTradingAgent
	}
	return &tradingStrategy{a: a, net: net, inst: -1, in: mat.NewDense(1, a.sizes[0], nil)}
}

// tradingStrategy is one round's play of a TradingAgent.
type tradingStrategy struct {
	a     *TradingAgent
	net   *nn.MLP
	inst  int // instrument index, -1 until the first view
	k     int // steps per bar
	scale float64
	in    *mat.Dense
	obs   []float64
	marks []float64
	level int // the action in force
}

func (s *tradingStrategy) Profile() tournament.Profile { return s.a.Profile() }

func (s *tradingStrategy) Decide(v *tournament.View, out []tournament.Order) []tournament.Order {
	if s.inst < 0 {
		s.inst = slices.IndexFunc(v.Instruments, func(in tournament.Instrument) bool { return in.Symbol == s.a.Config.Symbol })
		if s.inst < 0 || v.Step < 1 {
			s.inst = -1
			return out
		}
		step := v.Elapsed / time.Duration(v.Step)
		s.k = max(1, int(math.Round(float64(s.a.Config.Bar)/float64(step))))
		s.scale = math.Sqrt(float64(s.a.Config.Day) / (float64(s.k) * float64(step)))
		s.level = 2 // cash
	}
	if v.Step%s.k != 0 {
		return out
	}
	mids := v.Mids(s.inst)
	s.marks = s.marks[:0]
	for j := 0; j < len(mids); j += s.k {
		s.marks = append(s.marks, mids[j])
	}
	if len(s.marks) < s.a.window+1 {
		return out
	}
	s.level = s.act(v)
	if o := v.Target(s.inst, marl.TradingLevels[s.level]*v.MaxPosition); o.Qty > 0 {
		out = append(out, o)
	}
	return out
}

// observe builds the agent's observation (Window+4 values) from the bars;
// it is valid until the next call.
func (s *tradingStrategy) observe(v *tournament.View) []float64 {
	m, w := s.marks, s.a.window
	n := len(m)
	o := s.obs[:0]
	for j := n - w; j < n; j++ {
		o = append(o, 100*s.scale*(m[j]/m[j-1]-1))
	}
	// The training world's vol: the standard deviation of the returns of
	// the last 20 marks (19 or 20 of them), here of those available.
	var rs []float64
	for j := max(1, n-20); j < n; j++ {
		rs = append(rs, m[j]/m[j-1]-1)
	}
	var mean, ss float64
	for _, r := range rs {
		mean += r
	}
	mean /= float64(len(rs))
	for _, r := range rs {
		ss += (r - mean) * (r - mean)
	}
	vol := 0.0
	if len(rs) > 1 {
		vol = 100 * s.scale * math.Sqrt(ss/float64(len(rs)-1))
	}
	pos := 0.0
	if v.MaxPosition > 0 {
		pos = max(-1, min(1, v.Account.Position[s.inst]*v.Quotes[s.inst].Mid/v.MaxPosition))
	}
	o = append(o, vol, pos, v.Account.Equity/v.Account.Capital-1, 0)
	s.obs = o
	return o
}

// act is the greedy action of agent 0 on the current observation.
func (s *tradingStrategy) act(v *tournament.View) int {
	row := s.in.RawRowView(0)
	clear(row)
	copy(row, s.observe(v))
	row[len(s.obs)] = 1 // agent 0's one-hot id
	q := s.net.Forward(s.in).RawRowView(0)
	best := 0
	for j, x := range q {
		if x > q[best] {
			best = j
		}
	}
	return best
}
