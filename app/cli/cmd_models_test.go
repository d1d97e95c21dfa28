package cli

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/mlops"
	"github.com/metastation/metastation/app/synth/detect"
)

func writeDetector(t *testing.T, path string, seed uint64) {
	t.Helper()
	names := detect.FeatureNames()
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &detect.Logistic{Weights: make([]float64, len(names)), Mean: make([]float64, len(names)), Std: make([]float64, len(names)), Bias: -4}
	for j := range names {
		m.Weights[j], m.Std[j] = rng.NormFloat64(), 1
	}
	data, err := mlops.EncodeDetector(&detect.Detector{Model: "logistic", Features: names, Logistic: m})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// metastation models: register two versions, list and show them, move the
// champion, ask which version it named before, roll back; mistakes are
// usage errors (exit 2) or clear refusals.
func TestModelsCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	f1, f2 := filepath.Join(dir, "d1.bin"), filepath.Join(dir, "d2.bin")
	writeDetector(t, f1, 1)
	writeDetector(t, f2, 2)
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		env := command.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, Assets: testAssets()}
		err := runModels(context.Background(), env, append(args, "--data", data))
		return out.String() + errOut.String(), err
	}
	must := func(want string, args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("models %v: %v\n%s\nwant %q", args, err, out, want)
		}
		return out
	}
	must("Registered fraud v1", "register", "fraud", "--file", f1, "--kind", mlops.KindFraud, "--alias", "champion", "--metric", "roc_auc=0.91", "--seed", "4")
	time.Sleep(10 * time.Millisecond)
	before := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(10 * time.Millisecond)
	must("Registered fraud v2", "register", "fraud", "--file", f2, "--kind", mlops.KindFraud, "--alias", "challenger")
	must("fraud  fraud-detector  2         v1        v2", "list")
	must("champion of fraud now names v2 (was v1)", "alias", "fraud", "champion", "2", "--reason", "better AUC")
	must("named v1", "alias", "fraud", "champion", "--at", before)
	must("champion of fraud names v2", "alias", "fraud", "champion")
	show := must("roc_auc=0.91", "show", "fraud")
	for _, w := range []string{"Alias history:", "better AUC", "Latest decisions:", "cli"} {
		if !strings.Contains(show, w) {
			t.Errorf("show lacks %q:\n%s", w, show)
		}
	}
	must("rolled back from v2 to v1", "rollback", "fraud", "--reason", "v2 flags too many")
	must(`"version": 1`, "alias", "fraud", "champion", "--json")

	bad := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no subcommand", nil, 2, "needs a subcommand"},
		{"unknown subcommand", []string{"promote"}, 2, "unknown models subcommand"},
		{"rollback without reason", []string{"rollback", "fraud"}, 2, "--reason"},
		{"register without file", []string{"register", "fraud", "--kind", mlops.KindFraud}, 2, "--file and --kind"},
		{"register garbage", []string{"register", "fraud", "--file", filepath.Join(dir, "missing"), "--kind", mlops.KindFraud}, 1, "no such file"},
		{"register wrong kind", []string{"register", "fraud", "--file", f1, "--kind", mlops.KindTrading}, 1, "is not a trading-policy model"},
		{"unknown model", []string{"show", "nope"}, 1, `no model "nope"`},
		{"unknown alias", []string{"alias", "fraud", "nope"}, 1, `no alias "nope"`},
		{"unknown version", []string{"alias", "fraud", "champion", "9"}, 1, "no version 9"},
		{"bad time", []string{"alias", "fraud", "champion", "--at", "yesterday"}, 2, "is not a time"},
		{"bad metric", []string{"register", "fraud", "--file", f1, "--kind", mlops.KindFraud, "--metric", "auc=high"}, 2, "is not a number"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(tc.args...)
			if err == nil || ExitCode(err) != tc.code || !strings.Contains(err.Error()+out, tc.says) {
				t.Errorf("models %v: %v (exit %d)\n%s\nwant exit %d saying %q", tc.args, err, ExitCode(err), out, tc.code, tc.says)
			}
		})
	}
}
