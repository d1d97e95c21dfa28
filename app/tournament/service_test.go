package tournament

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
)

func testService(t *testing.T, cfg Config) (*Service, *bus.Bus, *store.DB) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := store.NewWriter(db, store.WriterOptions{}, log)
	t.Cleanup(func() {
		w.Close()
		db.Close()
	})
	b := bus.New()
	s, err := NewService(cfg, b, db, w, log)
	if err != nil {
		t.Fatal(err)
	}
	return s, b, db
}

func fastConfig() Config {
	return Config{Seed: 3, Speed: -1, Round: RoundConfig{Length: 40 * time.Minute}, VoteWindow: 300 * time.Millisecond,
		FirstWait: 10 * time.Millisecond, PublishEvery: 20 * time.Millisecond}
}

func TestServiceRunsRoundsAndPersists(t *testing.T) {
	s, b, db := testService(t, fastConfig())
	sub := b.Subscribe(256, "tournament.*")
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	// Vote for the first round before it starts... it starts within 10ms, so
	// vote for round 2 while round 1 runs.
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := s.State()
		if st.Round >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d rounds ran", st.Round)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var finished, results, lines int
	db.R.QueryRow(`SELECT count(*) FROM tournament_rounds WHERE state = 'finished'`).Scan(&finished)
	db.R.QueryRow(`SELECT count(*) FROM tournament_results`).Scan(&results)
	if finished < 2 || results != 5*finished {
		t.Errorf("%d finished rounds, %d results", finished, results)
	}
	topics := map[string]int{}
	for len(sub.C()) > 0 {
		e := <-sub.C()
		topics[e.Topic]++
	}
	for _, tp := range []string{"tournament.state", "tournament.commentary", "tournament.fills"} {
		if topics[tp] == 0 {
			t.Errorf("nothing published on %s (%v)", tp, topics)
		}
	}
	st := s.State()
	if len(st.Standings) != 5 || st.LastResult == nil || len(st.Leaderboard) != 5 || len(st.Prices) != 5 {
		t.Errorf("state: %d standings, last result %v, %d on the board, %d prices", len(st.Standings), st.LastResult, len(st.Leaderboard), len(st.Prices))
	}
	_ = lines
}

// The same seed replays the same round with the same results, also through
// the service.
func TestServiceReplaysRound(t *testing.T) {
	s, _, _ := testService(t, fastConfig())
	seed, sc := s.RoundPlan(2)
	s2, _, _ := testService(t, fastConfig())
	seed2, sc2 := s2.RoundPlan(2)
	if seed != seed2 || sc != sc2 {
		t.Fatal("round plans differ")
	}
	a := runRound(t, RoundConfig{Seed: seed, Script: sc.Script, Length: 40 * time.Minute})
	b := runRound(t, RoundConfig{Seed: seed2, Script: sc2.Script, Length: 40 * time.Minute})
	if fmt.Sprint(a.Results(BySortino)) != fmt.Sprint(b.Results(BySortino)) {
		t.Error("same plan, different results")
	}
}

func TestVotes(t *testing.T) {
	cfg := fastConfig()
	cfg.FirstWait = time.Hour // round 1 never starts: its vote stays open
	cfg.MaxBallots = 1000     // the ballot cap is TestBallotCap's (app/web); here every ballot is taken
	s, _, _ := testService(t, cfg)
	ctx := context.Background()
	if err := s.recover(ctx); err != nil {
		t.Fatal(err)
	}
	// 1,000 concurrent votes from one client count once.
	var wg sync.WaitGroup
	failures := make(chan error, 1000)
	for k := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := []string{"momentum", "maker"}[k%2]
			if _, err := s.Vote(ctx, 1, "client-a", st); err != nil {
				failures <- err
			}
		}()
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Fatal(err)
	}
	if _, err := s.Vote(ctx, 1, "client-b", "learner"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Vote(ctx, 1, "client-b", "reverter") // changes its mind
	if err != nil || !res.Replaced {
		t.Fatalf("second vote: %+v, %v", res, err)
	}
	if res.Total != 2 || res.Votes["reverter"] != 1 || res.Votes["learner"] != 0 {
		t.Errorf("tally %+v, want 2 votes: client-a's last pick and reverter", res)
	}
	rebuilt, err := s.RebuildTally(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rebuilt) != fmt.Sprint(res.Votes) {
		t.Errorf("tally rebuilt from the log %v, live %v", rebuilt, res.Votes)
	}
	for _, c := range []struct {
		round    int64
		strategy string
		want     errs.Code
	}{
		{1, "nobody", errs.NotFound},
		{2, "maker", errs.NotFound},
		{0, "maker", errs.NotFound},
		{1, "", errs.NotFound},
	} {
		if _, err := s.Vote(ctx, c.round, "client-c", c.strategy); errs.CodeOf(err) != c.want {
			t.Errorf("vote round %d for %s: %v, want %v", c.round, c.strategy, err, c.want)
		}
	}
	// During a running round, a change of the crowd's favourite is news.
	r, err := NewRound(RoundConfig{Seed: 1, Length: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.live, s.phase = &liveRound{round: r}, "running"
	s.mu.Unlock()
	s.feed.newRound(1, 1, r.Profiles())
	for _, c := range []string{"x", "y", "z"} {
		if _, err := s.Vote(ctx, 1, c, "arbitrageur"); err != nil {
			t.Fatal(err)
		}
	}
	swing := false
	for _, l := range s.feed.drain() {
		swing = swing || l.Kind == EventVoteSwing && strings.Contains(l.Text, "Risk Arbitrageur")
	}
	if !swing {
		t.Error("no vote-swing line when the favourite changed")
	}
	// Once round 1 starts, its votes are locked.
	s.votes.open(2, map[string]string{})
	if _, err := s.Vote(ctx, 1, "client-c", "maker"); !errs.Is(err, errs.Conflict) {
		t.Errorf("vote after the lock: %v", err)
	}
}

func TestDecisionLatency(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 3000; i++ {
		ds = append(ds, time.Duration(i)*time.Microsecond)
	}
	// The window is the last 2,000: 1,001..3,000 µs.
	p50, p99 := decisionLatency(ds)
	if p50 < 1999 || p50 > 2001 || p99 < 2979 || p99 > 2981 {
		t.Fatalf("p50 %v p99 %v, want about 2000 and 2980", p50, p99)
	}
	if p50, p99 := decisionLatency(nil); p50 != 0 || p99 != 0 {
		t.Fatal("empty window gave a latency")
	}
}
