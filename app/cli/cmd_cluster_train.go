package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/rl"
)

// runClusterTrain is `metastation cluster train`: it starts a PPO run on a
// cluster node (POST /api/rl/runs with cluster set), which learns there and
// spreads its rollouts over every member, and follows the run's progress
// until it ends. Ctrl-C stops following; the run carries on (the Learning
// page shows it, POST /api/rl/runs/ID/stop stops it).
func runClusterTrain(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("cluster train", env.Stderr)
	web := fs.String("web", "http://127.0.0.1:8081", "web `URL` of the node that learns (any member)")
	envName := fs.String("env", "trading", "environment: trading or cartpole")
	steps := fs.Int("steps", 0, "environment `steps` in total (default: the environment's PPO budget)")
	seed := fs.Uint64("seed", 1, "random `seed`; the same seed gives the same run on any number of nodes")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	base := strings.TrimRight(*web, "/")
	body, _ := json.Marshal(map[string]any{"algo": "ppo", "env": *envName, "steps": *steps, "seed": *seed, "cluster": true})
	var info rl.RunInfo
	if err := postJSON(ctx, base+"/api/rl/runs", body, &info); err != nil {
		return fmt.Errorf("cluster train: start the run on %s: %w", base, err)
	}
	fmt.Fprintf(env.Stdout, "run %d started on %s: ppo %s seed %d, %d steps, rollouts spread over the cluster\n", info.ID, base, *envName, *seed, info.Total)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var bar *progressbar.ProgressBar
	if !*quiet {
		bar = command.NewProgress(env.Stderr, int64(info.Total), "ppo "+*envName, "steps")
	}
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintf(env.Stderr, "\nstopped following run %d; it carries on (stop it with POST %s/api/rl/runs/%d/stop)\n", info.ID, base, info.ID)
			return nil
		case <-time.After(500 * time.Millisecond):
		}
		cur, err := getRun(ctx, base, info.ID)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			return fmt.Errorf("cluster train: follow run %d: %w", info.ID, err)
		}
		if bar != nil {
			bar.Describe(fmt.Sprintf("ppo %s %s return %.1f", *envName, cur.Status, cur.Return))
			bar.Set(cur.Steps)
		}
		switch cur.Status {
		case "done":
			if bar != nil {
				bar.Finish()
				fmt.Fprintln(env.Stderr)
			}
			eval := "no evaluation"
			if cur.EvalReturn != nil {
				eval = fmt.Sprintf("evaluation return %.2f", *cur.EvalReturn)
			}
			fmt.Fprintf(env.Stdout, "run %d done: %d steps, training return %.2f, %s\n", cur.ID, cur.Steps, cur.Return, eval)
			return nil
		case "failed", "stopped":
			return fmt.Errorf("cluster train: run %d %s: %s", cur.ID, cur.Status, cur.Error)
		}
	}
}

func postJSON(ctx context.Context, url string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return doJSON(req, out)
}

func doJSON(req *http.Request, out any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, out)
}

// getRun finds run id in the node's list of runs.
func getRun(ctx context.Context, base string, id int64) (rl.RunInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/rl/runs", nil)
	if err != nil {
		return rl.RunInfo{}, err
	}
	var list []rl.RunInfo
	if err := doJSON(req, &list); err != nil {
		return rl.RunInfo{}, err
	}
	for _, r := range list {
		if r.ID == id {
			return r, nil
		}
	}
	return rl.RunInfo{}, fmt.Errorf("the node no longer lists run %d", id)
}
