package feeds_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/memory"
	"github.com/metastation/metastation/app/memory/feeds"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/tournament"
)

// TestServiceRemembersTheTournament runs the real tournament, fast, beside
// the memory service on one bus and one database, and checks that every
// strategy remembers its decisions and each round's outcome.
func TestServiceRemembersTheTournament(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName), os.DirFS("../../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(db, store.WriterOptions{Interval: 10 * time.Millisecond}, log)
	defer db.Close()
	defer w.Close()
	b := bus.New()
	// Two-hour rounds: in 40 minutes of the market's new long-memory paths
	// (5b77344) the arbitrageur found no spread worth trading on seed 3.
	tour, err := tournament.NewService(tournament.Config{Seed: 3, Speed: -1, Round: tournament.RoundConfig{Length: 2 * time.Hour},
		VoteWindow: 300 * time.Millisecond, FirstWait: 10 * time.Millisecond, PublishEvery: 20 * time.Millisecond}, b, db, w, log)
	if err != nil {
		t.Fatal(err)
	}
	emb, err := memory.NewEmbedder()
	if err != nil {
		t.Fatal(err)
	}
	st, err := memory.Open(ctx, memory.Config{}, db, w, emb, log)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := memory.NewService(memory.ServiceConfig{ConsolidateEvery: 200 * time.Millisecond, StateEvery: 50 * time.Millisecond},
		st, b, log, feeds.NewTournament(st))
	if err != nil {
		t.Fatal(err)
	}
	passes := b.Subscribe(64, memory.TopicConsolidation.Name)
	defer passes.Close()
	done := make(chan error, 2)
	go func() { done <- svc.Run(ctx) }()
	time.Sleep(20 * time.Millisecond) // subscribed before the first round opens
	go func() { done <- tour.Run(ctx) }()

	deadline := time.Now().Add(30 * time.Second)
	for tour.State().Round < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d rounds ran", tour.State().Round)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the last round's result reaches the service
	cancel()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	profiles := tour.State().Profiles
	for _, p := range profiles {
		tl, err := st.Timeline(p.ID, memory.Page{Limit: memory.MaxLimit, All: true})
		if err != nil {
			t.Fatalf("%s: %v", p.ID, err)
		}
		if len(tl) > 0 && p.ID == profiles[0].ID {
			for _, m := range tl[:min(len(tl), 6)] {
				t.Logf("%s %s %s: %s", m.SimTime.Format("Jan 2 15:04"), m.Agent, m.Kind, m.Text)
			}
		}
		kinds := map[memory.Kind]int{}
		for _, m := range tl {
			kinds[m.Kind]++
		}
		if kinds[memory.Outcome] < 2 || kinds[memory.Action] == 0 {
			t.Errorf("%s remembers %v, want its round outcomes and its trades", p.ID, kinds)
		}
	}
	res, err := st.Search(context.Background(), memory.Query{Text: "how did the round finish", Kinds: []memory.Kind{memory.Outcome}})
	if err != nil || len(res) == 0 {
		t.Fatalf("search for outcomes: %v, %v", res, err)
	}
	var rows int
	db.R.QueryRow(`SELECT count(*) FROM memories WHERE source = 'tournament.result'`).Scan(&rows)
	if rows < 2*len(profiles) {
		t.Errorf("%d round results in the database for %d strategies over two finished rounds", rows, len(profiles))
	}
	select {
	case e := <-passes.C():
		if _, ok := e.Payload.(memory.Report); !ok {
			t.Errorf("consolidation published %T", e.Payload)
		}
	default:
		t.Error("no consolidation pass was published")
	}
}
