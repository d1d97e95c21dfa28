package supply

import (
	"math"
	"math/rand/v2"

	"github.com/metastation/metastation/app/errs"
	"gonum.org/v1/gonum/stat/distuv"
)

// Demand is how a market's demand is drawn.
//   - "poisson": Poisson with mean Mean every period.
//   - "step": Before until period At, then After (Sterman's beer game: 4,
//     then 8 from week 5); with Noise each period is Poisson around it.
//   - "path": exactly Path, period by period (a run longer than Path
//     repeats its last value).
type Demand struct {
	Kind   string    `json:"kind"`
	Mean   float64   `json:"mean,omitempty"`
	Before float64   `json:"before,omitempty"`
	After  float64   `json:"after,omitempty"`
	At     int       `json:"at,omitempty"`
	Noise  bool      `json:"noise,omitempty"`
	Path   []float64 `json:"path,omitempty"`
}

// MaxDemand caps one period's mean demand.
const MaxDemand = 1e6

func (d Demand) validate() error {
	ok := func(v float64) bool { return v >= 0 && v <= MaxDemand && !math.IsNaN(v) }
	switch d.Kind {
	case "poisson":
		if !ok(d.Mean) {
			return errs.Errorf(errs.Invalid, "poisson demand needs a mean in [0, %g], not %g", MaxDemand, d.Mean)
		}
	case "step":
		if !ok(d.Before) || !ok(d.After) || d.At < 0 {
			return errs.Errorf(errs.Invalid, "step demand needs levels in [0, %g] and a period at least 0", MaxDemand)
		}
	case "path":
		if len(d.Path) == 0 {
			return errs.Errorf(errs.Invalid, "a demand path needs at least one period")
		}
		for _, v := range d.Path {
			if !ok(v) {
				return errs.Errorf(errs.Invalid, "a demand path's values must be in [0, %g]", MaxDemand)
			}
		}
	default:
		return errs.Errorf(errs.Invalid, "unknown demand kind %q (known: poisson, step, path)", d.Kind)
	}
	return nil
}

// MeanAt is the expected demand of period t.
func (d Demand) MeanAt(t int) float64 {
	switch d.Kind {
	case "poisson":
		return d.Mean
	case "step":
		if t < d.At {
			return d.Before
		}
		return d.After
	default:
		if t < len(d.Path) {
			return d.Path[t]
		}
		return d.Path[len(d.Path)-1]
	}
}

// LongRunMean is the demand the network is sized for: the mean after any
// step, the mean of a path.
func (d Demand) LongRunMean() float64 {
	switch d.Kind {
	case "poisson":
		return d.Mean
	case "step":
		return d.After
	default:
		var s float64
		for _, v := range d.Path {
			s += v
		}
		return s / float64(len(d.Path))
	}
}

// Draw returns periods values from the stream of seed.
func (d Demand) Draw(seed uint64, periods int) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x64656d616e64))
	out := make([]float64, periods)
	for t := range out {
		m := d.MeanAt(t)
		if d.Kind == "poisson" || (d.Kind == "step" && d.Noise) {
			out[t] = poisson(rng, m)
		} else {
			out[t] = m
		}
	}
	return out
}

func poisson(rng *rand.Rand, mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	return distuv.Poisson{Lambda: mean, Src: rng}.Rand()
}
