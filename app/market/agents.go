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
	StopLoss                     // holds a long position behind a trailing stop that sells at market
	numKinds
)

var kindNames = [numKinds]string{"noise", "fundamental", "momentum", "market_maker", "stop_loss"}

func (k AgentKind) String() string { return kindNames[k] }

// AgentMix is the share of each kind in the population; they need not sum
// to one. Wake is each kind's mean time between decisions.
type AgentMix struct {
	Noise, Fundamental, Momentum, MarketMaker, StopLoss float64
}

// DefaultMix is mostly noise traders with enough value traders to tie the
// traded price to the latent one, some chartists and a few market makers.
var DefaultMix = AgentMix{Noise: 0.65, Fundamental: 0.20, Momentum: 0.08, MarketMaker: 0.02, StopLoss: 0.05}

// wakeSeconds is each kind's mean time between decisions, in simulated
// seconds.
var wakeSeconds = [numKinds]float64{Noise: 60, Fundamental: 120, Momentum: 60, MarketMaker: 10, StopLoss: 300}

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
	stop   []int64 // a stop-loss holder's stop, ticks; 0 when it is out of the market
	// byInst[i][k] lists the agents of kind k trading instrument i.
	byInst [][numKinds][]int32
}

func (s *Sim) buildAgents(n int, mix AgentMix) error {
	if n < 0 || n > MaxAgents {
		return fmt.Errorf("the number of agents must be between 0 and %d, not %d", MaxAgents, n)
	}
	total := mix.Noise + mix.Fundamental + mix.Momentum + mix.MarketMaker + mix.StopLoss
	if !(total > 0) || mix.Noise < 0 || mix.Fundamental < 0 || mix.Momentum < 0 || mix.MarketMaker < 0 || mix.StopLoss < 0 {
		return fmt.Errorf("the agent mix needs non-negative shares that do not all vanish")
	}
	shares := [numKinds]float64{mix.Noise / total, mix.Fundamental / total, mix.Momentum / total, mix.MarketMaker / total, mix.StopLoss / total}
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
		a.stop = append(a.stop, 0)
		if k == StopLoss { // a holder from before the open, its stop set
			a.inv[id] = int32(stopLots(a.thresh[id]))
			a.stop[id] = s.stopPrice(inst, a.thresh[id])
			s.inst[inst].maxStop = max(s.inst[inst].maxStop, a.stop[id])
		}
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
		// Far from value, value traders reach further into the book: the
		// bargain hunters who end a flash crash.
		reach := st.scale * min(4, max(1, math.Abs(gap)/(4*float64(ag.thresh[a]))))
		switch {
		case gap > float64(ag.thresh[a]):
			px := min(int64(est), st.ref+int64(reach))
			ag.order[a] = s.submit(i, a, book.Order{Side: book.Buy, Type: book.Limit, Price: px, Qty: qty})
		case gap < -float64(ag.thresh[a]):
			px := max(int64(est), st.ref-int64(reach))
			ag.order[a] = s.submit(i, a, book.Order{Side: book.Sell, Type: book.Limit, Price: px, Qty: qty})
		}
	case Momentum:
		sig := (st.fast - st.slow) / st.scale
		th := 2 * float64(ag.thresh[a])
		qty, limit := 1+int64(s.rng.IntN(3)), int32(20)
		if st.volRatio() > 2 {
			// In a market visibly on the move chartists pile in: the
			// stronger the trend, the bigger the order. (Doing so in quiet
			// markets pushed prices 3-4 % off their fundamental.)
			qty, limit = int64(float64(qty)*min(4, max(1, math.Abs(sig)/th))), 40
		}
		switch {
		case sig > th && ag.inv[a] < limit:
			s.submit(i, a, book.Order{Side: book.Buy, Type: book.Market, Qty: qty})
		case sig < -th && ag.inv[a] > -limit:
			s.submit(i, a, book.Order{Side: book.Sell, Type: book.Market, Qty: qty})
		}
	case MarketMaker:
		s.makeMarket(a, i)
	case StopLoss:
		if ag.stop[a] == 0 { // stopped out: buy back once the market is calm again
			if st.volRatio() > 2 || st.toxicity() > 0.5 {
				return
			}
			s.submit(i, a, book.Order{Side: book.Buy, Type: book.Market, Qty: stopLots(ag.thresh[a])})
		}
		// The stop trails the price up, never down.
		ag.stop[a] = max(ag.stop[a], s.stopPrice(i, ag.thresh[a]))
		st.maxStop = max(st.maxStop, ag.stop[a])
	}
}

// makeMarket is a market maker's decision. Its half-spread grows with the
// volatility it has just seen against what it is used to and with the
// toxicity of the order flow (how one-sided the aggressors are), its size
// shrinks with both, it stops quoting the side that would add to a large
// inventory, and when volatility or toxicity passes its own limit it pulls
// both quotes and sheds inventory at market: the liquidity withdrawal of
// 6 May 2010, when the market makers of the E-mini became net sellers.
func (s *Sim) makeMarket(a int32, i int) {
	st := &s.inst[i]
	ag := &s.ag
	s.cancel(i, &ag.order[a])
	s.cancel(i, &ag.order2[a])
	vr, tox := st.volRatio(), st.toxicity()
	th := float64(ag.thresh[a])
	const invLimit = 40
	inv := ag.inv[a]
	if vr > 2.5+2*th || tox > 0.45+0.25*th {
		if inv > invLimit/2 {
			s.submit(i, a, book.Order{Side: book.Sell, Type: book.Market, Qty: int64(min(inv-invLimit/4, 10))})
		} else if inv < -invLimit/2 {
			s.submit(i, a, book.Order{Side: book.Buy, Type: book.Market, Qty: int64(min(-inv-invLimit/4, 10))})
		}
		return
	}
	widen := (1 + max(0, vr-1)) * (1 + 3*tox*tox)
	half := max(1, int64(st.scale*th*0.6*widen))
	skew := int64(float64(inv) / 10 * st.scale / 4)
	center := st.ref - skew
	qty := max(1, int64(float64(5+s.rng.IntN(10))/widen))
	if inv < invLimit {
		ag.order[a] = s.submit(i, a, book.Order{Side: book.Buy, Type: book.Limit, Price: center - half, Qty: qty})
	}
	if inv > -invLimit {
		ag.order2[a] = s.submit(i, a, book.Order{Side: book.Sell, Type: book.Limit, Price: center + half, Qty: qty})
	}
}

// stopLots is the position of a stop-loss holder.
func stopLots(thresh float32) int64 { return 2 + int64(6*(thresh-0.5)) }

// stopPrice is where a holder with this threshold sets its stop on
// instrument i: 0.6 % to 3 % below the reference price.
func (s *Sim) stopPrice(i int, thresh float32) int64 {
	d := 0.006 * (1 + 4*(float64(thresh)-0.5))
	return int64(float64(s.inst[i].ref) * (1 - d))
}

// triggerStops sells at market for every holder on instrument i whose stop
// the last trade has fallen through. Their sales push the price through
// the next stops: the cascade. It runs every step but scans the holders
// only when the last trade is below the highest stop.
func (s *Sim) triggerStops(i int) {
	st := &s.inst[i]
	if st.last == 0 || st.last > st.maxStop {
		return
	}
	ag := &s.ag
	list := ag.byInst[i][StopLoss]
	st.maxStop = 0
	for _, a := range list {
		if ag.stop[a] == 0 {
			continue
		}
		if st.last <= ag.stop[a] {
			ag.stop[a] = 0
			if ag.inv[a] > 0 {
				s.submit(i, a, book.Order{Side: book.Sell, Type: book.Market, Qty: int64(ag.inv[a])})
			}
			continue
		}
		st.maxStop = max(st.maxStop, ag.stop[a])
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
