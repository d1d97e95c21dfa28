package supply

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/stats"
)

// Scenario is a network and the crises a comparison plays it under.
type Scenario struct {
	Name   string   `json:"name"`
	Title  string   `json:"title"`
	Preset string   `json:"preset"`
	Crises []Crisis `json:"crises,omitempty"`
	// RandomRate, when positive, draws crises per seed (RandomCrises from
	// period 10).
	RandomRate float64 `json:"random_rate,omitempty"`
	// Noise adds Poisson noise to the beer game's step.
	Noise bool `json:"noise,omitempty"`
}

// Scenarios are the comparison's named scenarios.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "port-closure", Title: "global network, the pacific lane closed weeks 20–31 (+4 weeks lead time after)", Preset: "global",
			Crises: []Crisis{{Kind: PortClosure, Lane: "pacific", Start: 20, End: 32, Capacity: 0, Lead: 4, Origin: "script"}}},
		{Name: "demand-spike", Title: "global network, demand doubled weeks 20–27", Preset: "global",
			Crises: []Crisis{{Kind: DemandSpike, Start: 20, End: 28, Factor: 2, Origin: "script"}}},
		{Name: "supplier-failure", Title: "global network, the Asian factory down weeks 20–29", Preset: "global",
			Crises: []Crisis{{Kind: SupplierFailure, Node: "factory-asia", Start: 20, End: 30, Capacity: 0, Origin: "script"}}},
		{Name: "logistics-loss", Title: "global network, every lane at half capacity weeks 20–34", Preset: "global",
			Crises: []Crisis{{Kind: LogisticsLoss, Start: 20, End: 35, Capacity: 0.5, Origin: "script"}}},
		{Name: "random", Title: "global network, random crises (5 % of weeks from week 10)", Preset: "global", RandomRate: 0.05},
		{Name: "beer", Title: "beer game: Sterman's step from 4 to 8 cases, with Poisson noise", Preset: "beer", Noise: true},
		{Name: "orgym", Title: "OR-Gym NetworkManagement, Poisson demand of 20, no crisis", Preset: "orgym"},
	}
}

// Limits on a scenario script.
const (
	MaxScriptBytes  = 1 << 20
	MaxScriptCrises = 1000
)

// ReadScenario reads a scenario script, the scriptable form of crises:
// one JSON object with a name, a preset and its crises (and optionally a
// title, random_rate and noise), e.g.
//
//	{"name": "suez", "preset": "global", "crises": [
//	  {"kind": "port_closure", "lane": "pacific", "start": 15, "end": 24, "capacity": 0, "lead": 5},
//	  {"kind": "demand_spike", "start": 30, "end": 34, "factor": 1.8}]}
//
// Unknown fields, an unknown preset and impossible crises are refused with
// errs.Invalid.
func ReadScenario(r io.Reader) (Scenario, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxScriptBytes+1))
	if err != nil {
		return Scenario{}, fmt.Errorf("read the scenario script: %w", err)
	}
	if len(data) > MaxScriptBytes {
		return Scenario{}, errs.Errorf(errs.Invalid, "a scenario script is at most %d bytes", MaxScriptBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		return Scenario{}, errs.Wrap(errs.Invalid, err, "the scenario script is not one JSON object of name, preset and crises (%v)", err)
	}
	if dec.More() {
		return Scenario{}, errs.Errorf(errs.Invalid, "the scenario script holds more than one JSON object")
	}
	if sc.Name == "" || len(sc.Name) > 64 {
		return Scenario{}, errs.Errorf(errs.Invalid, "a scenario needs a name of 1 to 64 characters")
	}
	n, err := sc.network()
	if err != nil {
		return Scenario{}, errs.Errorf(errs.Invalid, "scenario %s: no network preset %q (known: %s)", sc.Name, sc.Preset, strings.Join(PresetNames(), ", "))
	}
	if len(sc.Crises) > MaxScriptCrises {
		return Scenario{}, errs.Errorf(errs.Invalid, "a scenario holds at most %d crises, not %d", MaxScriptCrises, len(sc.Crises))
	}
	if !(sc.RandomRate >= 0 && sc.RandomRate <= 0.5) {
		return Scenario{}, errs.Errorf(errs.Invalid, "the random-crisis rate must be between 0 and 0.5 per period, not %g", sc.RandomRate)
	}
	for i := range sc.Crises {
		c := &sc.Crises[i]
		if c.Origin == "" {
			c.Origin = "script"
		}
		if err := c.Validate(n); err != nil {
			return Scenario{}, errs.Wrap(errs.Invalid, err, "crisis %d of the script: %s", i+1, errs.MessageOf(err))
		}
		if c.Start >= n.Periods {
			return Scenario{}, errs.Errorf(errs.Invalid, "crisis %d of the script starts in period %d, after the %d periods of a %s run", i+1, c.Start, n.Periods, n.Name)
		}
	}
	if sc.Title == "" {
		sc.Title = fmt.Sprintf("%s network, %d scripted crises", sc.Preset, len(sc.Crises))
	}
	return sc, nil
}

// ScenarioByName finds a scenario.
func ScenarioByName(name string) (Scenario, error) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, errs.Errorf(errs.NotFound, "no scenario %q (known: port-closure, demand-spike, supplier-failure, logistics-loss, random, beer, orgym)", name)
}

func (sc Scenario) network() (*Network, error) {
	n, err := Preset(sc.Preset)
	if err != nil {
		return nil, err
	}
	if sc.Noise {
		n.Markets[0].Demand.Noise = true
	}
	return n, nil
}

func (sc Scenario) crises(n *Network, seed uint64) []Crisis {
	if sc.RandomRate > 0 {
		return RandomCrises(n, seed, 10, sc.RandomRate)
	}
	return sc.Crises
}

// Arms of the comparison.
const (
	ArmUncoordinated = "uncoordinated" // Sterman's rule, local information
	ArmBaseStock     = "basestock"     // tuned base-stock, local information
	ArmCoordinated   = "coordinated"   // tuned base-stock + shared POS, arbitration, rerouting
	ArmLearned       = "learned"       // marl's learned controller, local information
)

// Seeds: evaluation seeds are 1..N; base-stock is tuned on others.
const tuneSeedBase = 1_000_000

// SafetyGrid are the safety factors tuning tries.
var SafetyGrid = []float64{0, 0.5, 1, 1.5, 2, 2.5, 3, 4}

// CompareConfig is what a comparison runs.
type CompareConfig struct {
	Scenario  string
	Seeds     int
	TuneSeeds int // seeds used to tune base-stock (default 10), never evaluated on
	// Learned is the learned controller (nil: the learned arm is left out
	// and the comparison says why); LearnedLabel names it.
	Learned      marl.Controller
	LearnedLabel string
	// Progress, if set, is told how many of total runs are done.
	Progress func(done, total int)
	// Custom, when set, is played instead of the named Scenario (a
	// script read by ReadScenario).
	Custom *Scenario
}

// ArmResult is one arm over every seed.
type ArmResult struct {
	Arm      string    `json:"arm"`
	Strategy Strategy  `json:"strategy"`
	Costs    []float64 `json:"costs"` // per seed, in seed order
	Cost     float64   `json:"cost"`
	CostCI95 float64   `json:"cost_ci95"`
	FillRate float64   `json:"fill_rate"`
	FillCI95 float64   `json:"fill_ci95"`
	CSL      float64   `json:"cycle_service"`
	Unmet    float64   `json:"unmet"`
	// Bullwhip is the mean over seeds of the top ordering echelon's ratio.
	Bullwhip     float64 `json:"bullwhip"`
	BullwhipCI95 float64 `json:"bullwhip_ci95"`
	// Recover is the mean time to recover (periods after each crisis's
	// end), over the crises that recovered; Unrecovered counts the rest.
	Recover     float64 `json:"time_to_recover"`
	Survive     float64 `json:"time_to_survive"`
	Unrecovered int     `json:"unrecovered"`
	Disruptions int     `json:"disruptions"` // crises measured, over all seeds
	TwinCost    float64 `json:"twin_cost"`
}

// Paired compares two arms seed by seed.
type Paired struct {
	Arm    string `json:"arm"`
	Versus string `json:"versus"`
	// MeanDiff is the mean of arm − versus cost over seeds, with its CI.
	MeanDiff float64 `json:"mean_diff"`
	DiffCI95 float64 `json:"diff_ci95"`
	// Ratio is mean cost of arm / mean cost of versus, with a paired
	// bootstrap 95 % interval.
	Ratio   float64 `json:"ratio"`
	RatioLo float64 `json:"ratio_lo"`
	RatioHi float64 `json:"ratio_hi"`
	P       float64 `json:"p"`      // paired t-test, two-sided
	PHolm   float64 `json:"p_holm"` // Holm-adjusted over this comparison's pairs
	Wins    int     `json:"wins"`   // seeds where arm cost less
}

// Comparison is the whole result.
type Comparison struct {
	Scenario    Scenario    `json:"scenario"`
	Seeds       int         `json:"seeds"`
	TuneSeeds   int         `json:"tune_seeds"`
	Arms        []ArmResult `json:"arms"`
	Paired      []Paired    `json:"paired"`
	Learned     string      `json:"learned"` // what the learned arm ran, or why it is missing
	ElapsedSecs float64     `json:"elapsed_s"`
	Periods     int         `json:"periods"` // simulated, twins and tuning included
}

// MaxSeeds caps one comparison.
const MaxSeeds = 1000

// Compare plays every arm on seeds 1..Seeds of the scenario (each with its
// twin), base-stock tuned beforehand on other seeds, and pairs the arms by
// seed.
func Compare(ctx context.Context, cfg CompareConfig) (Comparison, error) {
	start := time.Now()
	var sc Scenario
	var err error
	if cfg.Custom != nil {
		sc = *cfg.Custom
	} else if sc, err = ScenarioByName(cfg.Scenario); err != nil {
		return Comparison{}, err
	}
	if cfg.Seeds < 2 || cfg.Seeds > MaxSeeds {
		return Comparison{}, errs.Errorf(errs.Invalid, "a comparison needs 2 to %d seeds, not %d", MaxSeeds, cfg.Seeds)
	}
	if cfg.TuneSeeds == 0 {
		cfg.TuneSeeds = 10
	}
	if cfg.TuneSeeds < 1 || cfg.TuneSeeds > MaxSeeds {
		return Comparison{}, errs.Errorf(errs.Invalid, "tuning needs 1 to %d seeds, not %d", MaxSeeds, cfg.TuneSeeds)
	}
	n, err := sc.network()
	if err != nil {
		return Comparison{}, err
	}
	arms := []Strategy{Uniform(ArmUncoordinated, PolicySterman, false, 0), Uniform(ArmBaseStock, PolicyBaseStock, false, 0), Uniform(ArmCoordinated, PolicyBaseStock, true, 0)}
	cmp := Comparison{Scenario: sc, Seeds: cfg.Seeds, TuneSeeds: cfg.TuneSeeds}
	if cfg.Learned != nil {
		arms = append(arms, Uniform(ArmLearned, PolicyLearned, false, 0))
		cmp.Learned = cfg.LearnedLabel
	} else {
		cmp.Learned = "left out: no learned policy was given (train a multi-agent run on the supply world first)"
	}
	total := 2*len(SafetyGrid)*cfg.TuneSeeds + len(arms)*cfg.Seeds
	done := 0
	tick := func() {
		done++
		if cfg.Progress != nil {
			cfg.Progress(done, total)
		}
	}
	for i := 1; i <= 2; i++ { // the two base-stock arms
		z, periods, err := tune(ctx, n, sc, arms[i], cfg.TuneSeeds, tick)
		if err != nil {
			return Comparison{}, err
		}
		arms[i].Z = z
		cmp.Periods += periods
	}
	for _, a := range arms {
		ar := ArmResult{Arm: a.Name, Strategy: a}
		var fills, csl, unmet, bw, rec, surv, twin []float64
		for s := 1; s <= cfg.Seeds; s++ {
			if err := ctx.Err(); err != nil {
				return Comparison{}, err
			}
			seed := uint64(s)
			r, err := Play(n, seed, a, sc.crises(n, seed), cfg.Learned, cfg.LearnedLabel)
			if err != nil {
				return Comparison{}, err
			}
			cmp.Periods += 2 * n.Periods
			k := r.KPIs
			ar.Costs = append(ar.Costs, k.TotalCost)
			fills, csl, unmet = append(fills, k.FillRate), append(csl, k.CycleService), append(unmet, k.Unmet)
			bw = append(bw, TopBullwhip(k))
			twin = append(twin, r.Twin.TotalCost)
			ar.Disruptions += len(k.Disruptions)
			for _, d := range k.Disruptions {
				surv = append(surv, float64(d.TimeToSurvive))
				if d.Recovered {
					rec = append(rec, float64(d.TimeToRecover))
				} else {
					ar.Unrecovered++
				}
			}
			tick()
		}
		ar.Cost, ar.CostCI95 = stats.MeanCI95(ar.Costs)
		ar.FillRate, ar.FillCI95 = stats.MeanCI95(fills)
		ar.CSL, _ = stats.MeanCI95(csl)
		ar.Unmet, _ = stats.MeanCI95(unmet)
		ar.Bullwhip, ar.BullwhipCI95 = stats.MeanCI95(bw)
		ar.Recover, _ = stats.MeanCI95(rec)
		ar.Survive, _ = stats.MeanCI95(surv)
		ar.TwinCost, _ = stats.MeanCI95(twin)
		cmp.Arms = append(cmp.Arms, ar)
	}
	byName := map[string][]float64{}
	for _, a := range cmp.Arms {
		byName[a.Arm] = a.Costs
	}
	pairs := [][2]string{{ArmCoordinated, ArmUncoordinated}, {ArmBaseStock, ArmUncoordinated}, {ArmCoordinated, ArmBaseStock}}
	if cfg.Learned != nil {
		pairs = append(pairs, [2]string{ArmLearned, ArmUncoordinated})
	}
	var ps []float64
	for i, pr := range pairs {
		a, b := byName[pr[0]], byName[pr[1]]
		diffs := make([]float64, len(a))
		p := Paired{Arm: pr[0], Versus: pr[1]}
		for j := range a {
			diffs[j] = a[j] - b[j]
			if diffs[j] < 0 {
				p.Wins++
			}
		}
		p.MeanDiff, p.DiffCI95 = stats.MeanCI95(diffs)
		p.Ratio, p.RatioLo, p.RatioHi = ratioCI95(a, b, 2000, uint64(i+1))
		p.P = pairedT(diffs)
		ps = append(ps, p.P)
		cmp.Paired = append(cmp.Paired, p)
	}
	for i, q := range holm(ps) {
		cmp.Paired[i].PHolm = q
	}
	cmp.ElapsedSecs = time.Since(start).Seconds()
	return cmp, nil
}

// tune picks the safety factor of SafetyGrid with the least mean cost on
// the tuning seeds (never the evaluation seeds).
func tune(ctx context.Context, n *Network, sc Scenario, strat Strategy, seeds int, tick func()) (z float64, periods int, err error) {
	best := math.Inf(1)
	for _, cand := range SafetyGrid {
		strat.Z = cand
		var c float64
		for s := range seeds {
			if err := ctx.Err(); err != nil {
				return 0, 0, err
			}
			seed := uint64(tuneSeedBase + s)
			r, err := Play(n, seed, strat, sc.crises(n, seed), nil, "")
			if err != nil {
				return 0, 0, err
			}
			c += r.KPIs.TotalCost
			periods += 2 * n.Periods
			tick()
		}
		if c < best {
			best, z = c, cand
		}
	}
	return z, periods, nil
}

// TopBullwhip is the mean bullwhip ratio of the ordering nodes furthest
// from the market, where the bullwhip is largest.
func TopBullwhip(k KPIs) float64 {
	top := -1
	for _, b := range k.Bullwhip {
		top = max(top, b.Tier)
	}
	var s float64
	var c int
	for _, b := range k.Bullwhip {
		if b.Tier == top && !math.IsNaN(b.Ratio) {
			s += b.Ratio
			c++
		}
	}
	if c == 0 {
		return 0
	}
	return s / float64(c)
}

// Arm returns the named arm's result.
func (c Comparison) Arm(name string) (ArmResult, bool) {
	for _, a := range c.Arms {
		if a.Arm == name {
			return a, true
		}
	}
	return ArmResult{}, false
}

// Pair returns the paired comparison of arm against versus.
func (c Comparison) Pair(arm, versus string) (Paired, bool) {
	for _, p := range c.Paired {
		if p.Arm == arm && p.Versus == versus {
			return p, true
		}
	}
	return Paired{}, false
}

// Summary is one line per arm and pair, for the terminal and the README.
func (c Comparison) Summary() string {
	out := fmt.Sprintf("%s — %d seeds (base-stock tuned on %d other seeds)\n", c.Scenario.Title, c.Seeds, c.TuneSeeds)
	for _, a := range c.Arms {
		out += fmt.Sprintf("  %-13s cost %8.1f ± %6.1f  fill %.3f ± %.3f  bullwhip %6.2f ± %5.2f  recover %.1f\n", a.Arm, a.Cost, a.CostCI95, a.FillRate, a.FillCI95, a.Bullwhip, a.BullwhipCI95, a.Recover)
	}
	for _, p := range c.Paired {
		out += fmt.Sprintf("  %s / %s: cost ratio %.3f [%.3f, %.3f], diff %.1f ± %.1f, wins %d/%d, p %.2g (Holm %.2g)\n", p.Arm, p.Versus, p.Ratio, p.RatioLo, p.RatioHi, p.MeanDiff, p.DiffCI95, p.Wins, c.Seeds, p.P, p.PHolm)
	}
	out += "  learned: " + c.Learned + "\n"
	return out
}
