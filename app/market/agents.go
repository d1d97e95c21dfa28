package market

import (
	"fmt"
	"math"

	"github.com/metastation/metastation/app/market/book"
)

// AgentKind is the strategy of a background agent.
type AgentKind uint8

// The background agents, after ABIDES's RMSC configurations.
const (
	Noise       AgentKind = iota // random limit and market orders near the mid
	Fundamental                  // trades toward a noisy view of the latent price
	Momentum                     // follows the trend of fast and slow moving averages
	MarketMaker                  // quotes both sides around the mid, leaning against inventory
	numKinds
)

var kindNames = [numKinds]string{"noise", "fundamental", "momentum", "market_maker"}

func (k AgentKind) String() string { return kindNames[k] }

// AgentMix is the share of each kind in the population; they need not sum
// to one. Wake is each kind's mean time between decisions.
type AgentMix struct {
	Noise, Fundamental, Momentum, MarketMaker float64
}

// DefaultMix is mostly noise traders with enough value traders to tie the
// traded price to the latent one, some chartists and a few market makers.
var DefaultMix = AgentMix{Noise: 0.70, Fundamental: 0.20, Momentum: 0.08, MarketMaker: 0.02}

// wakeSeconds is each kind's mean time between decisions, in simulated
// seconds.
var wakeSeconds = [numKinds]float64{Noise: 60, Fundamental: 120, Momentum: 60, MarketMaker: 10}

// MaxAgents is the largest background population.
const MaxAgents = 1_000_000

// agents holds the population as parallel arrays (one entry per agent) so
// that 100,000 of them cost a few megabytes and no pointers.
type agents struct {
	kind   []AgentKind
	inst   []uint16
	order  []uint64 // resting order (the bid, for market makers)
	order2 []uint64 // the market maker's ask
	inv    []int32  // inventory in lots
	thresh []float32
	// byInst[i][k] lists the agents of kind k trading instrument i.
	byInst [][numKinds][]int32
}

func (s *Sim) buildAgents(n int, mix AgentMix) error {
	if n < 0 || n > MaxAgents {
		return fmt.Errorf("the number of agents must be between 0 and %d, not %d", MaxAgents, n)
	}
	total := mix.Noise + mix.Fundamental + mix.Momentum + mix.MarketMaker
	if !(total > 0) || mix.Noise < 0 || mix.Fundamental < 0 || mix.Momentum < 0 || mix.MarketMaker < 0 {
		return fmt.Errorf("the agent mix needs non-negative shares that do not all vanish")
	}
	shares := [numKinds]float64{mix.Noise / total, mix.Fundamental / total, mix.Momentum / total, mix.MarketMaker / total}
	ni := len(s.u.Instruments)
	a := &s.ag
	a.byInst = make([][numKinds][]int32, ni)
	add := func(k AgentKind, inst int) {
		id := int32(len(a.kind))
		a.kind = append(a.kind, k)
		a.inst = append(a.inst, uint16(inst))
		a.order = append(a.order, 0)
		a.order2 = append(a.order2, 0)
		a.inv = append(a.inv, 0)
		a.thresh = append(a.thresh, float32(0.5+s.rng.Float64()))
		a.byInst[inst][k] = append(a.byInst[inst][k], id)
	}
	// Every instrument gets at least one market maker, so its book is never
	// empty for long.
	for i := range ni {
		add(MarketMaker, i)
	}
	for k := range numKinds {
		count := int(math.Round(shares[k] * float64(n)))
		if k == MarketMaker {
			count -= ni
		}
		for j := range max(count, 0) {
			add(AgentKind(k), j%ni)
		}
	}
	return nil
}

// Agents returns the size of the background population.
func (s *Sim) Agents() int { return len(s.ag.kind) }

// wake runs the decisions of the agents due in this step of dt seconds on
// instrument i.
func (s *Sim) wake(i int, dt float64) {
	for k := range numKinds {
		list := s.ag.byInst[i][k]
		if len(list) == 0 {
			continue
		}
		mean := float64(len(list)) * dt / wakeSeconds[k]
		n := int(mean)
		if s.rng.Float64() < mean-float64(n) {
			n++
		}
		for range n {
			a := list[s.rng.IntN(len(list))]
			s.decide(a, i)
		}
	}
}

// decide is one agent's decision.
func (s *Sim) decide(a int32, i int) {
	s.decisions++
	st := &s.inst[i]
	ag := &s.ag
	switch ag.kind[a] {
	case Noise:
		s.cancel(i, &ag.order[a])
		side := s.side()
		qty := 1 + int64(s.rng.IntN(5))
		if s.rng.Float64() < 0.12 {
			ag.order[a] = s.submit(i, a, book.Order{Side: side, Type: book.Market, Qty: qty})
			return
		}
		// Mostly passive, sometimes a tick or two through the mid.
		off := int64(math.Floor(s.rng.ExpFloat64()*1.5*st.scale)) - int64(st.scale/2)
		px := st.ref - int64(side)*off
		ag.order[a] = s.submit(i, a, book.Order{Side: side, Type: book.Limit, Price: px, Qty: qty})
	case Fundamental:
		s.cancel(i, &ag.order[a])
		est := st.latent * math.Exp(0.5*st.minuteVol*s.rng.NormFloat64())
		gap := (est - float64(st.ref)) / st.scale
		qty := 1 + int64(s.rng.IntN(5))
		switch {
		case gap > float64(ag.thresh[a]):
			px := min(int64(est), st.ref+int64(st.scale))
			ag.order[a] = s.submit(i, a, book.Order{Side: book.Buy, Type: book.Limit, Price: px, Qty: qty})
		case gap < -float64(ag.thresh[a]):
			px := max(int64(est), st.ref-int64(st.scale))
			ag.order[a] = s.submit(i, a, book.Order{Side: book.Sell, Type: book.Limit, Price: px, Qty: qty})
		}
	case Momentum:
		sig := (st.fast - st.slow) / st.scale
		th := 2 * float64(ag.thresh[a])
		qty := 1 + int64(s.rng.IntN(3))
		switch {
		case sig > th && ag.inv[a] < 20:
			s.submit(i, a, book.Order{Side: book.Buy, Type: book.Market, Qty: qty})
		case sig < -th && ag.inv[a] > -20:
			s.submit(i, a, book.Order{Side: book.Sell, Type: book.Market, Qty: qty})
		}
	case MarketMaker:
		s.cancel(i, &ag.order[a])
		s.cancel(i, &ag.order2[a])
		half := max(1, int64(st.scale*float64(ag.thresh[a])*0.6))
		skew := int64(float64(ag.inv[a]) / 10 * st.scale / 4)
		center := st.ref - skew
		qty := int64(5 + s.rng.IntN(10))
		ag.order[a] = s.submit(i, a, book.Order{Side: book.Buy, Type: book.Limit, Price: center - half, Qty: qty})
		ag.order2[a] = s.submit(i, a, book.Order{Side: book.Sell, Type: book.Limit, Price: center + half, Qty: qty})
	}
}

func (s *Sim) side() book.Side {
	if s.rng.IntN(2) == 0 {
		return book.Buy
	}
	return book.Sell
}

// cancel withdraws the agent's resting order *id, if any.
func (s *Sim) cancel(i int, id *uint64) {
	if *id == 0 {
		return
	}
	if _, ok := s.books[i].Cancel(*id); ok {
		s.cancels++
	}
	*id = 0
}
