package cli

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/bench"
)

// testAssets are the repository's own static files and migrations, as the
// binary embeds them.
func testAssets() app.Assets {
	return app.Assets{Static: os.DirFS("../../static"), Migrations: os.DirFS("../../migrations")}
}

func TestServeConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(app.Config) bool
	}{
		{"defaults", nil, nil, "", func(c app.Config) bool { return c.Addr == "127.0.0.1:8080" && c.Seed == 1 && !c.NoBrowser }},
		{"env twins", nil, map[string]string{"METASTATION_SEED": "42", "METASTATION_NO_BROWSER": "1", "METASTATION_DATA": "/tmp/x"}, "",
			func(c app.Config) bool { return c.Seed == 42 && c.NoBrowser && c.DataDir == "/tmp/x" }},
		{"flag beats env", []string{"--seed", "5"}, map[string]string{"METASTATION_SEED": "42"}, "", func(c app.Config) bool { return c.Seed == 5 }},
		{"log level", []string{"--log-level", "debug"}, nil, "", func(c app.Config) bool { return c.LogLevel.String() == "DEBUG" }},
		{"showcase on by default", nil, nil, "", func(c app.Config) bool { return c.Showcase }},
		{"showcase off", nil, map[string]string{"METASTATION_SHOWCASE": "false"}, "", func(c app.Config) bool { return !c.Showcase }},
		{"tournament agent env twin", nil, map[string]string{"METASTATION_TOURNAMENT_AGENT": "/x/a.ckpt"}, "", func(c app.Config) bool { return c.TournamentAgent == "/x/a.ckpt" }},
		{"local model env twins", nil, map[string]string{"METASTATION_LLM_URL": "http://127.0.0.1:11434/v1/chat/completions", "METASTATION_LLM_MODEL": "llama3"}, "",
			func(c app.Config) bool {
				return c.LLMURL == "http://127.0.0.1:11434/v1/chat/completions" && c.LLMModel == "llama3"
			}},
		{"bad level", []string{"--log-level", "loud"}, nil, "use debug, info", nil},
		{"bad env", nil, map[string]string{"METASTATION_SEED": "many"}, "METASTATION_SEED", nil},
		{"public addr", []string{"--addr", "0.0.0.0:80"}, nil, "not a loopback address", nil},
		{"junk addr", []string{"--addr", "nonsense"}, nil, "not host:port", nil},
		{"stray arg", []string{"extra"}, nil, "unexpected argument", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseServeConfig(tt.args, env(tt.env), io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ExitCode(err) != 2 {
					t.Fatalf("err %v, want usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(cfg) {
				t.Fatalf("cfg %+v, err %v", cfg, err)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	var out strings.Builder
	run := func(args ...string) error {
		out.Reset()
		return Main(context.Background(), args, func(string) string { return "" }, &out, io.Discard, testAssets())
	}
	if err := run("version"); err != nil || !strings.HasPrefix(out.String(), "metastation ") {
		t.Fatalf("version: %q, %v", out.String(), err)
	}
	if err := run("help"); err != nil || !strings.Contains(out.String(), "bench hub") {
		t.Fatalf("help: %q, %v", out.String(), err)
	}
	if err := run("frobnicate"); err == nil || ExitCode(err) != 2 {
		t.Fatalf("unknown command: %v", err)
	}
	if err := run("bench"); err == nil || !strings.Contains(err.Error(), "hub") {
		t.Fatalf("bench without a name: %v", err)
	}
	// --help prints usage and succeeds, for every command and benchmark:
	// Main turns flag.ErrHelp into success in one place.
	helps := [][]string{{"--help"}, {"bench", "--help"}}
	for _, c := range commands() {
		if c.Name != "help" && c.Name != "version" {
			helps = append(helps, []string{c.Name, "--help"})
		}
	}
	for name := range bench.List() {
		helps = append(helps, []string{"bench", name, "--help"})
	}
	for _, args := range helps {
		if err := run(args...); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// TestSubcommandHelp: every market subcommand answers --help with its form,
// what it does, its flags and their environment twins (market import
// --help was an error: "needs a FILE before its flags"), and a missing
// FILE or SYMBOL is a usage error that points at --help.
func TestSubcommandHelp(t *testing.T) {
	run := func(args ...string) (string, error) {
		var out, errOut strings.Builder
		err := Main(context.Background(), args, func(string) string { return "" }, &out, &errOut, testAssets())
		return out.String() + errOut.String(), err
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"market", "import", "--help"}, []string{"Usage: metastation market import FILE", "-dry-run", "METASTATION_DRY_RUN"}},
		{[]string{"market", "import", "-h"}, []string{"Usage: metastation market import FILE"}},
		{[]string{"market", "fetch", "--help"}, []string{"Usage: metastation market fetch SYMBOL", "METASTATION_ALPHAVANTAGE_KEY", "METASTATION_OUTPUTSIZE"}},
		{[]string{"market", "fit", "--help"}, []string{"Usage: metastation market fit FILE", "GJR-GARCH", "METASTATION_DAYS_PER_YEAR"}},
		{[]string{"market", "simulate", "--help"}, []string{"-days", "METASTATION_DAYS"}},
		{[]string{"generate", "--help"}, []string{"METASTATION_ROWS"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := run(tc.args...)
			if err != nil {
				t.Fatalf("error %v; output:\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
		})
	}
	for _, args := range [][]string{{"market", "import"}, {"market", "fit", "--json"}, {"market", "fetch", "--import"}} {
		t.Run(strings.Join(args, " ")+" without its argument", func(t *testing.T) {
			_, err := run(args...)
			if err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), "--help") {
				t.Errorf("err %v (exit %d), want a usage error pointing at --help", err, ExitCode(err))
			}
		})
	}
	// Help texts speak to users, not to the issue tracker.
	out, err := run("help")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "issue ") {
		t.Errorf("help names an issue:\n%s", out)
	}
}

func TestListenAnyNeedsAToken(t *testing.T) {
	none := func(string) string { return "" }
	if _, err := parseServeConfig([]string{"--addr", "0.0.0.0:8080"}, none, io.Discard); err == nil || !strings.Contains(err.Error(), "--listen-any") {
		t.Fatalf("0.0.0.0 without --listen-any: %v", err)
	}
	cfg, err := parseServeConfig([]string{"--addr", "0.0.0.0:8080", "--listen-any"}, none, io.Discard)
	if err != nil || len(cfg.Token) != 32 {
		t.Fatalf("--listen-any: token %q, %v; want 32 random hex digits", cfg.Token, err)
	}
	again, _ := parseServeConfig([]string{"--addr", "0.0.0.0:8080", "--listen-any"}, none, io.Discard)
	if again.Token == cfg.Token {
		t.Fatal("two starts got the same token")
	}
	cfg, err = parseServeConfig([]string{"--listen-any", "--addr", "0.0.0.0:8080"}, func(k string) string {
		return map[string]string{"METASTATION_TOKEN": "mine"}[k]
	}, io.Discard)
	if err != nil || cfg.Token != "mine" {
		t.Fatalf("METASTATION_TOKEN: %q, %v", cfg.Token, err)
	}
}
