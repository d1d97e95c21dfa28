package mlops

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/runs"
	"github.com/metastation/metastation/app/tournament"
)

// fakeRoster records who is entered, as the tournament's Enter and
// Withdraw would.
type fakeRoster struct {
	mu     sync.Mutex
	makers map[string]tournament.Maker
	log    []string
}

func (f *fakeRoster) Enter(m tournament.Maker) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := m(0).Profile().ID
	f.makers[id] = m
	f.log = append(f.log, "enter "+id)
	return 1, nil
}

func (f *fakeRoster) Withdraw(id string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.makers[id]; !ok {
		return 0, errs.Errorf(errs.NotFound, "there is no strategy %q in the tournament", id)
	}
	delete(f.makers, id)
	f.log = append(f.log, "withdraw "+id)
	return 1, nil
}

func (f *fakeRoster) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := range f.makers {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// The champion alias decides who trades: a promotion swaps the entrant, a
// rollback swaps it back, and a tampered version is not entered.
func TestChampionEntrantFollowsAlias(t *testing.T) {
	s, _ := startService(t, Config{})
	ctx := t.Context()
	reg := s.Registry()
	for _, seed := range []uint64{1, 2} {
		if _, err := reg.Register(ctx, RegisterRequest{Model: TradingModel, Kind: KindTrading, Artifact: tradingArtifact(t, seed, 10)}); err != nil {
			t.Fatal(err)
		}
	}
	roster := &fakeRoster{makers: map[string]tournament.Maker{}}
	c := NewChampionEntrant(s, roster, TradingModel, quiet())
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()

	waitIDs := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if slices.Equal(roster.ids(), want) {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("entrants %v, want %v (log %v)", roster.ids(), want, roster.log)
	}
	waitIDs() // no champion yet
	if _, err := s.SetAlias(ctx, TradingModel, Champion, 1, "user", ""); err != nil {
		t.Fatal(err)
	}
	waitIDs("champion-v1")
	s.SetAlias(ctx, TradingModel, Challenger, 2, "user", "")
	if _, err := s.Promote(ctx, TradingModel, "user", "looks better"); err != nil {
		t.Fatal(err)
	}
	waitIDs("champion-v2")
	p := roster.makers["champion-v2"](0).Profile()
	if p.Name == "" || !strings.Contains(p.Name, "Champion v2") || !strings.Contains(p.Bio, "version 2") {
		t.Errorf("profile %+v", p)
	}
	if _, err := s.Rollback(ctx, TradingModel, Champion, "user", ""); err != nil {
		t.Fatal(err)
	}
	waitIDs("champion-v1")
	if id, v := c.Playing(); id != "champion-v1" || v != 1 {
		t.Errorf("playing %s v%d", id, v)
	}
}

// Shadow never changes the simulation: the same round with the champion's
// challenger shadowing it (and compared) has the same trades as without.
func TestShadowKeepsTrades(t *testing.T) {
	s, _ := startService(t, Config{})
	ctx := t.Context()
	reg := s.Registry()
	for _, seed := range []uint64{1, 2} {
		if _, err := reg.Register(ctx, RegisterRequest{Model: TradingModel, Kind: KindTrading, Artifact: tradingArtifact(t, seed, 10)}); err != nil {
			t.Fatal(err)
		}
	}
	s.SetAlias(ctx, TradingModel, Champion, 1, "user", "")
	s.SetAlias(ctx, TradingModel, Challenger, 2, "user", "")
	c := NewChampionEntrant(s, &fakeRoster{makers: map[string]tournament.Maker{}}, TradingModel, quiet())
	v, _ := reg.Resolve(ctx, TradingModel, Champion)

	play := func(shadow bool) ([]tournament.Fill, []float64) {
		if _, err := s.SetShadow(ctx, TradingModel, shadow, "user"); err != nil {
			t.Fatal(err)
		}
		maker, _, err := c.maker(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		if got := maker(0).(*championStrategy).shadow != nil; got != shadow {
			t.Fatalf("shadow %v, strategy has a shadow: %v", shadow, got)
		}
		r, err := tournament.NewRound(tournament.RoundConfig{Seed: 3, Script: tournament.DefaultScript, Length: 2 * time.Hour,
			Roster: append(tournament.DefaultRoster(), maker)})
		if err != nil {
			t.Fatal(err)
		}
		var fills []tournament.Fill
		for !r.Done() {
			r.Step()
			fills = append(fills, r.DrainFills()...)
		}
		return fills, r.Equity(len(r.Profiles()) - 1)
	}
	offFills, offEq := play(false)
	onFills, onEq := play(true)
	if len(offFills) == 0 || !slices.Equal(offFills, onFills) || !slices.Equal(offEq, onEq) {
		t.Fatalf("shadow changed the round: %d fills without, %d with", len(offFills), len(onFills))
	}
	l, _ := s.Live(ctx, TradingModel)
	if l.Shadow.Compared == 0 || l.Shadow.Challenger != 2 {
		t.Errorf("the shadow compared nothing: %+v", l.Shadow)
	}
	t.Logf("%d fills; shadow compared %d decisions, agreement %.2f", len(onFills), l.Shadow.Compared, l.Shadow.Agreement)
}

// A finished trading-world run announced on the bus registers itself (the
// first as champion, the next as challenger); a run opted out does not.
func TestAutoRegister(t *testing.T) {
	s, b := startService(t, Config{})
	ctx := t.Context()
	dir := t.TempDir()
	a := NewAutoRegister(s, dir, quiet())
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond) // let it subscribe
	if err := s.Registry().SetOptOut(ctx, "marl", "marl run 3", true); err != nil {
		t.Fatal(err)
	}
	var list []marl.RunInfo
	for id := int64(1); id <= 3; id++ {
		p := filepath.Join(dir, "ck"+string(rune('0'+id)))
		if err := os.WriteFile(p, tradingArtifact(t, uint64(id), 8), 0o644); err != nil {
			t.Fatal(err)
		}
		team := float64(id)
		list = append(list, marl.RunInfo{Record: runs.Record{ID: id, Status: runs.Done, Checkpoint: p}, Spec: marl.RunSpec{Env: "trading-ma", Algo: "vdn", Seed: uint64(id)}, Team: &team})
	}
	list = append(list, marl.RunInfo{Record: runs.Record{ID: 4, Status: runs.Running}, Spec: marl.RunSpec{Env: "trading-ma", Algo: "vdn"}})
	for range 3 { // snapshots repeat; each run registers once
		marl.TopicProgress.Publish(b, "marl", "", "progress", list)
	}
	deadline := time.Now().Add(10 * time.Second)
	var vs []Version
	for time.Now().Before(deadline) {
		if vs, _ = s.Registry().Versions(ctx, TradingModel); len(vs) == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	vs, err := s.Registry().Versions(ctx, TradingModel)
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions %+v, %v", vs, err)
	}
	m, _ := s.Registry().Model(ctx, TradingModel)
	if m.Aliases[Champion] != 1 || m.Aliases[Challenger] != 2 {
		t.Errorf("aliases %v", m.Aliases)
	}
	if vs[1].Lineage.Run != "marl run 1" || vs[1].Lineage.Seed != 1 || vs[1].Metrics["train_team_return"] != 1 || vs[1].Lineage.DataHash == "" {
		t.Errorf("lineage of version 1: %+v %v", vs[1].Lineage, vs[1].Metrics)
	}
	if _, err := s.Registry().Resolve(ctx, "nope", Champion); errs.CodeOf(err) != errs.NotFound {
		t.Error(err)
	}
}
