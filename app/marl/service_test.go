package marl

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
)

func TestCheckSpec(t *testing.T) {
	for _, tc := range []struct {
		spec RunSpec
		want string // "" for valid
	}{
		{RunSpec{Env: "spread", Algo: "qmix"}, ""},
		{RunSpec{Env: "trading-ma", Algo: "vdn", Curriculum: true, Episodes: 100}, ""},
		{RunSpec{Env: "allocation", Algo: "maddpg", Episodes: 10}, ""},
		{RunSpec{Algo: "qmix"}, "choose a world"},
		{RunSpec{Env: "mars", Algo: "qmix"}, `unknown world "mars"`},
		{RunSpec{Env: "nonmonotonic", Algo: "qmix"}, "unknown world"},
		{RunSpec{Env: "spread", Algo: "ppo"}, `unknown algorithm "ppo"; choose qmix, vdn or maddpg`},
		{RunSpec{Env: "spread", Algo: "qmix", Episodes: -1}, "must not be negative"},
		{RunSpec{Env: "spread", Algo: "qmix", Episodes: MaxServiceEpisodes + 1}, "at most 20000 episodes"},
		{RunSpec{Env: "spread", Algo: "vdn", Curriculum: true}, "trading world only"},
		{RunSpec{Env: "trading-ma", Algo: "maddpg", Curriculum: true}, "not maddpg"},
		{RunSpec{Env: "spread", Algo: "qmix", Hidden: []int{0}}, "1 to 512 units"},
	} {
		got, err := CheckSpec(tc.spec)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.spec, err)
		case tc.want != "" && (!errs.Is(err, errs.Invalid) || !strings.Contains(strings.ToLower(errs.MessageOf(err)), strings.ToLower(tc.want))):
			t.Errorf("%+v: error %v, want an invalid error saying %q", tc.spec, err, tc.want)
		case tc.want == "" && got.Episodes <= 0:
			t.Errorf("%+v: no default budget (%d)", tc.spec, got.Episodes)
		}
	}
	if got, _ := CheckSpec(RunSpec{Env: "trading-ma", Algo: "qmix"}); got.Episodes != 1500 {
		t.Errorf("trading-ma qmix default budget %d, want the config's 1500", got.Episodes)
	}
}

func newTestService(t *testing.T, cfg ServiceConfig, w *store.Writer, db *store.DB) (*Service, *bus.Bus, context.CancelFunc, chan struct{}) {
	t.Helper()
	b := bus.New()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.EvalEpisodes == 0 {
		cfg.EvalEpisodes = 5
	}
	svc, err := NewService(cfg, b, w, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}) // closed when Run returns
	go func() {
		defer close(done)
		if err := svc.Run(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return svc, b, cancel, done
}

func waitRun(t *testing.T, svc *Service, id int64, what string, ok func(RunInfo) bool) RunInfo {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute) // generous: 600 episodes took over 30 s at load 38
	for {
		r, err := svc.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(r) {
			return r
		}
		if r.Status == "failed" {
			t.Fatalf("run %d failed: %s", id, r.Error)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for run %d: %s (%+v)", id, what, r)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A run trains to its end, publishes progress snapshots, learning-curve
// points with one value per agent, and a final greedy evaluation with a
// random team on the same episodes.
func TestServiceRunsToTheEnd(t *testing.T) {
	svc, b, _, _ := newTestService(t, ServiceConfig{}, nil, nil)
	sub := b.Subscribe(4096, "marl.*")
	defer sub.Close()
	info, err := svc.Start(t.Context(), RunSpec{Env: "matrix2", Algo: "qmix", Episodes: 600, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != "queued" || info.Total != 600 || info.Agents != 2 {
		t.Fatalf("started: %+v", info)
	}
	r := waitRun(t, svc, info.ID, "done", func(r RunInfo) bool { return r.Status == "done" })
	if r.Episodes != 600 || r.Eval == nil || r.Eval.Episodes != 5 || len(r.AgentReturns) != 2 || r.Team == nil || r.Epsilon == nil {
		t.Fatalf("done: %+v", r)
	}
	// The two-step game: QMIX's greedy team earns the optimal 8.
	if r.Eval.Team != 8 {
		t.Errorf("greedy team return %v, want 8", r.Eval.Team)
	}
	h, err := svc.History(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Points) < 100 || h.Points[len(h.Points)-1].Episode != 600 || len(h.Points[0].Agents) != 2 {
		t.Errorf("%d points, last %+v", len(h.Points), h.Points[len(h.Points)-1])
	}
	var progress, metrics int
	for len(sub.C()) > 0 {
		e := <-sub.C()
		switch e.Topic {
		case "marl.progress":
			progress++
		case "marl.metrics":
			metrics++
		}
	}
	if progress < 2 || metrics != len(h.Points) {
		t.Errorf("published %d progress snapshots and %d points (history %d)", progress, metrics, len(h.Points))
	}
	if _, err := svc.Stop(info.ID); !errs.Is(err, errs.Conflict) {
		t.Errorf("stopping a finished run: %v", err)
	}
	if _, err := svc.Resume(99); !errs.Is(err, errs.NotFound) {
		t.Errorf("resuming no run: %v", err)
	}
}

// A curriculum run on the trading world is stopped (checkpointing), keeps
// its stage, resumes from the checkpoint and ends with exactly the
// checkpoint an uninterrupted run writes.
func TestServiceStopResumeCurriculum(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on the trading world")
	}
	spec := RunSpec{Env: "trading-ma", Algo: "vdn", Episodes: 80, Seed: 3, Curriculum: true}
	svc, b, _, _ := newTestService(t, ServiceConfig{}, nil, nil)
	sub := b.Subscribe(4096, "marl.events")
	defer sub.Close()
	info, err := svc.Start(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, svc, info.ID, "some episodes", func(r RunInfo) bool { return r.Episodes >= 30 })
	if _, err := svc.Stop(info.ID); err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, svc, info.ID, "stopped", func(r RunInfo) bool { return r.Status == "stopped" })
	if !r.Resumable || r.Stage == nil || len(r.Stage.Names) != 4 || r.Stage.Names[3] != "black_swan" {
		t.Fatalf("stopped: %+v stage %+v", r, r.Stage)
	}
	if _, err := os.Stat(r.Checkpoint); err != nil {
		t.Fatalf("no checkpoint after stop: %v", err)
	}
	stoppedAt := r.Episodes
	if _, err := svc.Resume(info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Resume(info.ID); !errs.Is(err, errs.Conflict) {
		t.Errorf("resuming a queued run: %v", err)
	}
	r = waitRun(t, svc, info.ID, "done", func(r RunInfo) bool { return r.Status == "done" })
	if r.Episodes != 80 || r.Eval == nil {
		t.Fatalf("resumed run: %+v", r)
	}
	h, _ := svc.History(info.ID)
	for i := 1; i < len(h.Points); i++ {
		if h.Points[i].Episode <= h.Points[i-1].Episode {
			t.Fatalf("points out of order at %d: %d after %d", i, h.Points[i].Episode, h.Points[i-1].Episode)
		}
	}
	t.Logf("stopped at episode %d; stage %+v; %d events", stoppedAt, r.Stage, len(h.Events))
	for _, ev := range h.Events {
		if ev.Text == "" || ev.Stage == "" {
			t.Errorf("event %+v", ev)
		}
	}
	if len(sub.C()) < len(h.Events) {
		t.Errorf("%d events published, %d recorded", len(sub.C()), len(h.Events))
	}

	// The uninterrupted run ends with the same bytes.
	run, err := NewRun(spec)
	if err != nil {
		t.Fatal(err)
	}
	for !run.Done() {
		if _, err := run.Step(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
	}
	var want bytes.Buffer
	if err := run.Save(&want); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(r.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("stopped at %d and resumed, the checkpoint differs from an uninterrupted run's (%d vs %d bytes)", stoppedAt, len(got), len(want.Bytes()))
	}
	if run.Cur.Stage != r.Stage.Index {
		t.Errorf("stage %d, uninterrupted %d", r.Stage.Index, run.Cur.Stage)
	}
}

// MADDPG runs stop and resume too, and a run stopped while queued is
// stopped without training.
func TestServiceMADDPGStopResume(t *testing.T) {
	svc, _, _, _ := newTestService(t, ServiceConfig{}, nil, nil)
	a, err := svc.Start(t.Context(), RunSpec{Env: "spread", Algo: "maddpg", Episodes: 400, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.Start(t.Context(), RunSpec{Env: "allocation", Algo: "vdn", Episodes: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Stop(b.ID); err != nil {
		t.Fatal(err)
	}
	waitRun(t, svc, a.ID, "episodes", func(r RunInfo) bool { return r.Episodes >= 5 })
	if _, err := svc.Stop(a.ID); err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, svc, a.ID, "stopped", func(r RunInfo) bool { return r.Status == "stopped" })
	if !r.Resumable || r.Epsilon != nil || len(r.AgentReturns) != 3 {
		t.Fatalf("stopped MADDPG: %+v", r)
	}
	rb := waitRun(t, svc, b.ID, "stopped", func(r RunInfo) bool { return r.Status == "stopped" })
	if rb.Episodes != 0 || !rb.Resumable {
		t.Errorf("run stopped in the queue: %+v", rb)
	}
	if _, err := svc.Resume(a.ID); err != nil {
		t.Fatal(err)
	}
	waitRun(t, svc, a.ID, "training on", func(r RunInfo) bool { return r.Status == "running" && r.Episodes > 5 })
	if _, err := svc.Stop(a.ID); err != nil {
		t.Fatal(err)
	}
	waitRun(t, svc, a.ID, "stopped again", func(r RunInfo) bool { return r.Status == "stopped" })
	// The queued-then-stopped run starts afresh.
	if _, err := svc.Resume(b.ID); err != nil {
		t.Fatal(err)
	}
	waitRun(t, svc, b.ID, "done", func(r RunInfo) bool { return r.Status == "done" })
}

// Runs, their curves and events are written through the batching writer and
// read back by the next session; a run the last session left running comes
// back stopped and resumable from its checkpoint.
func TestServicePersists(t *testing.T) {
	dir := t.TempDir()
	db, w := openTestDB(t, dir)
	cfg := ServiceConfig{Dir: filepath.Join(dir, "marl")}
	svc, _, cancel, done := newTestService(t, cfg, w, db)
	info, err := svc.Start(t.Context(), RunSpec{Env: "matrix2", Algo: "vdn", Episodes: 300, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	first := waitRun(t, svc, info.ID, "done", func(r RunInfo) bool { return r.Status == "done" })
	long, err := svc.Start(t.Context(), RunSpec{Env: "spread", Algo: "qmix", Episodes: 5000, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, svc, long.ID, "running", func(r RunInfo) bool { return r.Episodes >= 3 })
	cancel() // the server stops: the run is checkpointed
	<-done
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The paths recorded go stale when the data directory moves (or was
	// relative to another working directory); Load derives them again.
	if _, err := db.W.Exec(`UPDATE marl_runs SET checkpoint = '/moved/elsewhere/checkpoint.ckpt'`); err != nil {
		t.Fatal(err)
	}

	next := reloadService(t, cfg, w, db)
	runs := next.Runs()
	if len(runs) != 2 {
		t.Fatalf("loaded %d runs", len(runs))
	}
	if r := runs[1]; r.Status != "done" || r.Eval == nil || r.Eval.Team != first.Eval.Team || r.Episodes != 300 || len(r.AgentReturns) != 2 {
		t.Errorf("loaded done run %+v, was %+v", r, first)
	}
	if r := runs[0]; r.Status != "stopped" || !r.Resumable || r.Episodes < 3 {
		t.Errorf("loaded interrupted run %+v", r)
	}
	h, _ := next.History(info.ID)
	if len(h.Points) < 100 || h.Points[len(h.Points)-1].Episode != 300 || len(h.Points[0].Agents) != 2 {
		t.Errorf("loaded %d points", len(h.Points))
	}
}

// A curriculum run's smoothed score survives a restart: the Learning page
// shows the score the stage had, not 0.
func TestServicePersistsCurriculumScore(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on the trading world")
	}
	dir := t.TempDir()
	db, w := openTestDB(t, dir)
	cfg := ServiceConfig{Dir: filepath.Join(dir, "marl")}
	svc, _, cancel, done := newTestService(t, cfg, w, db)
	info, err := svc.Start(t.Context(), RunSpec{Env: "trading-ma", Algo: "vdn", Episodes: 2000, Seed: 3, Curriculum: true})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, svc, info.ID, "a smoothed score", func(r RunInfo) bool { return r.Stage != nil && r.Stage.Smoothed != 0 })
	cancel() // the server stops
	<-done
	before, _ := svc.Get(info.ID)
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	next := reloadService(t, cfg, w, db)
	after, err := next.Get(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Stage == nil || before.Stage == nil || after.Stage.Smoothed != before.Stage.Smoothed || after.Stage.Index != before.Stage.Index {
		t.Errorf("stage after the restart %+v, before %+v", after.Stage, before.Stage)
	}
}

// openTestDB opens a real SQLite file in dir with the migrations applied and
// a batching writer on it, both closed when the test ends.
func openTestDB(t *testing.T, dir string) (*store.DB, *store.Writer) {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(dir, "m.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(db, store.WriterOptions{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { w.Close(); db.Close() })
	return db, w
}

// reloadService is the service of the next server start on the same
// database, with the runs of the earlier one loaded.
func reloadService(t *testing.T, cfg ServiceConfig, w *store.Writer, db *store.DB) *Service {
	t.Helper()
	next, err := NewService(cfg, bus.New(), w, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := next.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return next
}
