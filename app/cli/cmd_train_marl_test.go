package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/marl"
)

// Bad multi-agent command lines are usage errors (exit status 2) that say
// what is wrong, and none of them trains.
func TestTrainMARLFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"single-agent algo on a multi-agent env", []string{"--algo", "ppo", "--env", "spread"}, "choose --algo maddpg, qmix or vdn"},
		{"default algo on a multi-agent env", []string{"--env", "matrix2"}, "is multi-agent"},
		{"multi-agent algo on a single-agent env", []string{"--algo", "qmix", "--env", "cartpole"}, "choose --env spread"},
		{"multi-agent algo, default env", []string{"--algo", "vdn"}, "cartpole is single-agent"},
		{"unknown env with a multi-agent algo", []string{"--algo", "maddpg", "--env", "mars"}, "choose --env"},
		{"curriculum off the trading world", []string{"--algo", "qmix", "--env", "spread", "--curriculum"}, "trading world only"},
		{"curriculum with maddpg", []string{"--algo", "maddpg", "--env", "trading-ma", "--curriculum"}, "not MADDPG"},
		{"--steps on a multi-agent run", []string{"--algo", "qmix", "--env", "spread", "--steps", "100"}, "--steps is for single-agent"},
		{"--checkpoint-every with maddpg", []string{"--algo", "maddpg", "--env", "spread", "--out", dir, "--checkpoint-every", "5"}, "--checkpoint-every is for single-agent"},
		{"--workers on a multi-agent run", []string{"--algo", "vdn", "--env", "supply", "--workers", "3"}, "--workers is for single-agent"},
		{"negative episodes", []string{"--algo", "qmix", "--env", "matrix2", "--episodes", "-1"}, "must not be negative"},
		{"bad hidden", []string{"--algo", "qmix", "--env", "matrix2", "--hidden", "0"}, "--hidden"},
		{"--episodes on a single-agent run", []string{"--algo", "ppo", "--env", "cartpole", "--episodes", "10"}, "multi-agent runs"},
		{"--curriculum on a single-agent run", []string{"--algo", "sac", "--env", "pendulum", "--curriculum"}, "multi-agent runs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			env := command.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
			err := runTrain(t.Context(), env, append(tc.args, "--quiet"))
			if ExitCode(err) != 2 {
				t.Fatalf("%v: %v, want a usage error", tc.args, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: %q does not say %q", tc.args, err, tc.want)
			}
			if out.Len() > 0 {
				t.Errorf("%v: printed %q", tc.args, out.String())
			}
		})
	}
}

// A short real run: QMIX on the two-step matrix game learns the optimal
// joint return 8, as in app/marl's tests, writes a checkpoint that loads,
// and prints the summary line.
func TestTrainMARLMatrix2(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	env := command.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	args := []string{"--algo", "qmix", "--env", "matrix2", "--episodes", "400", "--eval-episodes", "20", "--out", dir}
	if err := runTrain(t.Context(), env, args); err != nil {
		t.Fatalf("train: %v (%s)", err, errb.String())
	}
	line := out.String()
	t.Log(strings.TrimSpace(line))
	for _, want := range []string{"qmix matrix2 seed 1: 400 episodes", "greedy team return 8.00 ± 0.00 (95% CI over 20 held-out episodes", "checkpoint " + filepath.Join(dir, "checkpoint.ckpt")} {
		if !strings.Contains(line, want) {
			t.Errorf("summary %q lacks %q", line, want)
		}
	}
	if !strings.Contains(errb.String(), "episodes") {
		t.Errorf("no progress bar on stderr: %q", errb.String())
	}
	f, err := os.Open(filepath.Join(dir, "checkpoint.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	q, cur, err := marl.LoadQMIX(f)
	if err != nil {
		t.Fatal(err)
	}
	if q.Episodes != 400 || q.Config.Mixer != "qmix" || cur != nil {
		t.Errorf("checkpoint holds %d episodes of %s, curriculum %v", q.Episodes, q.Config.Mixer, cur)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".checkpoint.ckpt.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// 200 episodes, then --resume to 400, ends with the same checkpoint,
	// byte for byte, as the uninterrupted run; the resumed run takes its
	// algorithm, environment and directory from the checkpoint.
	half := t.TempDir()
	if err := runTrain(t.Context(), env, []string{"--algo", "qmix", "--env", "matrix2", "--episodes", "200", "--eval-episodes", "2", "--out", half, "--quiet"}); err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(half, "checkpoint.ckpt")
	if err := runTrain(t.Context(), env, []string{"--algo", "vdn", "--resume", ck, "--quiet"}); ExitCode(err) != 2 || !strings.Contains(err.Error(), "is a qmix checkpoint") {
		t.Errorf("resuming qmix as vdn: %v, want a usage error", err)
	}
	out.Reset()
	if err := runTrain(t.Context(), env, []string{"--resume", ck, "--episodes", "400", "--eval-episodes", "2", "--quiet"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "qmix matrix2 seed 1: 400 episodes") {
		t.Errorf("resumed summary %q", out.String())
	}
	a, err := os.ReadFile(filepath.Join(dir, "checkpoint.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(ck)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("resumed checkpoint (%d bytes) differs from the uninterrupted run's (%d bytes)", len(b), len(a))
	}
}

// MADDPG writes a checkpoint too: 60 episodes, then --resume to 120, end
// with the same checkpoint, byte for byte, as 120 uninterrupted episodes;
// the resumed run takes its algorithm, world and seed from the file.
func TestTrainMARLMADDPGResume(t *testing.T) {
	var out, errb bytes.Buffer
	env := command.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	whole, half := t.TempDir(), t.TempDir()
	base := []string{"--algo", "maddpg", "--env", "spread", "--hidden", "16", "--eval-episodes", "2", "--quiet"}
	if err := runTrain(t.Context(), env, append(base, "--episodes", "120", "--out", whole)); err != nil {
		t.Fatalf("train: %v (%s)", err, errb.String())
	}
	if !strings.Contains(out.String(), "maddpg spread seed 1: 120 episodes") || !strings.Contains(out.String(), "checkpoint "+filepath.Join(whole, "checkpoint.ckpt")) {
		t.Errorf("summary %q", out.String())
	}
	if err := runTrain(t.Context(), env, append(base, "--episodes", "60", "--out", half)); err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(half, "checkpoint.ckpt")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--algo", "qmix", "--resume", ck}, "is a maddpg checkpoint, not qmix"},
		{[]string{"--resume", ck, "--curriculum"}, "the curriculum trains qmix or vdn"},
		{[]string{"--resume", ck, "--env", "supply"}, "was trained on spread"},
		{[]string{"--resume", ck, "--hidden", "32"}, "cannot change"},
	} {
		if err := runTrain(t.Context(), env, append(c.args, "--quiet")); ExitCode(err) != 2 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
	out.Reset()
	if err := runTrain(t.Context(), env, []string{"--resume", ck, "--episodes", "120", "--eval-episodes", "2", "--quiet"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "maddpg spread seed 1: 120 episodes (60 resumed, 60 more") {
		t.Errorf("resumed summary %q", out.String())
	}
	a, err := os.ReadFile(filepath.Join(whole, "checkpoint.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(ck)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("resumed checkpoint (%d bytes) differs from the uninterrupted run's (%d bytes)", len(b), len(a))
	}
	m, err := marl.LoadMADDPG(bytes.NewReader(a))
	if err != nil || m.Episodes != 120 || m.Updates == 0 {
		t.Errorf("checkpoint: %v, %+v", err, m)
	}
}
