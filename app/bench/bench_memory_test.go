package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/command"
)

// bench memory --json ends with one JSON object holding issue 13's keys,
// each measured (non-zero where a zero would mean nothing ran).
func TestBenchMemoryJSON(t *testing.T) {
	var out, errb bytes.Buffer
	env := command.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		Assets: app.Assets{Migrations: os.DirFS("../../migrations")}}
	if err := runBenchMemory(context.Background(), env, []string{"--memories", "2000", "--queries", "20", "--dir", t.TempDir(), "--json"}); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, out.String())
	}
	for _, k := range []string{"insert_per_s", "query_p50_ms", "query_p99_ms", "memories", "recall_at_10_vs_exact",
		"planted_recall_at_10_hybrid", "planted_recall_at_10_lexical", "planted_recall_at_10_vector", "embed_per_s"} {
		v, ok := m[k]
		if !ok {
			t.Errorf("no %q in %s", k, lines[len(lines)-1])
			continue
		}
		if f, _ := v.(float64); f <= 0 && k != "planted_recall_at_10_lexical" {
			t.Errorf("%s = %v: not measured", k, v)
		}
	}
	if m["memories"] != 2000.0 {
		t.Errorf("memories %v, want 2000", m["memories"])
	}
	for _, bad := range [][]string{{"--memories", "10"}, {"--queries", "0"}, {"--seed", "0"}} {
		if err := runBenchMemory(context.Background(), env, bad); err == nil || command.ExitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", bad, err)
		}
	}
}
