package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/metastation/metastation/app/command"
)

// A tiny run end to end: the tables are printed, every policy has a row with
// one Sharpe per seed, buy-and-hold's paired difference with itself is zero,
// cash's Sharpe is exactly zero, and the Holm family holds every learned
// row's four comparisons with adjusted p-values no smaller than the raw ones.
func TestBenchLearnersSmall(t *testing.T) {
	var out, errb bytes.Buffer
	env := command.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	err := runBenchLearners(context.Background(), env, []string{"--seeds", "2", "--train-steps", "2048", "--sac-steps", "1000", "--ma-episodes", "10", "--episodes", "10", "--json"})
	if err != nil {
		t.Fatalf("bench learners: %v\n%s", err, errb.String())
	}
	var res LearnersBenchResult
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not the result: %v", err)
	}
	want := map[string]bool{"ppo": true, "ppo_vt": true, "sac": true, "buy_and_hold": true, "cash": true, "random": true, "random_vt": true,
		"vol_timing_rule": true, "vol_target_rule": true, "split ppo_vt": true, "split buy_and_hold": true, "ma vdn": true, "ma buy_and_hold": true}
	var all []LearnerRow
	for _, r := range res.SplitRows {
		r.Policy = "split " + r.Policy
		all = append(all, r)
	}
	for _, r := range res.MARows {
		r.Policy = "ma " + r.Policy
		all = append(all, r)
	}
	learned := 0
	for _, r := range append(res.Rows, all...) {
		if r.Learned {
			learned++
			if r.SharpeVsBHPHolm < r.SharpeVsBHP || r.RecordSortinoVsBHPHolm < r.RecordSortinoVsBHP {
				t.Errorf("%s: Holm-adjusted p below the raw one: %+v", r.Policy, r)
			}
		}
		delete(want, r.Policy)
		if len(r.SharpeBySeed) != 2 {
			t.Errorf("%s: %d seeds, want 2", r.Policy, len(r.SharpeBySeed))
		}
		if strings.HasSuffix(r.Policy, "buy_and_hold") && (r.SharpeVsBH != 0 || r.SharpeVsBHCI95 != 0 || r.RecordSharpeVsBH != 0 || r.BeatsBHOnSharpe) {
			t.Errorf("buy-and-hold against itself: %+v", r)
		}
		if strings.HasSuffix(r.Policy, "cash") && (r.Sharpe != 0 || r.Return != 0 || r.RecordSharpe != 0) {
			t.Errorf("cash: Sharpe %v, return %v; want 0", r.Sharpe, r.Return)
		}
	}
	if len(want) != 0 {
		t.Errorf("rows missing: %v", want)
	}
	if learned != 5 || res.HolmFamily != 4*learned {
		t.Errorf("%d learned rows, Holm family %d; want 5 and 20", learned, res.HolmFamily)
	}
	if !strings.Contains(errb.String(), "Sharpe − B&H") {
		t.Errorf("no table on stderr:\n%s", errb.String())
	}
	if err := runBenchLearners(context.Background(), env, []string{"--seeds", "1"}); err == nil {
		t.Error("one seed accepted: a paired CI needs at least two")
	}
}
