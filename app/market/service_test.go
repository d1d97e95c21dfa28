package market

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/market/book"
	"github.com/metastation/metastation/app/store"
)

func TestServiceRunsPublishesAndPersists(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "m.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := store.NewWriter(db, store.WriterOptions{}, slog.Default())
	t.Cleanup(func() { w.Close() }) // runs before db.Close
	b := bus.New()
	sub := b.Subscribe(1024, "market.*")
	defer sub.Close()
	u, _ := Preset("equity")
	svc, err := NewService(ServiceConfig{Sim: SimConfig{Universe: u, Seed: 3, Agents: 500}, Speed: 0,
		PublishEvery: 50 * time.Millisecond}, b, w, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	seen := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for !(seen["market.trades"] && seen["market.bars"] && seen["market.state"] && seen["market.quotes"]) {
		select {
		case e := <-sub.C():
			seen[e.Topic] = true
		case <-deadline:
			t.Fatalf("topics seen in 10 s: %v", seen)
		}
	}
	for give := time.Now().Add(20 * time.Second); svc.State().Time.Before(DefaultStart.Add(3 * time.Hour)); {
		if time.Now().After(give) {
			cancel()
			t.Fatalf("after 20 s the market is only at %s", svc.State().Time)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Failed > 0 || st.Committed == 0 {
		t.Errorf("writer: %+v, want rows committed and none failed", st)
	}
	bars, err := svc.Bars(ctx, "SPX", Hour, DefaultStart.Add(-time.Hour), DefaultStart.Add(24*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(bars) < 3 {
		t.Errorf("%d hourly bars in the database after 3 simulated hours, want at least 3", len(bars))
	}
	mins, _ := svc.Bars(ctx, "SPX", Minute, DefaultStart, DefaultStart.Add(24*time.Hour), 60)
	if len(mins) != 60 || !mins[0].Time.Before(mins[59].Time) {
		t.Errorf("limit 60 gave %d minute bars", len(mins))
	}
	snap, err := svc.Book("SPX", 5)
	if err != nil || len(snap.Bids) == 0 || len(snap.Asks) == 0 || snap.Bids[0].Price >= snap.Asks[0].Price {
		t.Errorf("book snapshot %+v, %v", snap, err)
	}
	if _, err := svc.Book("XYZ", 5); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown symbol: %v, want errs.NotFound", err)
	}
	if _, err := svc.Bars(ctx, "SPX", "5m", DefaultStart, DefaultStart.Add(time.Hour), 10); !errs.Is(err, errs.Invalid) {
		t.Errorf("bad interval: %v, want errs.Invalid", err)
	}
	f, err := svc.Submit("SPX", book.Buy, book.Market, 0, 3, -1)
	if err != nil || f.Filled+f.Dropped != 3 {
		t.Errorf("market buy: %+v, %v", f, err)
	}
	f, err = svc.Submit("SPX", book.Buy, book.Limit, snap.Bids[0].Price-50, 2, -1)
	if err != nil || f.ID == 0 || f.Rested != 2 {
		t.Fatalf("passive limit: %+v, %v", f, err)
	}
	if err := svc.Cancel("SPX", f.ID); err != nil {
		t.Error(err)
	}
	if err := svc.Cancel("SPX", f.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("second cancel: %v", err)
	}
	if err := svc.SetSpeed(-1); !errs.Is(err, errs.Invalid) {
		t.Errorf("negative speed: %v", err)
	}
	if err := svc.SetScript("+10m crisis shock=-3"); err != nil {
		t.Error(err)
	}
}

func TestServiceSpeed(t *testing.T) {
	u, _ := Preset("fx")
	svc, err := NewService(ServiceConfig{Sim: SimConfig{Universe: u, Seed: 1, Agents: 100}, Speed: 100}, bus.New(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	svc.Run(ctx)
	got := svc.State().Time.Sub(DefaultStart)
	if got < 30*time.Second || got > 70*time.Second {
		t.Errorf("at 100x, half a real second covered %s of simulated time, want about 50s", got)
	}
}
