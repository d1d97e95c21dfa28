package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/metastation/metastation/app/command"
)

// bench supply --json ends with one JSON object holding the keys.
func TestBenchSupplyJSON(t *testing.T) {
	var out, errb bytes.Buffer
	env := command.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if err := runBenchSupply(context.Background(), env, []string{"--seeds", "3", "--per-preset", "20ms", "--json"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, out.String())
	}
	for _, k := range []string{"periods_per_s", "coordinated_cost_ratio", "coordinated_cost_ratio_ci95", "bullwhip_uncoordinated", "bullwhip_coordinated", "chen_bound_holds"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, lines[len(lines)-1])
		}
	}
	if pps, ok := m["periods_per_s"].(map[string]any); !ok || len(pps) != 3 {
		t.Errorf("periods_per_s %v, want one figure per preset", m["periods_per_s"])
	}
	for _, bad := range [][]string{{"--seeds", "1"}, {"--scenario", "atlantis"}, {"--per-preset", "1h"}} {
		if err := runBenchSupply(context.Background(), env, bad); err == nil || command.ExitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", bad, err)
		}
	}
}
