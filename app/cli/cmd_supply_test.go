package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/supply"
)

func runSupplyArgs(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := command.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	err = runSupply(context.Background(), env, args)
	return out.String(), errb.String(), err
}

func TestSupplyRejectsBadFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"name": "x", "preset": "global", "crises": [{"kind": "port_closure", "lane": "pacific", "start": 1, "end": 5, "lead": 1000000000}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "supply needs a subcommand"},
		{[]string{"teleport"}, `unknown supply subcommand "teleport"`},
		{[]string{"compare", "--scenario", "atlantis"}, `no scenario "atlantis"`},
		{[]string{"compare", "--seeds", "1"}, "a comparison needs 2 to 1000 seeds, not 1"},
		{[]string{"compare", "--seeds", "many"}, "invalid value"},
		{[]string{"compare", "--learned", "a.ckpt", "--train", "qmix"}, "choose one"},
		{[]string{"compare", "--learned", filepath.Join(dir, "none.ckpt")}, "no checkpoint at"},
		{[]string{"compare", "--train", "ppo", "--episodes", "2"}, "the learner could not be built"},
		{[]string{"compare", "--script", filepath.Join(dir, "none.json")}, "cannot open the scenario script"},
		{[]string{"compare", "--script", bad}, "a port closure adds 0 to 104 periods of lead time, not 1000000000"},
		{[]string{"play", "--scenario", "atlantis"}, `no scenario "atlantis"`},
		{[]string{"play", "--policy", "oracle"}, `unknown policy "oracle"`},
		{[]string{"play", "--policy", "learned"}, "the learned policy plays in supply compare"},
		{[]string{"play", "--z", "50"}, "the safety factor must be between 0 and 10"},
	} {
		_, _, err := runSupplyArgs(t, c.args...)
		if err == nil || ExitCode(err) != 2 || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.want)) {
			t.Errorf("%v: got %v, want a usage error with %q", c.args, err, c.want)
		}
	}
}

// supply compare --json prints the summary and, last, the comparison as
// one JSON object; a script is compared like a named scenario.
func TestSupplyCompareJSON(t *testing.T) {
	out, _, err := runSupplyArgs(t, "compare", "--scenario", "beer", "--seeds", "4", "--tune-seeds", "2", "--json")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var c supply.Comparison
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &c); err != nil {
		t.Fatalf("last line is not the comparison: %v\n%s", err, out)
	}
	if c.Scenario.Name != "beer" || c.Seeds != 4 || len(c.Arms) != 3 || len(c.Paired) != 3 {
		t.Fatalf("comparison %+v", c)
	}
	if !strings.Contains(out, "coordinated / uncoordinated: cost ratio") {
		t.Errorf("no summary: %s", out)
	}
	script := filepath.Join(t.TempDir(), "suez.json")
	if err := os.WriteFile(script, []byte(`{"name": "suez", "preset": "global", "crises": [{"kind": "port_closure", "lane": "pacific", "start": 15, "end": 24, "capacity": 0, "lead": 5}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = runSupplyArgs(t, "compare", "--script", script, "--seeds", "3", "--tune-seeds", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "global network, 1 scripted crises — 3 seeds") {
		t.Errorf("script comparison: %s", out)
	}
}

func TestSupplyPlayAndScenarios(t *testing.T) {
	out, _, err := runSupplyArgs(t, "play", "--scenario", "port-closure", "--seed", "2", "--json")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"total cost", "bullwhip dc", "port closure on lane pacific", "recovered"} {
		if !strings.Contains(out, want) {
			t.Errorf("play output lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var r supply.Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil || r.KPIs.Periods != 80 || len(r.KPIs.Disruptions) != 1 {
		t.Fatalf("last line: %v %+v", err, r.KPIs)
	}
	out, _, err = runSupplyArgs(t, "scenarios")
	if err != nil || !strings.Contains(out, "port-closure") || !strings.Contains(out, "networks: beer, orgym, global") {
		t.Fatalf("scenarios: %v\n%s", err, out)
	}
}
