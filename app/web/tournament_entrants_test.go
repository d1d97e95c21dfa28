package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/entrant"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/tournament"
)

// writeMARLCheckpoint trains a small learner of env for a few episodes
// (seed 1, or the seed given) and writes its checkpoint (marl.SaveQMIX) to
// path.
func writeMARLCheckpoint(t *testing.T, path, env string, seed ...uint64) {
	t.Helper()
	cfg := marl.DefaultQMIXConfig(env, "vdn")
	if len(seed) > 0 {
		cfg.Seed = seed[0]
	}
	cfg.Episodes, cfg.BatchSize, cfg.Hidden = 12, 4, []int{16}
	q, err := marl.NewQMIX(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tr, ok := q.Env.(*marl.TradingMA); ok {
		tr.Horizon = 20
	}
	for !q.Done() {
		q.Run()
	}
	var buf bytes.Buffer
	if err := marl.SaveQMIX(&buf, q, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// postEntrant sends body to POST /api/tournament/entrants.
func postEntrant(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	return entrantCall(t, http.MethodPost, url+"api/tournament/entrants", body)
}

// entrantCall sends one request to the entrants API and decodes its answer.
func entrantCall(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	code, b := httpDo(t, method, url, body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return code, out
}

// POST /api/tournament/entrants: a good checkpoint enters once; missing
// files, paths outside the data directory's runs/ folder, other worlds and
// duplicates are refused with a sentence and the right status.
func TestTournamentEntrantRoutes(t *testing.T) {
	cfg := testConfig(t)
	runs := filepath.Join(cfg.DataDir, "runs")
	writeMARLCheckpoint(t, filepath.Join(runs, "good", "checkpoint.ckpt"), "trading-ma")
	writeMARLCheckpoint(t, filepath.Join(runs, "matrix", "checkpoint.ckpt"), "matrix2")
	writeMARLCheckpoint(t, filepath.Join(runs, "seed2", "checkpoint.ckpt"), "trading-ma", 2)
	writeMARLCheckpoint(t, filepath.Join(cfg.DataDir, "outside.ckpt"), "trading-ma")
	if err := os.WriteFile(filepath.Join(runs, "junk.ckpt"), []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(cfg.DataDir, "outside.ckpt"), filepath.Join(runs, "escape.ckpt")); err != nil {
		t.Fatal(err)
	}
	tc := fastTournament()
	tc.FirstWait = time.Hour // no round starts: the roster only grows
	srv, url := startTournamentServerAt(t, cfg, tc)
	for _, c := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"good file", `{"checkpoint": "good/checkpoint.ckpt"}`, 201, ""},
		{"duplicate", `{"checkpoint": "good/checkpoint.ckpt"}`, 409, `"rl-vdn-mix-s1" (Regime-Mix Learner) is already in the tournament`},
		{"another run's learner", `{"checkpoint": "seed2/checkpoint.ckpt"}`, 201, ""},
		{"missing", `{"checkpoint": "nope/checkpoint.ckpt"}`, 404, "There is no checkpoint runs/nope/checkpoint.ckpt"},
		{"outside the dir", `{"checkpoint": "../outside.ckpt"}`, 400, "no absolute paths, no .."},
		{"outside, hidden in the middle", `{"checkpoint": "good/../../outside.ckpt"}`, 400, "no absolute paths, no .."},
		{"absolute", `{"checkpoint": "` + filepath.Join(cfg.DataDir, "outside.ckpt") + `"}`, 400, "no absolute paths"},
		{"symbolic link out", `{"checkpoint": "escape.ckpt"}`, 400, "inside the data directory's runs/ folder"},
		{"a directory", `{"checkpoint": "good"}`, 400, "not a regular file"},
		{"wrong world", `{"checkpoint": "matrix/checkpoint.ckpt"}`, 400, `trained on "matrix2", which is not a trading-world learner`},
		{"not a checkpoint", `{"checkpoint": "junk.ckpt"}`, 400, "runs/junk.ckpt is not a trading-world checkpoint"},
		{"empty", `{"checkpoint": ""}`, 400, "Name either a checkpoint"},
		{"too long", `{"checkpoint": "` + strings.Repeat("a/", 300) + `"}`, 400, "must be a path inside"},
		{"bad json", `{"checkpoint": 3}`, 400, ""},
		{"neither", `{}`, 400, "Name either a checkpoint"},
		{"both", `{"checkpoint": "good/checkpoint.ckpt", "run": 1}`, 400, "Name either a checkpoint"},
		{"negative run", `{"run": -2}`, 400, "whole number from 1"},
		{"no such run", `{"run": 9}`, 404, "There is no multi-agent run 9."},
	} {
		code, out := postEntrant(t, url, c.body)
		msg, _ := out["error"].(string)
		if code != c.status || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %v, want %d %q", c.name, code, out, c.status, c.want)
		}
		if code >= 400 && !strings.HasSuffix(msg, ".") {
			t.Errorf("%s: error %q is not a sentence", c.name, msg)
		}
		if c.name == "good file" {
			p, _ := out["profile"].(map[string]any)
			if p["id"] != "rl-vdn-mix-s1" || out["from_round"] != 1.0 {
				t.Errorf("entered: %v", out)
			}
		}
	}
	ids := func() (ids []string) {
		for _, p := range srv.Tournament.State().Profiles {
			ids = append(ids, p.ID)
		}
		return ids
	}
	if got := ids(); len(got) != 7 || got[5] != "rl-vdn-mix-s1" || got[6] != "rl-vdn-mix-s2" {
		t.Errorf("profiles after the entries: %v", got)
	}
	// The cap: entrants with new ids fill the tournament up to MaxStrategies.
	for k := len(ids()); k < tournament.MaxStrategies; k++ {
		if _, err := srv.Tournament.Enter(func(uint64) tournament.Strategy { return namedStrategy(k) }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.Tournament.Enter(func(uint64) tournament.Strategy { return namedStrategy(99) }); err == nil || !strings.Contains(err.Error(), "full") {
		t.Errorf("the tournament took an entrant beyond %d: %v", tournament.MaxStrategies, err)
	}
}

type namedStrategy int

func (n namedStrategy) Profile() tournament.Profile {
	id := "cash-" + string(rune('a'+int(n)))
	return tournament.Profile{ID: id, Name: id}
}
func (namedStrategy) Decide(_ *tournament.View, out []tournament.Order) []tournament.Order {
	return out
}

// After an entrant is entered through the API, the next round's results and
// the season's standings include it, and the rounds before did not.
func TestTournamentEntrantPlaysNextRound(t *testing.T) {
	cfg := testConfig(t)
	writeMARLCheckpoint(t, filepath.Join(cfg.DataDir, "runs", "a", "checkpoint.ckpt"), "trading-ma")
	tc := tournament.Config{Seed: 5, Speed: -1, Round: tournament.RoundConfig{Length: 90 * time.Minute},
		FirstWait: 10 * time.Millisecond, VoteWindow: 300 * time.Millisecond, PublishEvery: 50 * time.Millisecond}
	srv, url := startTournamentServerAt(t, cfg, tc)
	waitFor(t, "round 1 to finish", 20*time.Second, func() bool { return srv.Tournament.State().LastResult != nil })
	code, out := postEntrant(t, url, `{"checkpoint": "a/checkpoint.ckpt"}`)
	if code != 201 {
		t.Fatalf("enter: %d %v", code, out)
	}
	from := int64(out["from_round"].(float64))
	t.Logf("entered; plays from round %d", from)
	inStandings := func() bool {
		return slices.ContainsFunc(srv.Tournament.State().Standings, func(s tournament.Standing) bool { return s.Strategy == "rl-vdn-mix-s1" })
	}
	waitFor(t, "the learner in the standings", 30*time.Second, inStandings)
	var first int64
	var n int
	if err := srv.DB.R.QueryRow(`SELECT min(round), count(*) FROM tournament_results WHERE strategy = 'rl-vdn-mix-s1'`).Scan(&first, &n); err != nil {
		t.Fatal(err)
	}
	if first != from {
		t.Errorf("the learner first played round %d, expected %d", first, from)
	}
	st := srv.Tournament.State()
	t.Logf("after round %d: %d results of the learner; standings %v", st.Round, n, st.Standings)
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// --tournament-agent (its environment twin is checked in app/cli) enters a checkpoint
// at start-up; a bad file stops the start with a clear error.
func TestTournamentEntrantFlag(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ckpt")
	writeMARLCheckpoint(t, good, "trading-ma")
	wrong := filepath.Join(dir, "wrong.ckpt")
	writeMARLCheckpoint(t, wrong, "matrix2")
	cfg := testConfig(t)
	cfg.TournamentAgent = good
	srv, _ := startServerWith(t, cfg, nil)
	if ps := srv.Tournament.Profiles(); ps[len(ps)-1].ID != "rl-vdn-mix-s1" {
		t.Errorf("profiles with --tournament-agent: %v", ps)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct{ file, want string }{
		{filepath.Join(dir, "missing.ckpt"), "--tournament-agent " + filepath.Join(dir, "missing.ckpt") + ": open"},
		{wrong, `--tournament-agent ` + wrong + `: trading agent: the checkpoint was trained on "matrix2"`},
		{dir, "not a regular file"},
	} {
		cfg := testConfig(t)
		cfg.TournamentAgent = c.file
		_, err := app.New(context.Background(), cfg, log, testAssets())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--tournament-agent %s: %v, want %q", c.file, err, c.want)
		}
	}
}

// Learners entered through the API are entered again when the server
// restarts on the same data directory; one whose checkpoint has gone since
// is skipped and the server still starts.
func TestTournamentEntrantsSurviveRestart(t *testing.T) {
	cfg := testConfig(t)
	runs := filepath.Join(cfg.DataDir, "runs")
	writeMARLCheckpoint(t, filepath.Join(runs, "a", "checkpoint.ckpt"), "trading-ma")
	writeMARLCheckpoint(t, filepath.Join(runs, "b", "checkpoint.ckpt"), "trading-ma", 2)
	_, url, stopFirst := startServerToStop(t, cfg, nil)
	for _, body := range []string{`{"checkpoint": "./a//checkpoint.ckpt"}`, `{"checkpoint": "b/checkpoint.ckpt"}`} {
		if code, out := postEntrant(t, url, body); code != 201 {
			t.Fatalf("enter %s: %d %v", body, code, out)
		}
	}
	stopFirst()
	if err := os.Remove(filepath.Join(runs, "b", "checkpoint.ckpt")); err != nil {
		t.Fatal(err)
	}
	second, _ := startServerWith(t, cfg, nil)
	var ids []string
	for _, p := range second.Tournament.Profiles() {
		ids = append(ids, p.ID)
	}
	if !slices.Contains(ids, "rl-vdn-mix-s1") || slices.Contains(ids, "rl-vdn-mix-s2") || len(ids) != 6 {
		t.Errorf("profiles after the restart: %v, want the five built-ins and rl-vdn-mix-s1", ids)
	}
	// a is remembered by its clean path; b, whose checkpoint is gone, is
	// forgotten: it can never come back.
	if got, err := entrant.NewService(cfg.DataDir, second.DB, second.Tournament, nil, nil).Remembered(t.Context()); err != nil || !slices.Equal(got, []string{"runs/a/checkpoint.ckpt"}) {
		t.Errorf("remembered entrants after the restart: %v %v, want [runs/a/checkpoint.ckpt]", got, err)
	}
}

// A finished trading-world run of the Training page enters by its id
// ({"run": N}); other worlds, MADDPG and unfinished runs are refused with a
// sentence, and the entrant comes back after a restart like any other.
func TestTournamentEntrantFromRun(t *testing.T) {
	cfg := testConfig(t)
	// A short final evaluation keeps the runs quick.
	srv, url, stop := startServerToStop(t, cfg, func(s *app.App) (err error) {
		s.MARL, err = marl.NewService(marl.ServiceConfig{Dir: filepath.Join(cfg.DataDir, "marl"), EvalEpisodes: 3}, s.Bus, s.Writer, s.DB, s.Log)
		return err
	})
	start := func(spec marl.RunSpec) int64 {
		info, err := srv.MARL.Start(t.Context(), spec)
		if err != nil {
			t.Fatal(err)
		}
		return info.ID
	}
	status := func(id int64) string {
		info, err := srv.MARL.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		return string(info.Status)
	}
	trading := start(marl.RunSpec{Env: "trading-ma", Algo: "vdn", Episodes: 12, Seed: 5})
	spread := start(marl.RunSpec{Env: "spread", Algo: "qmix", Episodes: 10, Seed: 1})
	maddpg := start(marl.RunSpec{Env: "trading-ma", Algo: "maddpg", Episodes: 3, Seed: 1})
	waitFor(t, "the three runs", 60*time.Second, func() bool {
		return status(trading) == "done" && status(spread) == "done" && status(maddpg) == "done"
	})
	long := start(marl.RunSpec{Env: "trading-ma", Algo: "vdn", Episodes: 20000, Seed: 6})
	waitFor(t, "the long run to train", 20*time.Second, func() bool { return status(long) == "running" })
	for _, c := range []struct {
		name   string
		id     int64
		status int
		want   string
	}{
		{"finished trading run", trading, 201, ""},
		{"the same again", trading, 409, `"rl-vdn-mix-s5" (Regime-Mix Learner #5) is already in the tournament`},
		{"another world", spread, 400, "Run 2 is qmix on spread; only trading-world QMIX or VDN learners"},
		{"MADDPG", maddpg, 400, "Run 3 is maddpg on trading-ma"},
		{"still training", long, 409, "Run 4 is running; a learner enters the tournament once its run is done."},
	} {
		code, out := postEntrant(t, url, fmt.Sprintf(`{"run": %d}`, c.id))
		msg, _ := out["error"].(string)
		if code != c.status || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %v, want %d %q", c.name, code, out, c.status, c.want)
		}
	}
	stop()
	again, _ := startServerWith(t, cfg, nil)
	if !slices.ContainsFunc(again.Tournament.Profiles(), func(p tournament.Profile) bool { return p.ID == "rl-vdn-mix-s5" }) {
		t.Errorf("after a restart the run's learner is not in the tournament: %v", again.Tournament.Profiles())
	}
}

// deleteEntrant sends DELETE /api/tournament/entrants/{strategy}.
func deleteEntrant(t *testing.T, url, strategy string) (int, map[string]any) {
	t.Helper()
	return entrantCall(t, http.MethodDelete, url+"api/tournament/entrants/"+strategy, "")
}

// DELETE /api/tournament/entrants/{strategy} withdraws an entrant and
// forgets it: house strategies and unknown ids are refused with a
// sentence, and after a restart on the same data directory the withdrawn
// learner does not come back while the other one does; it can be entered
// again.
func TestTournamentEntrantWithdraw(t *testing.T) {
	cfg := testConfig(t)
	runs := filepath.Join(cfg.DataDir, "runs")
	writeMARLCheckpoint(t, filepath.Join(runs, "a", "checkpoint.ckpt"), "trading-ma")
	writeMARLCheckpoint(t, filepath.Join(runs, "b", "checkpoint.ckpt"), "trading-ma", 2)
	first, url, stopFirst := startServerToStop(t, cfg, nil)
	for _, body := range []string{`{"checkpoint": "a/checkpoint.ckpt"}`, `{"checkpoint": "b/checkpoint.ckpt"}`} {
		if code, out := postEntrant(t, url, body); code != 201 {
			t.Fatalf("enter %s: %d %v", body, code, out)
		}
	}
	for _, c := range []struct {
		id     string
		status int
		want   string
	}{
		{"momentum", 400, `"momentum" (Momentum Chaser) is one of the house strategies; only entrants can be withdrawn.`},
		{"nobody", 404, `There is no strategy "nobody" in the tournament.`},
		{"rl-vdn-mix-s1", 200, ""},
		{"rl-vdn-mix-s1", 404, `There is no strategy "rl-vdn-mix-s1" in the tournament.`},
	} {
		code, out := deleteEntrant(t, url, c.id)
		msg, _ := out["error"].(string)
		if code != c.status || !strings.Contains(msg, c.want) {
			t.Errorf("withdraw %s: %d %v, want %d %q", c.id, code, out, c.status, c.want)
		}
		if code == 200 {
			last, _ := out["last_round"].(float64)
			gone, _ := out["gone_from_round"].(float64)
			if out["strategy"] != c.id || gone < 1 || last != gone-1 {
				t.Errorf("withdraw %s: answer %v", c.id, out)
			}
		}
	}
	if slices.ContainsFunc(first.Tournament.State().Profiles, func(p tournament.Profile) bool { return p.ID == "rl-vdn-mix-s1" }) {
		t.Error("the withdrawn learner is still in the profiles")
	}
	stopFirst()
	second, url2 := startServerWith(t, cfg, nil)
	var ids []string
	for _, p := range second.Tournament.Profiles() {
		ids = append(ids, p.ID)
	}
	if slices.Contains(ids, "rl-vdn-mix-s1") || !slices.Contains(ids, "rl-vdn-mix-s2") || len(ids) != 6 {
		t.Errorf("profiles after the restart: %v, want the five built-ins and rl-vdn-mix-s2", ids)
	}
	var n int
	if err := second.DB.R.QueryRow(`SELECT count(*) FROM tournament_entrants WHERE strategy = 'rl-vdn-mix-s1'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the withdrawn learner is still remembered: %d %v", n, err)
	}
	if code, out := postEntrant(t, url2, `{"checkpoint": "a/checkpoint.ckpt"}`); code != 201 {
		t.Errorf("enter the withdrawn learner again: %d %v", code, out)
	}
}
