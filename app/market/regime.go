package market

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Regime is a state of the whole market. Regimes follow a Markov chain, or a
// forced Script.
type Regime uint8

// The four regimes, from quiet to extreme.
const (
	Calm Regime = iota
	Volatile
	Crisis
	BlackSwan
	numRegimes
)

var regimeNames = [numRegimes]string{"calm", "volatile", "crisis", "black_swan"}

func (r Regime) String() string {
	if r < numRegimes {
		return regimeNames[r]
	}
	return "regime(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText writes the regime's name, so JSON shows "crisis", not 2.
func (r Regime) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a regime's name.
func (r *Regime) UnmarshalText(b []byte) error {
	x, err := ParseRegime(string(b))
	if err != nil {
		return err
	}
	*r = x
	return nil
}

// ParseRegime reads a regime's name: calm, volatile, crisis or black_swan.
func ParseRegime(s string) (Regime, error) {
	for i, n := range regimeNames {
		if strings.EqualFold(s, n) {
			return Regime(i), nil
		}
	}
	return 0, fmt.Errorf("unknown regime %q (choose calm, volatile, crisis or black_swan)", s)
}

// RegimeEffect is how a regime changes every instrument's latent price.
type RegimeEffect struct {
	Vol      float64 // multiplies the GARCH volatility
	Jumps    float64 // multiplies the jump intensity
	Drift    float64 // annualised drift added for equities and crypto (not FX)
	CorrPush float64 // 0..1: correlations move this far toward one
	Days     float64 // mean time spent in the regime before leaving, in days
}

// regimeEffects are the presets. Time is spread so that the market is calm
// about 3/4 of the time, volatile about 1/5, in crisis about 1/20, and in a
// black swan a few days a decade.
var regimeEffects = [numRegimes]RegimeEffect{
	Calm:      {Vol: 0.85, Jumps: 0.6, Drift: 0.04, CorrPush: 0, Days: 250},
	Volatile:  {Vol: 1.25, Jumps: 1.5, Drift: -0.05, CorrPush: 0.1, Days: 35},
	Crisis:    {Vol: 1.9, Jumps: 4, Drift: -0.3, CorrPush: 0.55, Days: 12},
	BlackSwan: {Vol: 3.2, Jumps: 12, Drift: -1.5, CorrPush: 0.85, Days: 3},
}

// regimeExits[r][s] is the probability that, on leaving r, the chain goes to s.
var regimeExits = [numRegimes][numRegimes]float64{
	Calm:      {0, 0.93, 0.06, 0.01},
	Volatile:  {0.72, 0, 0.26, 0.02},
	Crisis:    {0.15, 0.70, 0, 0.15},
	BlackSwan: {0, 0.30, 0.70, 0},
}

// Effect returns the regime's preset effect.
func (r Regime) Effect() RegimeEffect { return regimeEffects[r] }

// nextRegime steps the chain over dt days: it leaves r with probability
// 1-exp(-dt/Days) and then picks the next regime by regimeExits.
func nextRegime(r Regime, dt float64, rng *rand.Rand) Regime {
	if rng.Float64() >= -math.Expm1(-dt/regimeEffects[r].Days) {
		return r
	}
	u := rng.Float64()
	for s, p := range regimeExits[r] {
		if u < p {
			return Regime(s)
		}
		u -= p
	}
	return r
}

// stationaryRegimes returns the long-run share of time spent in each regime
// by iterating the daily transition matrix.
func stationaryRegimes() [numRegimes]float64 {
	var p [numRegimes][numRegimes]float64
	for r := range numRegimes {
		leave := -math.Expm1(-1 / regimeEffects[r].Days)
		p[r][r] = 1 - leave
		for s := range numRegimes {
			p[r][s] += leave * regimeExits[r][s]
		}
	}
	pi := [numRegimes]float64{1}
	for range 20000 {
		var next [numRegimes]float64
		for r := range numRegimes {
			for s := range numRegimes {
				next[s] += pi[r] * p[r][s]
			}
		}
		pi = next
	}
	return pi
}

// ScriptStep forces the regime from a moment on. Shock, when not zero, moves
// every latent price at that moment by Shock daily standard deviations of the
// instrument (negative for a fall), the way a flash crash does.
type ScriptStep struct {
	At     time.Duration `json:"at"` // from the start of the simulation
	Regime Regime        `json:"regime"`
	Shock  float64       `json:"shock,omitempty"`
	Auto   bool          `json:"auto,omitempty"` // hand the regime back to the Markov chain
}

// Script is a forced sequence of regimes, sorted by time.
type Script []ScriptStep

// ParseScript reads a script such as
//
//	calm; 10:30 black_swan shock=-6; 10:40 crisis; 11:30 volatile; 13:00 calm
//
// Steps are separated by ";" or newlines. Each step is an optional time, a
// regime (or "auto" to hand back to the Markov chain) and an optional
// shock=N in daily standard deviations. A time "HH:MM" is that clock time on
// the first simulated day (start gives the day and the time the simulation
// begins); "+90m" or "+2h" is an offset from the start. A step without a time
// starts at once.
func ParseScript(s string, start time.Time) (Script, error) {
	var out Script
	midnight := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, start.Location())
	for i, raw := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		fields := strings.Fields(raw)
		if len(fields) == 0 {
			continue
		}
		var st ScriptStep
		n := i + 1
		if f := fields[0]; strings.HasPrefix(f, "+") {
			d, err := time.ParseDuration(f[1:])
			if err != nil || d < 0 {
				return nil, fmt.Errorf("script step %d: %q is not an offset like +90m", n, f)
			}
			st.At, fields = d, fields[1:]
		} else if strings.Contains(f, ":") {
			t, err := time.Parse("15:04", f)
			if err != nil {
				return nil, fmt.Errorf("script step %d: %q is not a time like 10:30", n, f)
			}
			at := midnight.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute)
			if at.Before(start) {
				return nil, fmt.Errorf("script step %d: %s is before the simulation starts at %s", n, f, start.Format("15:04"))
			}
			st.At, fields = at.Sub(start), fields[1:]
		}
		if len(fields) == 0 {
			return nil, fmt.Errorf("script step %d: a time needs a regime after it", n)
		}
		if strings.EqualFold(fields[0], "auto") {
			st.Auto = true
		} else {
			r, err := ParseRegime(fields[0])
			if err != nil {
				return nil, fmt.Errorf("script step %d: %w", n, err)
			}
			st.Regime = r
		}
		for _, f := range fields[1:] {
			v, ok := strings.CutPrefix(f, "shock=")
			x, err := strconv.ParseFloat(v, 64)
			if !ok || err != nil || math.IsNaN(x) || math.Abs(x) > 50 {
				return nil, fmt.Errorf("script step %d: %q is not shock=N with N between -50 and 50 daily standard deviations", n, f)
			}
			st.Shock = x
		}
		if len(out) > 0 && st.At < out[len(out)-1].At {
			return nil, fmt.Errorf("script step %d starts before the step before it", n)
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the script is empty")
	}
	return out, nil
}

// FlashCrash is the script the tournament uses: calm, a flash crash at
// 10:30 on the first day, then recovery through crisis and volatile to calm.
// start is when the simulation starts, before 10:30.
func FlashCrash(start time.Time) (Script, error) {
	return ParseScript("calm; 10:30 black_swan shock=-6; 10:40 crisis; 11:30 volatile; 13:00 calm", start)
}
