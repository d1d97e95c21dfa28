package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/metastation/metastation/app/command"
)

// A tiny run end to end: the table is printed, every policy has a row with
// one Sharpe per seed, buy-and-hold's paired difference with itself is zero,
// and cash's Sharpe is exactly zero.
func TestBenchLearnersSmall(t *testing.T) {
	var out, errb bytes.Buffer
	env := command.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	err := runBenchLearners(context.Background(), env, []string{"--seeds", "2", "--train-steps", "2048", "--episodes", "10", "--json"})
	if err != nil {
		t.Fatalf("bench learners: %v\n%s", err, errb.String())
	}
	var res LearnersBenchResult
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not the result: %v", err)
	}
	want := map[string]bool{"ppo": true, "buy_and_hold": true, "cash": true, "random": true, "vol_timing_rule": true}
	for _, r := range res.Rows {
		delete(want, r.Policy)
		if len(r.SharpeBySeed) != 2 {
			t.Errorf("%s: %d seeds, want 2", r.Policy, len(r.SharpeBySeed))
		}
		if r.Policy == "buy_and_hold" && (r.SharpeVsBH != 0 || r.SharpeVsBHCI95 != 0 || r.BeatsBHOnSharpe) {
			t.Errorf("buy-and-hold against itself: %+v", r)
		}
		if r.Policy == "cash" && (r.Sharpe != 0 || r.Return != 0) {
			t.Errorf("cash: Sharpe %v, return %v; want 0", r.Sharpe, r.Return)
		}
	}
	if len(want) != 0 {
		t.Errorf("rows missing: %v", want)
	}
	if !strings.Contains(errb.String(), "Sharpe − B&H") {
		t.Errorf("no table on stderr:\n%s", errb.String())
	}
	if err := runBenchLearners(context.Background(), env, []string{"--seeds", "1"}); err == nil {
		t.Error("one seed accepted: a paired CI needs at least two")
	}
}
