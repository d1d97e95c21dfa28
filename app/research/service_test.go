package research

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
)

func TestServiceRunsAndPublishes(t *testing.T) {
	rs := newResearcher(t)
	b := bus.New()
	svc, err := NewService(ServiceConfig{DemoSeed: 3}, rs, b, quiet())
	if err != nil {
		t.Fatal(err)
	}
	sub := b.Subscribe(4096, "research.*")
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	agents := svc.Agents()
	done := make(chan error, 1+len(agents))
	go func() { done <- svc.Run(ctx) }()
	for _, a := range agents {
		go func() { done <- a.Run(ctx) }()
	}
	defer func() {
		cancel()
		for range 1 + len(agents) {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}()

	from := map[string]bool{}
	var lastShare float64
	var head RunHead
	timeout := time.After(50 * time.Second)
	for head.ID == 0 {
		select {
		case e := <-sub.C():
			switch p := e.Payload.(type) {
			case Progress:
				if p.Share < lastShare {
					t.Errorf("progress went back from %.2f to %.2f", lastShare, p.Share)
				}
				lastShare = p.Share
			case Message:
				if e.From != p.From || e.To != p.To {
					t.Errorf("envelope %s→%s carries a message %s→%s", e.From, e.To, p.From, p.To)
				}
				from[p.From] = true
			case RunHead:
				head = p
			}
		case <-timeout:
			t.Fatal("the demo run did not finish")
		}
	}
	if lastShare != 1 {
		t.Errorf("progress ended at %.2f, want 1", lastShare)
	}
	for _, a := range Agents {
		if !from[a] {
			t.Errorf("no message from %s", a)
		}
	}
	if err := svc.Start(RunConfig{Seed: MaxSeed + 1}); !errs.Is(err, errs.Invalid) {
		t.Errorf("a seed above the maximum: %v, want invalid", err)
	}
	heads, err := rs.Runs(ctx)
	if err != nil || len(heads) != 1 || heads[0].Status != "done" || heads[0].Hypotheses == 0 {
		t.Fatalf("runs %+v, %v; want one finished run with hypotheses", heads, err)
	}
	sum, err := rs.Summary(ctx, head.ID)
	if err != nil || len(sum.Memos) != len(sum.Experiments) || len(sum.Concepts) == 0 {
		t.Fatalf("summary: %v (memos %d, experiments %d, concepts %d)", err, len(sum.Memos), len(sum.Experiments), len(sum.Concepts))
	}
	m, err := rs.Memo(ctx, head.ID, 1)
	if err != nil || m.Markdown == "" || m.Memory == 0 {
		t.Fatalf("memo 1: %+v, %v", m, err)
	}
	if got, err := rs.Mem.Get(m.Memory); err != nil || got.Agent != AgentWriter {
		t.Fatalf("the memo's memory: %+v, %v", got, err)
	}
	trials, err := rs.Trials(ctx, head.ID)
	if err != nil || len(trials) < sum.Trials {
		t.Fatalf("trials: %d, %v; want at least %d", len(trials), err, sum.Trials)
	}
	if _, err := rs.Summary(ctx, 99); !errs.Is(err, errs.NotFound) {
		t.Errorf("run 99: %v, want not found", err)
	}

	// A run that fails (a folder of two notes is too small a corpus) fails
	// alone: the agents take the next one.
	dir := t.TempDir()
	for _, n := range []string{"a.md", "b.md"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("a note on momentum"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Start(RunConfig{Seed: 4, Dir: dir}); err != nil {
		t.Fatal(err)
	}
	waitRun := func(id int, status string) {
		t.Helper()
		deadline := time.Now().Add(50 * time.Second)
		for {
			if err := rs.W.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			heads, err := rs.Runs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(heads) > 0 && heads[0].ID == id && heads[0].Status == status {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("runs %+v, want run %d %s", heads, id, status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitRun(2, "failed")
	for i := 0; ; i++ { // the failed run frees the service a moment after its row is written
		err := svc.Start(RunConfig{Seed: 5, TopGaps: 2})
		if err == nil {
			break
		}
		if i == 500 {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitRun(3, "done")
}

func TestServiceMarksAKilledRunInterrupted(t *testing.T) {
	rs := newResearcher(t)
	ctx := context.Background()
	if err := rs.W.Enqueue(ctx, `INSERT INTO research_runs (id, seed, corpus, started_at, status) VALUES (1, 5, 'synthetic', '2026-12-03T12:00:00Z', 'running')`); err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(ServiceConfig{}, rs, bus.New(), quiet())
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := rs.W.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		heads, err := rs.Runs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(heads) == 1 && heads[0].Status == "interrupted" && heads[0].Error != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs %+v, want run 1 interrupted", heads)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Summary(ctx, 1); !errs.Is(err, errs.Unavailable) {
		t.Errorf("the interrupted run's summary: %v, want unavailable", err)
	}
}
