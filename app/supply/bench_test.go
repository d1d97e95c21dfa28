package supply

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// The bench measures every preset, runs the comparison and the Chen
// checks, and its JSON carries the keys.
func TestBench(t *testing.T) {
	var stages []string
	res, err := Bench(context.Background(), BenchConfig{Seeds: 4, PerPreset: 30 * time.Millisecond, ChenPeriods: 20000,
		Progress: func(stage string, done, total int) {
			if done == total {
				stages = append(stages, stage)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range PresetNames() {
		if res.PeriodsPerS[name] <= 0 {
			t.Errorf("preset %s: %g periods/s", name, res.PeriodsPerS[name])
		}
	}
	if !(res.CoordinatedCostRatioCI95[0] <= res.CoordinatedCostRatio && res.CoordinatedCostRatio <= res.CoordinatedCostRatioCI95[1]) {
		t.Errorf("ratio %g outside [%g, %g]", res.CoordinatedCostRatio, res.CoordinatedCostRatioCI95[0], res.CoordinatedCostRatioCI95[1])
	}
	if res.BullwhipUncoordinated <= 0 || res.BullwhipCoordinated <= 0 {
		t.Errorf("bullwhip %g / %g", res.BullwhipUncoordinated, res.BullwhipCoordinated)
	}
	if !res.ChenBoundHolds || len(res.Chen) != len(chenCases) {
		t.Errorf("chen: %+v", res.Chen)
	}
	if len(stages) != 3 {
		t.Errorf("progress stages %v", stages)
	}
	raw, _ := json.Marshal(res)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"periods_per_s", "coordinated_cost_ratio", "coordinated_cost_ratio_ci95", "bullwhip_uncoordinated", "bullwhip_coordinated", "chen_bound_holds"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, raw)
		}
	}
	if _, err := Bench(context.Background(), BenchConfig{Scenario: "atlantis"}); err == nil {
		t.Error("an unknown scenario was benchmarked")
	}
}
