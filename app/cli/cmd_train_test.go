package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metastation/metastation/app/command"
)

func TestTrainCommand(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	env := command.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	args := []string{"--algo", "ppo", "--env", "cartpole", "--steps", "4096", "--out", dir, "--quiet", "--eval-episodes", "3"}
	if err := runTrain(t.Context(), env, args); err != nil {
		t.Fatalf("train: %v (%s)", err, errb.String())
	}
	if !strings.Contains(out.String(), "ppo cartpole seed 1: 4096 steps") {
		t.Fatalf("summary %q", out.String())
	}
	for _, f := range []string{"checkpoint.ckpt", "metrics.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	// Resuming a finished run evaluates it again and changes nothing.
	out.Reset()
	if err := runTrain(t.Context(), env, []string{"--resume", filepath.Join(dir, "checkpoint.ckpt"), "--quiet", "--eval-episodes", "3"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "4096 steps") {
		t.Fatalf("resumed summary %q", out.String())
	}
	// Mistakes are usage errors.
	for _, bad := range [][]string{{"--algo", "sac", "--env", "cartpole"}, {"--env", "mars"}, {"--hidden", "0"}} {
		if err := runTrain(t.Context(), env, append(bad, "--out", dir, "--quiet")); ExitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", bad, err)
		}
	}
}

// TestTrainDefaultsToDataRuns: without --out a run goes to DATA/runs/NAME,
// where the server's tournament entrants API looks for checkpoints.
func TestTrainDefaultsToDataRuns(t *testing.T) {
	data := t.TempDir()
	env := command.Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(k string) string {
		if k == "METASTATION_DATA" {
			return data
		}
		return ""
	}}
	cases := []struct {
		args []string
		dir  string
	}{
		{[]string{"--algo", "ppo", "--env", "cartpole", "--steps", "2048", "--eval-episodes", "1"}, "ppo-cartpole-seed1"},
		{[]string{"--algo", "qmix", "--env", "matrix2", "--episodes", "20", "--eval-episodes", "1", "--seed", "4"}, "qmix-matrix2-seed4"},
	}
	for _, tc := range cases {
		t.Run(tc.dir, func(t *testing.T) {
			if err := runTrain(t.Context(), env, append(tc.args, "--quiet")); err != nil {
				t.Fatalf("%v: %v", tc.args, err)
			}
			if _, err := os.Stat(filepath.Join(data, "runs", tc.dir, "checkpoint.ckpt")); err != nil {
				t.Errorf("%v: %v", tc.args, err)
			}
		})
	}
}

// TestTrainNeverOverwrites: a second run with the same algorithm, env and
// seed goes to a new run directory instead of over the first one's
// checkpoint; a chosen --out that holds one is refused with the way to
// continue it; --steps that is no whole number of rollouts says what it
// becomes.
func TestTrainNeverOverwrites(t *testing.T) {
	data := t.TempDir()
	var errb bytes.Buffer
	env := command.Env{Stdout: &bytes.Buffer{}, Stderr: &errb, Getenv: func(k string) string {
		if k == "METASTATION_DATA" {
			return data
		}
		return ""
	}}
	args := []string{"--algo", "ppo", "--env", "cartpole", "--steps", "3000", "--eval-episodes", "1", "--quiet"}
	for _, want := range []string{"ppo-cartpole-seed1", "ppo-cartpole-seed1-2"} {
		t.Run(want, func(t *testing.T) {
			errb.Reset()
			if err := runTrain(t.Context(), env, args); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(data, "runs", want, "checkpoint.ckpt")); err != nil {
				t.Error(err)
			}
			if !strings.Contains(errb.String(), "--steps 3000 becomes 2560") {
				t.Errorf("no word about the rounding: %q", errb.String())
			}
		})
	}
	t.Run("chosen directory with a checkpoint", func(t *testing.T) {
		dir := filepath.Join(data, "runs", "ppo-cartpole-seed1")
		before, _ := os.Stat(filepath.Join(dir, "checkpoint.ckpt"))
		err := runTrain(t.Context(), env, append(args, "--out", dir))
		if ExitCode(err) != 2 || !strings.Contains(err.Error(), "--resume") {
			t.Fatalf("err %v, want a usage error naming --resume", err)
		}
		if after, _ := os.Stat(filepath.Join(dir, "checkpoint.ckpt")); !after.ModTime().Equal(before.ModTime()) {
			t.Error("the checkpoint was rewritten")
		}
	})
}
