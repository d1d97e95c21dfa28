package supply

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
)

// View is what a node's agent knows when it places its order.
type View struct {
	T    int
	Node string
	// Stock on hand, what it owes downstream, what it has on order, and
	// its inventory position (stock − owed + on order).
	Stock, Owed, OnOrder, Position, InTransit float64
	// Incoming is its own demand signal: the orders its buyers placed that
	// reached it last period, plus the market demand it served.
	Incoming float64
	// POS is last period's point-of-sale demand in this node's part of the
	// flow, when the coordinator shares it (Shared).
	POS    float64
	Shared bool
	// Mean is the node's normal flow (its part of long-run mean demand).
	Mean float64
	// Cover is the periods an order must cover: order delay, lead time and
	// the review period, averaged over its lanes by share.
	Cover float64
	// Tier is the distance in lanes from the market (0: retailer).
	Tier      int
	LastOrder float64
	Disrupted bool
}

// Policy decides one node's total order each period and says why.
type Policy interface {
	Order(v View) (qty float64, why string)
}

// Policy names.
const (
	PolicyBaseStock = "basestock"
	PolicySterman   = "sterman"
	PolicyLearned   = "learned"
)

// PolicyNames lists the selectable policies.
var PolicyNames = []string{PolicyBaseStock, PolicySterman, PolicyLearned}

// Forecast is a one-period-ahead demand forecast updated from observations.
type Forecast interface {
	Observe(x float64)
	Value() float64
}

// Smoothing is exponential smoothing with weight Alpha on the newest value.
type Smoothing struct {
	Alpha, F float64
}

// Observe updates the forecast.
func (s *Smoothing) Observe(x float64) { s.F = s.Alpha*x + (1-s.Alpha)*s.F }

// Value is the forecast.
func (s *Smoothing) Value() float64 { return s.F }

// MovingAverage is the mean of the last P observations (seeded with the
// prior mean until P have been seen).
type MovingAverage struct {
	P    int
	xs   []float64
	i    int
	full bool
	sum  float64
}

// NewMovingAverage starts a P-period moving average at mean.
func NewMovingAverage(p int, mean float64) *MovingAverage {
	m := &MovingAverage{P: p, xs: make([]float64, p)}
	for i := range m.xs {
		m.xs[i] = mean
	}
	m.sum = mean * float64(p)
	return m
}

// Observe adds x, dropping the oldest value.
func (m *MovingAverage) Observe(x float64) {
	m.sum += x - m.xs[m.i]
	m.xs[m.i] = x
	m.i = (m.i + 1) % m.P
}

// Value is the average.
func (m *MovingAverage) Value() float64 { return m.sum / float64(m.P) }

// BaseStock orders up to a level that covers the forecast over the cover
// time plus a constant safety stock: level = Cover·F + Z·√(Cover·Mean)
// (Poisson-like variability of the normal flow). Keeping the safety stock
// constant is what makes the Chen et al. (2000) formula exact for it. The
// forecast F reads the shared point-of-sale demand when the coordinator
// shares it, else the node's own incoming orders.
type BaseStock struct {
	Z  float64
	F  Forecast
	fk string
}

// Order is max(0, level − position).
func (b *BaseStock) Order(v View) (float64, string) {
	src := "its incoming orders"
	x := v.Incoming
	if v.Shared {
		x, src = v.POS, "shared point-of-sale demand"
	}
	if v.T > 0 {
		b.F.Observe(x)
	}
	f := b.F.Value()
	level := v.Cover*f + b.Z*math.Sqrt(v.Cover*v.Mean)
	q := max(0, level-v.Position)
	return q, fmt.Sprintf("base-stock: forecast %.1f from %s (%s), cover %.1f periods, level %.0f − position %.0f → order %.0f",
		f, src, b.fk, v.Cover, level, v.Position, math.RoundToEven(q))
}

// Sterman is the anchoring-and-adjustment ordering rule Sterman (1989)
// fitted to people playing the beer game:
//
//	order = max(0, L̂ + αS·(S′ − S − β·SL)),  L̂ ← θ·incoming + (1−θ)·L̂
//
// with S the effective inventory (stock − backlog), SL the supply line
// (on order), and his mean estimates θ = 0.36, αS = 0.26, β = 0.34,
// S′ = 17 cases at the beer game's 4 cases a week, scaled here with the
// node's normal flow. β < 1 — the supply line underweighted — is what
// makes the bullwhip.
type Sterman struct {
	Theta, AlphaS, Beta, SPrime float64
	L                           float64
}

// NewSterman returns the rule with Sterman's estimates for a node whose
// normal flow starts at mean0.
func NewSterman(mean0 float64) *Sterman {
	return &Sterman{Theta: 0.36, AlphaS: 0.26, Beta: 0.34, SPrime: 17 * mean0 / 4, L: mean0}
}

// Order applies the rule.
func (s *Sterman) Order(v View) (float64, string) {
	if v.T > 0 {
		s.L = s.Theta*v.Incoming + (1-s.Theta)*s.L
	}
	eff := v.Stock - v.Owed
	q := max(0, s.L+s.AlphaS*(s.SPrime-eff-s.Beta*v.OnOrder))
	return q, fmt.Sprintf("anchoring and adjustment: expected demand %.1f + %.2f·(goal %.0f − stock %.0f − %.2f·supply line %.0f) → order %.0f",
		s.L, s.AlphaS, s.SPrime, eff, s.Beta, v.OnOrder, math.RoundToEven(q))
}

// Learned is a controller trained by package marl on its four-echelon
// supply world, applied to one node: the node's observation is built as
// that world builds an echelon's (seven values in units of mean demand:
// stock, backlog, incoming order, goods in transit, last order, position,
// disruption), the node plays the echelon of its tier (retailer 0 …
// supplier 3), and the chosen delta (marl.SupplyDeltas, in units of the
// world's mean demand of 8) is added to the incoming order.
type Learned struct {
	C     marl.Controller
	Label string
	rng   *rand.Rand
}

// learnedMean is the mean demand of marl's supply world, in whose units
// its deltas are.
const learnedMean = 8.0

// Order asks the controller.
func (l *Learned) Order(v View) (float64, string) {
	mu := max(v.Mean, 1e-9)
	dis := 0.0
	if v.Disrupted {
		dis = 1
	}
	o := []float64{v.Stock / mu, v.Owed / mu, v.Incoming / mu, v.InTransit / mu, v.LastOrder / mu, v.Position / mu, dis}
	obs := [][]float64{o, o, o, o}
	avail := make([][]bool, 4)
	for i := range avail {
		avail[i] = make([]bool, len(marl.SupplyDeltas))
		for j := range avail[i] {
			avail[i][j] = true
		}
	}
	state := append(append(append(append(append([]float64{}, o...), o...), o...), o...), v.Incoming/mu)
	slot := min(v.Tier, 3)
	a := l.C.Actions(obs, state, avail, true, l.rng)[slot]
	delta := float64(marl.SupplyDeltas[a]) * mu / learnedMean
	q := max(0, v.Incoming+delta)
	return q, fmt.Sprintf("learned (%s) as echelon %d: incoming %.0f %+.0f → order %.0f", l.Label, slot, v.Incoming, delta, math.RoundToEven(q))
}

// Strategy is how a team plays: a policy per ordering role, whether the
// coordinator shares point-of-sale demand, arbitrates scarce capacity and
// reroutes around closed lanes, and the base-stock settings.
type Strategy struct {
	Name        string          `json:"name"`
	Policies    map[Role]string `json:"policies"`
	Coordinated bool            `json:"coordinated"`
	// Z is the base-stock safety factor.
	Z float64 `json:"z"`
	// Forecast is the base-stock forecast: "es" (exponential smoothing,
	// weight Alpha) or "ma" (moving average of Window periods).
	Forecast string  `json:"forecast"`
	Alpha    float64 `json:"alpha"`
	Window   int     `json:"window"`
}

// Uniform returns a strategy with policy for every ordering role.
func Uniform(name, policy string, coordinated bool, z float64) Strategy {
	p := map[Role]string{}
	for _, r := range []Role{Manufacturer, Distributor, Retailer} {
		p[r] = policy
	}
	return Strategy{Name: name, Policies: p, Coordinated: coordinated, Z: z, Forecast: "es", Alpha: 0.3}
}

// Validate checks the strategy's names and numbers.
func (s Strategy) Validate() error {
	for r, p := range s.Policies {
		switch r {
		case Manufacturer, Distributor, Retailer:
		default:
			return errs.Errorf(errs.Invalid, "role %q places no orders (roles that do: manufacturer, distributor, retailer)", r)
		}
		switch p {
		case PolicyBaseStock, PolicySterman, PolicyLearned:
		default:
			return errs.Errorf(errs.Invalid, "unknown policy %q (known: basestock, sterman, learned)", p)
		}
	}
	if !(s.Z >= 0 && s.Z <= 10) {
		return errs.Errorf(errs.Invalid, "the safety factor must be between 0 and 10, not %g", s.Z)
	}
	switch s.Forecast {
	case "", "es":
		if !(s.Alpha > 0 && s.Alpha <= 1) {
			return errs.Errorf(errs.Invalid, "the smoothing weight must be in (0, 1], not %g", s.Alpha)
		}
	case "ma":
		if s.Window < 1 || s.Window > 520 {
			return errs.Errorf(errs.Invalid, "the moving-average window must be 1 to 520 periods, not %d", s.Window)
		}
	default:
		return errs.Errorf(errs.Invalid, "unknown forecast %q (known: es, ma)", s.Forecast)
	}
	return nil
}

// newPolicy builds node's policy; mean0 is its normal flow at the start
// and mean its long-run one.
func (s Strategy) newPolicy(role Role, mean0, mean float64, learned marl.Controller, label string, seed uint64) (Policy, error) {
	name := s.Policies[role]
	if name == "" {
		name = PolicyBaseStock
	}
	switch name {
	case PolicySterman:
		return NewSterman(mean0), nil
	case PolicyLearned:
		if learned == nil {
			return nil, errs.Errorf(errs.Unavailable, "no learned policy is available: train a multi-agent run on the supply world (qmix, vdn or maddpg) on the Learning page first")
		}
		return &Learned{C: learned, Label: label, rng: rand.New(rand.NewPCG(seed, 0x6c6561726e))}, nil
	default:
		if s.Forecast == "ma" {
			return &BaseStock{Z: s.Z, F: NewMovingAverage(s.Window, mean0), fk: fmt.Sprintf("moving average of %d", s.Window)}, nil
		}
		return &BaseStock{Z: s.Z, F: &Smoothing{Alpha: s.Alpha, F: mean0}, fk: fmt.Sprintf("smoothing %.2g", s.Alpha)}, nil
	}
}
