package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/metastation/metastation/app/command"
)

// TestBenchMLOpsSmall runs `bench mlops --json` at a small scale and checks
// that its last line carries issue 15's keys with figures that hold
// together.
func TestBenchMLOpsSmall(t *testing.T) {
	var out bytes.Buffer
	env := command.Env{Stdout: &out, Stderr: io.Discard, Getenv: func(string) string { return "" }, Assets: testAssets()}
	err := runBenchMLOps(context.Background(), env, []string{"--json", "--requests", "200", "--http-requests", "100", "--false-runs", "20", "--regression-runs", "20"})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var res map[string]float64
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	for _, k := range []string{"predict_p99_us_inproc", "predict_p99_ms_http", "canary_share_error", "false_rollback_rate", "detected_regression_rate"} {
		if _, ok := res[k]; !ok {
			t.Errorf("no %s in %v", k, res)
		}
	}
	if res["predict_p99_us_inproc"] <= 0 || res["fraud_predict_p50_us_inproc"] > res["fraud_predict_p99_us_inproc"] || res["predict_p99_ms_http"] <= 0 {
		t.Errorf("latencies out of order: %v", res)
	}
	if res["canary_share_error"] > 0.005 || res["detected_regression_rate"] < 0.9 || res["false_rollback_rate"] > 0.1 {
		t.Errorf("canary figures: %v", res)
	}
	if res["artifact_verify_mb_per_s"] <= 0 || res["alias_moves_per_s"] <= 0 {
		t.Errorf("registry figures: %v", res)
	}
}
