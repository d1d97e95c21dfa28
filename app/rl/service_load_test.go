package rl

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/runs"
	"github.com/metastation/metastation/app/store"
)

// TestServiceLoad trains runs with one service, then builds a second on the
// same database and directory, as a server restart does: the runs come back
// with their curves and the same episode returns, a run left running is
// stopped and resumable, one left queued is stopped and resumable (it
// trained nothing, so it starts afresh: it used to answer a conflict), the
// stopped run resumes from its checkpoint to the end, and new runs get ids
// after the old ones.
func TestServiceLoad(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, w := openTestDB(t, dir, log)
	ckpts := filepath.Join(dir, "rl")

	// The first session.
	first, err := NewService(ServiceConfig{Dir: ckpts}, bus.New(), w, db, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx1, cancel1 := context.WithCancel(ctx)
	done1 := make(chan error, 1)
	go func() { done1 <- first.Run(ctx1) }()
	start := func(s *Service, steps int, seed uint64) RunInfo {
		t.Helper()
		r, err := s.Start(ctx, RunSpec{Algo: "ppo", Env: "cartpole", Steps: steps, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	finished := start(first, 4*512, 3)
	finishedInfo := waitStatus(t, first, finished.ID, "done")
	stopped := start(first, 12*512, 4)
	waitSteps(t, first, stopped.ID, 2*512)
	if _, err := first.Stop(stopped.ID); err != nil {
		t.Fatal(err)
	}
	stoppedInfo := waitStatus(t, first, stopped.ID, "stopped")
	if stoppedInfo.Steps >= 12*512 || stoppedInfo.Steps < 2*512 || !stoppedInfo.Resumable {
		t.Fatalf("the run to stop mid-way: %+v", stoppedInfo)
	}
	// One run is training and one waits when the session ends.
	running := start(first, 40*512, 5)
	// Its network is not the default: the reload must keep it, as a run
	// that trained nothing starts afresh from its spec.
	queued, err := first.Start(ctx, RunSpec{Algo: "ppo", Env: "cartpole", Steps: 2 * 512, Seed: 6, Hidden: []int{16, 8}})
	if err != nil {
		t.Fatal(err)
	}
	waitSteps(t, first, running.ID, 512)
	cancel1()
	if err := <-done1; err != nil {
		t.Fatal(err)
	}
	// What the page drew before the restart: every point's episode returns.
	returnsBefore := map[int64][]float64{}
	for _, id := range []int64{finished.ID, stopped.ID, running.ID} {
		returnsBefore[id] = returnsOf(first.Metrics(id))
		if len(returnsBefore[id]) == 0 {
			t.Fatalf("run %d finished no episode before the restart", id)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A server that dies records nothing more: the running run is left
	// "running", with the steps of its last status change. And a run that
	// died before its first checkpoint.
	if _, err := db.W.ExecContext(ctx, `UPDATE rl_runs SET status = 'running', steps = 0 WHERE id = ?`, running.ID); err != nil {
		t.Fatal(err)
	}
	crashed := start(first, 8*512, 7)
	if _, err := db.W.ExecContext(ctx, `UPDATE rl_runs SET status = 'running' WHERE id = ?`, crashed.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.ExecContext(ctx, `INSERT INTO rl_metrics (run_id, steps, mean_return, episodes) VALUES (?, 512, 20, 3)`, crashed.ID); err != nil {
		t.Fatal(err)
	}
	var runningSteps int
	if err := db.R.QueryRowContext(ctx, `SELECT MAX(steps) FROM rl_metrics WHERE run_id = ?`, running.ID).Scan(&runningSteps); err != nil {
		t.Fatal(err)
	}
	// It trained on past its last checkpoint before it died; and so, in
	// an earlier life, did the stopped run, whose point past its
	// checkpoint must go when it resumes.
	runningSteps += 512
	stale := stoppedInfo.Steps + 100
	for _, p := range [][2]int64{{running.ID, int64(runningSteps)}, {stopped.ID, int64(stale)}} {
		if _, err := db.W.ExecContext(ctx, `INSERT INTO rl_metrics (run_id, steps, mean_return, episodes) VALUES (?, ?, 30, 2)`, p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}

	// The second session.
	b := bus.New()
	live := b.Subscribe(1024, TopicMetrics.Name)
	defer live.Close()
	second, err := NewService(ServiceConfig{Dir: ckpts}, b, w, db, log)
	if err != nil {
		t.Fatal(err)
	}
	curves := map[int64][]RunMetric{}
	if err := second.Load(ctx, func(m RunMetric) { curves[m.Run] = append(curves[m.Run], m) }); err != nil {
		t.Fatal(err)
	}
	byID := map[int64]RunInfo{}
	for _, r := range second.Runs() {
		byID[r.ID] = r
	}
	if len(byID) != 5 {
		t.Fatalf("loaded %d runs, want 5: %+v", len(byID), second.Runs())
	}
	check := func(id int64, status runs.Status, steps int, resumable bool, points int) RunInfo {
		t.Helper()
		r := byID[id]
		if r.Status != status || r.Steps != steps || r.Resumable != resumable || len(curves[id]) != points {
			t.Errorf("run %d: %s at %d steps, resumable %v, %d points; want %s, %d, %v, %d", id, r.Status, r.Steps, r.Resumable, len(curves[id]), status, steps, resumable, points)
		}
		for i, m := range curves[id] {
			if i > 0 && m.Steps <= curves[id][i-1].Steps {
				t.Errorf("run %d: curve out of order at %d", id, i)
			}
		}
		return r
	}
	fin := check(finished.ID, "done", 4*512, false, 4)
	if fin.EvalReturn == nil || *fin.EvalReturn != *finishedInfo.EvalReturn || fin.Return != finishedInfo.Return || fin.Spec.Seed != 3 || fin.Total != 4*512 {
		t.Errorf("finished run after the restart: %+v, before: %+v", fin, finishedInfo)
	}
	if p, err := second.CheckpointPath(finished.ID); err != nil || p != finishedInfo.Checkpoint {
		t.Errorf("checkpoint of the finished run: %q, %v", p, err)
	}
	if last := curves[finished.ID][3]; last.Steps != 4*512 || last.ApproxKL == 0 || last.Entropy == 0 {
		t.Errorf("last point of the finished run: %+v", last)
	}
	check(stopped.ID, "stopped", stoppedInfo.Steps, true, stoppedInfo.Steps/512+1)
	check(running.ID, "stopped", runningSteps, true, runningSteps/512)
	check(queued.ID, "stopped", 0, true, 0)
	if h := byID[queued.ID].Spec.Hidden; !slices.Equal(h, []int{16, 8}) {
		t.Errorf("the queued run's hidden sizes after the reload: %v, want [16 8]", h)
	}
	if r := check(crashed.ID, "failed", 512, false, 1); r.Error == "" {
		t.Errorf("the run that died before its first checkpoint says nothing: %+v", r)
	}
	// The histogram after the restart: the same returns, from the curve the
	// service rebuilt and from the points Load handed out.
	for id, before := range returnsBefore {
		if after := returnsOf(second.Metrics(id)); !sameMultiset(before, after) {
			t.Errorf("run %d: %d episode returns before the restart, %d after, or not the same", id, len(before), len(after))
		}
		if loaded := returnsOf(curves[id]); !sameMultiset(before, loaded) {
			t.Errorf("run %d: Load handed out %d episode returns, want the %d from before", id, len(loaded), len(before))
		}
	}
	if _, err := second.Resume(crashed.ID); !errs.Is(err, errs.Conflict) {
		t.Errorf("resuming a run that trained but left no checkpoint: %v", err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]string{running.ID: "stopped", queued.ID: "stopped", crashed.ID: "failed"} {
		var status string
		if err := db.R.QueryRowContext(ctx, `SELECT status FROM rl_runs WHERE id = ?`, id).Scan(&status); err != nil || status != want {
			t.Errorf("run %d recorded %q (%v), want %s", id, status, err, want)
		}
	}

	// The stopped run continues from its checkpoint to the end.
	ctx2, cancel2 := context.WithCancel(ctx)
	done2 := make(chan error, 1)
	go func() { done2 <- second.Run(ctx2) }()
	defer func() {
		cancel2()
		if err := <-done2; err != nil {
			t.Error(err)
		}
	}()
	if _, err := second.Resume(stopped.ID); err != nil {
		t.Fatal(err)
	}
	if r := waitStatus(t, second, stopped.ID, "done"); r.Steps != 12*512 || r.EvalReturn == nil || r.Resumable {
		t.Errorf("the resumed run ended %+v", r)
	}
	var firstLive RunMetric
	n := 0
	for len(live.C()) > 0 {
		if m, ok := (<-live.C()).Payload.(RunMetric); ok && m.Run == stopped.ID {
			if n == 0 {
				firstLive = m
			}
			n++
		}
	}
	if firstLive.Steps != stoppedInfo.Steps+512 || n != (12*512-stoppedInfo.Steps)/512 {
		t.Errorf("after the restart the run trained %d updates from %d steps; want %d from %d", n, firstLive.Steps-512, (12*512-stoppedInfo.Steps)/512, stoppedInfo.Steps)
	}

	// The run the last session left waiting trains from step 0 to its end.
	if r, err := second.Resume(queued.ID); err != nil || r.Status != "queued" {
		t.Fatalf("resuming the run left waiting: %+v, %v", r, err)
	}
	if r := waitStatus(t, second, queued.ID, "done"); r.Steps != 2*512 || r.EvalReturn == nil || r.Resumable {
		t.Errorf("the run left waiting ended %+v", r)
	}
	var steps []int
	for len(live.C()) > 0 {
		if m, ok := (<-live.C()).Payload.(RunMetric); ok && m.Run == queued.ID {
			steps = append(steps, m.Steps)
		}
	}
	if len(steps) != 2 || steps[0] != 512 || steps[1] != 1024 {
		t.Errorf("the run left waiting trained the points %v; want [512 1024]", steps)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var points, past int
	if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(CASE WHEN steps = ? THEN 1 END) FROM rl_metrics WHERE run_id = ?`, stale, stopped.ID).Scan(&points, &past); err != nil {
		t.Fatal(err)
	}
	if points != 12 || past != 0 {
		t.Errorf("the resumed run's curve holds %d points, %d of them past its checkpoint from an earlier life; want 12 and 0", points, past)
	}
	if next := start(second, 512, 8); next.ID <= crashed.ID {
		t.Errorf("a new run got id %d, not after the old ones (last %d)", next.ID, crashed.ID)
	}
}

// waitSteps waits until run id has trained at least steps.
func waitSteps(t *testing.T, s *Service, id int64, steps int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range s.Runs() {
			if r.ID == id && r.Steps >= steps {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("run %d never reached %d steps: %+v", id, steps, s.Runs())
}

// TestServiceReturnsWithinCap trains a run whose curve holds more points
// and episode returns than its (small) caps, then reloads it: the reloaded
// curve is the one the first session held, point for point and return for
// return, and the database keeps no more returns than the cap.
func TestServiceReturnsWithinCap(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, w := openTestDB(t, dir, log)
	cfg := ServiceConfig{Dir: filepath.Join(dir, "rl"), CurvePoints: 7, CurveEpisodes: 60}

	first, err := NewService(cfg, bus.New(), w, db, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx1, cancel1 := context.WithCancel(ctx)
	done1 := make(chan error, 1)
	go func() { done1 <- first.Run(ctx1) }()
	r, err := first.Start(ctx, RunSpec{Algo: "ppo", Env: "cartpole", Steps: 24 * 512, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, first, r.ID, "done")
	cancel1()
	if err := <-done1; err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	before := first.Metrics(r.ID)
	held := len(returnsOf(before))
	if len(before) > 7 || held == 0 || held > 60 {
		t.Fatalf("the curve holds %d points and %d returns; caps 7 and 60", len(before), held)
	}
	var stored, rows int
	if err := db.R.QueryRowContext(ctx, `SELECT COALESCE(SUM(LENGTH(episode_returns)), 0) / 8, COUNT(*) FROM rl_metrics WHERE run_id = ?`, r.ID).Scan(&stored, &rows); err != nil {
		t.Fatal(err)
	}
	if stored != held || rows != 24 {
		t.Errorf("the database keeps %d returns over %d points; the curve held %d returns, the run trained 24 points", stored, rows, held)
	}

	second, err := NewService(cfg, bus.New(), w, db, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Load(ctx, nil); err != nil {
		t.Fatal(err)
	}
	after := second.Metrics(r.ID)
	if len(after) != len(before) {
		t.Fatalf("reloaded %d points, held %d", len(after), len(before))
	}
	for i := range before {
		b, a := before[i], after[i]
		if a.Steps != b.Steps || a.Return != b.Return || !sameMultiset(a.Episodes, b.Episodes) || len(a.Episodes) != len(b.Episodes) {
			t.Errorf("point %d: reloaded %d steps, %d returns; held %d steps, %d returns", i, a.Steps, len(a.Episodes), b.Steps, len(b.Episodes))
		}
	}
}

// returnsOf gathers the episode returns of a curve's points.
func returnsOf(pts []RunMetric) []float64 {
	var out []float64
	for _, p := range pts {
		out = append(out, p.Episodes...)
	}
	return out
}

// sameMultiset reports whether a and b hold the same values as often.
func sameMultiset(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	n := map[float64]int{}
	for _, v := range a {
		n[v]++
	}
	for _, v := range b {
		n[v]--
	}
	for _, c := range n {
		if c != 0 {
			return false
		}
	}
	return true
}

// openTestDB opens a real SQLite file in dir with the migrations applied and
// a batching writer on it, both closed when the test ends.
func openTestDB(t *testing.T, dir string, log *slog.Logger) (*store.DB, *store.Writer) {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(dir, "m.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(db, store.WriterOptions{}, log)
	t.Cleanup(func() { w.Close(); db.Close() })
	return db, w
}
