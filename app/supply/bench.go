package supply

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
)

// BenchConfig is what `metastation bench supply` measures.
type BenchConfig struct {
	// Scenario and Seeds are the comparison whose headline numbers the
	// bench reports (default port-closure over 30 seeds).
	Scenario string
	Seeds    int
	// PerPreset is the wall time spent playing each preset for its
	// periods/s (default 1 s).
	PerPreset time.Duration
	// ChenPeriods is the length of each Chen-bound run (default 20,000).
	ChenPeriods int
	// Learned, when set, adds the learned arm to the comparison.
	Learned      marl.Controller
	LearnedLabel string
	// Progress, if set, is told the stage and how far it is.
	Progress func(stage string, done, total int)
}

// ChenCheck is one measured bullwhip ratio against Chen et al.'s bound.
type ChenCheck struct {
	Forecast string  `json:"forecast"`
	Lead     int     `json:"lead"`
	Alpha    float64 `json:"alpha,omitempty"`
	Window   int     `json:"window,omitempty"`
	Measured float64 `json:"measured"`
	Bound    float64 `json:"bound"`
	Holds    bool    `json:"holds"`
}

// BenchResult is what one bench run measured. The first keys are the
// issue's; the rest say what they were measured on.
type BenchResult struct {
	PeriodsPerS              map[string]float64 `json:"periods_per_s"`
	CoordinatedCostRatio     float64            `json:"coordinated_cost_ratio"`
	CoordinatedCostRatioCI95 [2]float64         `json:"coordinated_cost_ratio_ci95"`
	BullwhipUncoordinated    float64            `json:"bullwhip_uncoordinated"`
	BullwhipCoordinated      float64            `json:"bullwhip_coordinated"`
	ChenBoundHolds           bool               `json:"chen_bound_holds"`

	Scenario               string      `json:"scenario"`
	Seeds                  int         `json:"seeds"`
	CostCoordinated        float64     `json:"cost_coordinated"`
	CostCoordinatedCI95    float64     `json:"cost_coordinated_ci95"`
	CostUncoordinated      float64     `json:"cost_uncoordinated"`
	CostUncoordinatedCI95  float64     `json:"cost_uncoordinated_ci95"`
	CoordinatedWins        int         `json:"coordinated_wins"`
	CoordinatedPHolm       float64     `json:"coordinated_p_holm"`
	BaseStockCostRatio     float64     `json:"basestock_cost_ratio"`
	BaseStockCostRatioCI95 [2]float64  `json:"basestock_cost_ratio_ci95"`
	Learned                string      `json:"learned"`
	CompareSeconds         float64     `json:"compare_s"`
	ComparePeriodsPerS     float64     `json:"compare_periods_per_s"`
	Chen                   []ChenCheck `json:"chen"`
	GOMAXPROCS             int         `json:"gomaxprocs"`
}

// chenCases are the forecasts and lead times the bench holds against
// Chen's bound: exponential smoothing and moving averages, short and long.
var chenCases = []ChenCheck{
	{Forecast: "es", Lead: 1, Alpha: 0.2}, {Forecast: "es", Lead: 3, Alpha: 0.3}, {Forecast: "es", Lead: 2, Alpha: 0.5},
	{Forecast: "ma", Lead: 1, Window: 5}, {Forecast: "ma", Lead: 3, Window: 10}, {Forecast: "ma", Lead: 4, Window: 20},
}

// chenTolerance is the sampling error allowed below the bound: over
// 20,000 periods the ratio of two sample variances is within ~3 % of its
// value.
const chenTolerance = 0.97

// Bench measures simulated periods per second on every preset (the six
// agents deciding, coordinated base-stock), runs the comparison and checks
// Chen's bound.
func Bench(ctx context.Context, cfg BenchConfig) (BenchResult, error) {
	if cfg.Scenario == "" {
		cfg.Scenario = "port-closure"
	}
	if cfg.Seeds == 0 {
		cfg.Seeds = 30
	}
	if cfg.PerPreset <= 0 {
		cfg.PerPreset = time.Second
	}
	if cfg.ChenPeriods == 0 {
		cfg.ChenPeriods = 20000
	}
	if _, err := ScenarioByName(cfg.Scenario); err != nil {
		return BenchResult{}, err
	}
	if cfg.Seeds < 2 || cfg.Seeds > MaxSeeds {
		return BenchResult{}, errs.Errorf(errs.Invalid, "a comparison needs 2 to %d seeds, not %d", MaxSeeds, cfg.Seeds)
	}
	if cfg.ChenPeriods < 1000 || cfg.ChenPeriods > MaxPeriods {
		return BenchResult{}, errs.Errorf(errs.Invalid, "a Chen-bound run lasts 1000 to %d periods, not %d", MaxPeriods, cfg.ChenPeriods)
	}
	progress := func(stage string, done, total int) {
		if cfg.Progress != nil {
			cfg.Progress(stage, done, total)
		}
	}
	res := BenchResult{PeriodsPerS: map[string]float64{}, Scenario: cfg.Scenario, Seeds: cfg.Seeds, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	for i, name := range PresetNames() {
		pps, err := periodsPerSecond(ctx, name, cfg.PerPreset)
		if err != nil {
			return BenchResult{}, err
		}
		res.PeriodsPerS[name] = pps
		progress("presets", i+1, len(presetNames))
	}
	cmp, err := Compare(ctx, CompareConfig{Scenario: cfg.Scenario, Seeds: cfg.Seeds, Learned: cfg.Learned, LearnedLabel: cfg.LearnedLabel,
		Progress: func(done, total int) { progress("compare", done, total) }})
	if err != nil {
		return BenchResult{}, err
	}
	co, _ := cmp.Arm(ArmCoordinated)
	un, _ := cmp.Arm(ArmUncoordinated)
	p, _ := cmp.Pair(ArmCoordinated, ArmUncoordinated)
	bs, _ := cmp.Pair(ArmBaseStock, ArmUncoordinated)
	res.CoordinatedCostRatio, res.CoordinatedCostRatioCI95 = p.Ratio, [2]float64{p.RatioLo, p.RatioHi}
	res.BullwhipUncoordinated, res.BullwhipCoordinated = un.Bullwhip, co.Bullwhip
	res.CostCoordinated, res.CostCoordinatedCI95 = co.Cost, co.CostCI95
	res.CostUncoordinated, res.CostUncoordinatedCI95 = un.Cost, un.CostCI95
	res.CoordinatedWins, res.CoordinatedPHolm = p.Wins, p.PHolm
	res.BaseStockCostRatio, res.BaseStockCostRatioCI95 = bs.Ratio, [2]float64{bs.RatioLo, bs.RatioHi}
	res.Learned = cmp.Learned
	res.CompareSeconds = cmp.ElapsedSecs
	if cmp.ElapsedSecs > 0 {
		res.ComparePeriodsPerS = float64(cmp.Periods) / cmp.ElapsedSecs
	}
	res.ChenBoundHolds = true
	for i, c := range chenCases {
		if err := ctx.Err(); err != nil {
			return BenchResult{}, err
		}
		got, bound, err := MeasureChen(c.Forecast, c.Lead, c.Alpha, c.Window, cfg.ChenPeriods, uint64(11+i))
		if err != nil {
			return BenchResult{}, fmt.Errorf("chen bound %s L%d: %w", c.Forecast, c.Lead, err)
		}
		c.Measured, c.Bound, c.Holds = got, bound, got >= chenTolerance*bound
		res.ChenBoundHolds = res.ChenBoundHolds && c.Holds
		res.Chen = append(res.Chen, c)
		progress("chen", i+1, len(chenCases))
	}
	return res, nil
}

// periodsPerSecond plays whole runs of the preset (the six agents with
// coordinated base-stock, no twin) for at least d and returns periods per
// second of wall time.
func periodsPerSecond(ctx context.Context, preset string, d time.Duration) (float64, error) {
	n, err := Preset(preset)
	if err != nil {
		return 0, err
	}
	strat := Uniform("bench", PolicyBaseStock, true, 1.5)
	start := time.Now()
	periods := 0
	for seed := uint64(1); time.Since(start) < d; seed++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		s, err := NewSim(n, seed, nil)
		if err != nil {
			return 0, err
		}
		tm, err := NewTeam(s, strat, nil, "")
		if err != nil {
			return 0, err
		}
		for !s.Done() {
			tm.Play()
		}
		periods += n.Periods
	}
	return float64(periods) / time.Since(start).Seconds(), nil
}
