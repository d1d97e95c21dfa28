package cli

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/synth"
)

// FuzzServeFlags: any command line and any value of an environment twin
// either gives a configuration the server can run with (a loopback address
// unless an access token guards it, a data directory, a sane supply tick)
// or a usage error with a message, never a panic or a half-checked config.
// Arguments are separated by NUL bytes in the fuzzed string.
func FuzzServeFlags(f *testing.F) {
	for _, s := range []struct{ args, env string }{
		{"", ""},
		{"--addr\x00127.0.0.1:0\x00--no-browser", ""},
		{"--addr=0.0.0.0:8080", ""},
		{"--addr=0.0.0.0:8080\x00--listen-any", ""},
		{"--supply-tick=1ns", ""},
		{"--cluster=n1\x00--cluster-secret=short", ""},
		{"--cluster=n1\x00--cluster-secret=0123456789abcdef\x00--raft-timeout=-1s", ""},
		{"--join=127.0.0.1:7400", ""},
		{"--checkpoint-every=1ms", "1h"},
		{"--log-level=loud", "x"},
		{"--seed=99999999999999999999", ""},
		{"--help", ""},
		{"--data=", ""},
		{"stray", ""},
	} {
		f.Add(s.args, s.env)
	}
	f.Fuzz(func(t *testing.T, joined, envValue string) {
		var args []string
		if joined != "" {
			args = strings.Split(joined, "\x00")
		}
		// Every twin gets the same value: the fuzzer reaches each flag's
		// environment path without knowing the names.
		getenv := func(key string) string {
			if strings.HasPrefix(key, "METASTATION_") {
				return envValue
			}
			return ""
		}
		cfg, err := parseServeConfig(args, getenv, io.Discard)
		if err != nil {
			if !errors.Is(err, flag.ErrHelp) && (command.ExitCode(err) != 2 || strings.TrimSpace(err.Error()) == "") {
				t.Fatalf("%q: an error that is not a usage sentence: %v", args, err)
			}
			return
		}
		if cfg.Token == "" {
			if err := checkLoopback(cfg.Addr); err != nil {
				t.Fatalf("%q: serving on %q without an access token", args, cfg.Addr)
			}
		}
		if cfg.DataDir == "" || cfg.SupplyTick < 20*time.Millisecond || cfg.SupplyTick > time.Minute {
			t.Fatalf("%q: accepted data %q, supply tick %v", args, cfg.DataDir, cfg.SupplyTick)
		}
		if cfg.ClusterNode == "" && cfg.ClusterJoin != "" {
			t.Fatalf("%q: --join accepted without --cluster", args)
		}
		if cfg.CheckpointEvery < 0 {
			t.Fatalf("%q: checkpoint every %v", args, cfg.CheckpointEvery)
		}
	})
}

// FuzzFraudRate: whatever is typed after `generate --fraud-rate`, the
// generator either refuses it or gets a rate inside its stated range
// ("NaN" passed both range comparisons and was accepted).
func FuzzFraudRate(f *testing.F) {
	for _, s := range []string{"1.5%", "0.015", "NaN", "nan%", "-0", "Inf", "1e-400", "10%", "0x1p-4", " 2 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rate, err := parseRate(s)
		if err != nil {
			return
		}
		cfg := synth.Config{Rows: 1000, FraudRate: rate}.Normalize()
		if cfg.Validate() != nil {
			return
		}
		if !(cfg.FraudRate >= synth.MinFraudRate && cfg.FraudRate <= synth.MaxFraudRate) {
			t.Fatalf("--fraud-rate %q accepted as %v", s, cfg.FraudRate)
		}
	})
}

// FuzzHidden: `train --hidden` accepts only layer lists a run can build.
func FuzzHidden(f *testing.F) {
	for _, s := range []string{"", "64,64", "0", "4097", "1,,2", " 8 , 8", strings.Repeat("4096,", 100) + "1", "-1", "9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		layers, err := parseHidden(s)
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("refused without a reason")
			}
			return
		}
		if len(layers) > maxHiddenLayers {
			t.Fatalf("%q: %d layers accepted", s, len(layers))
		}
		for _, n := range layers {
			if n < 1 || n > 4096 {
				t.Fatalf("%q: layer of %d accepted", s, n)
			}
		}
	})
}
