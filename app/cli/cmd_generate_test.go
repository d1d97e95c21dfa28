package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metastation/metastation/app/command"
)

func runGenerateArgs(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := command.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	err := runGenerate(context.Background(), env, args)
	return out.String() + errb.String(), err
}

func TestGenerateRejectsBadFlags(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.csv")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--kind", "widgets", "--out", out}, `unknown kind "widgets"`},
		{[]string{"--rows", "-5", "--out", out}, "rows must not be negative"},
		{[]string{"--rows", "1000000000", "--out", out}, "rows must be at most 100000000, got 1000000000; that is the most one job generates, so make bigger data from several jobs with different seeds"},
		{[]string{"--fraud-rate", "20%", "--out", out}, "fraud rate must be between 0.1% and 10%"},
		{[]string{"--fraud-rate", "0.0001", "--out", out}, "fraud rate must be between"},
		{[]string{"--fraud-rate", "lots", "--out", out}, "is not a rate"},
		{[]string{"--out", filepath.Join(dir, "missing", "x.csv")}, "does not exist"},
		{[]string{"--format", "xml", "--out", out}, "unknown format"},
		{[]string{"--workers", "-1", "--out", out}, "workers must be between"},
		{[]string{}, "--out FILE or --db is required"},
		{[]string{"--kind", "shipments", "--db"}, "--db loads --kind transactions only"},
	} {
		_, err := runGenerateArgs(t, c.args...)
		if err == nil || ExitCode(err) != 2 || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.want)) {
			t.Errorf("%v: got %v, want a usage error with %q", c.args, err, c.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("bad flags left files: %v", ents)
	}
}

func TestGenerateWritesFileAndReport(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "fraud.jsonl")
	msg, err := runGenerateArgs(t, "--kind", "fraud", "--rows", "60000", "--fraud-rate", "2%", "--out", out, "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "ROC-AUC") {
		t.Fatalf("output: %s", msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte{'\n'}); n != 60000 {
		t.Fatalf("%d lines, want 60000", n)
	}
	if _, err := os.Stat(out + ".report.json"); err != nil {
		t.Fatal(err)
	}
}
