package entrant

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/tournament"
)

func testEntrants(t *testing.T) (*Service, *tournament.Service, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "t.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tour, err := tournament.NewService(tournament.Config{Seed: 1, FirstWait: time.Hour}, bus.New(), db, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	return NewService(dir, db, tour, nil, log), tour, dir
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Enter refuses what cannot enter with the right code, enters and
// remembers a learner, Withdraw forgets it, and Reenter forgets one whose
// checkpoint has gone.
func TestServiceEnterWithdraw(t *testing.T) {
	s, tour, dir := testEntrants(t)
	ctx := context.Background()
	writeFile(t, filepath.Join(dir, "runs", "a", "checkpoint.ckpt"), trainedTradingCheckpoint(t, 1, 2))
	writeFile(t, filepath.Join(dir, "runs", "junk.ckpt"), []byte("not a checkpoint"))
	big := filepath.Join(dir, "runs", "big.ckpt")
	writeFile(t, big, nil)
	if err := os.Truncate(big, MaxBytes+1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		req  Request
		want errs.Code
	}{
		{"neither", Request{}, errs.Invalid},
		{"both", Request{Checkpoint: "a/checkpoint.ckpt", Run: 1}, errs.Invalid},
		{"negative run", Request{Run: -1}, errs.Invalid},
		{"a run without runs", Request{Run: 2}, errs.Unavailable},
		{"outside", Request{Checkpoint: "../t.db"}, errs.Invalid},
		{"missing", Request{Checkpoint: "b/checkpoint.ckpt"}, errs.NotFound},
		{"junk", Request{Checkpoint: "junk.ckpt"}, errs.Invalid},
		{"too large", Request{Checkpoint: "big.ckpt"}, errs.TooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Enter(ctx, c.req)
			if errs.CodeOf(err) != c.want {
				t.Fatalf("Enter(%+v) = %v, want code %s", c.req, err, c.want)
			}
			if c.name == "too large" && !errors.Is(err, ErrTooLarge) {
				t.Errorf("too large: %v does not wrap ErrTooLarge", err)
			}
		})
	}
	in, err := s.Enter(ctx, Request{Checkpoint: "./a//checkpoint.ckpt"})
	if err != nil || in.FromRound != 1 || in.Profile.ID != "rl-vdn-s1" {
		t.Fatalf("enter: %+v %v", in, err)
	}
	if _, err := s.Enter(ctx, Request{Checkpoint: "a/checkpoint.ckpt"}); !errs.Is(err, errs.Conflict) {
		t.Errorf("enter twice: %v", err)
	}
	if got, err := s.Remembered(ctx); err != nil || !slices.Equal(got, []string{"runs/a/checkpoint.ckpt"}) {
		t.Errorf("remembered: %v %v", got, err)
	}
	out, err := s.Withdraw(ctx, in.Profile.ID)
	if err != nil || out != (Withdrawn{Strategy: "rl-vdn-s1", LastRound: 0, GoneFromRound: 1}) {
		t.Fatalf("withdraw: %+v %v", out, err)
	}
	if got, _ := s.Remembered(ctx); len(got) != 0 {
		t.Errorf("remembered after the withdrawal: %v", got)
	}
	if _, err := s.Withdraw(ctx, "momentum"); !errs.Is(err, errs.Invalid) {
		t.Errorf("withdraw a house strategy: %v", err)
	}
	// Entered again, then its checkpoint goes: the next start forgets it.
	if _, err := s.Enter(ctx, Request{Checkpoint: "a/checkpoint.ckpt"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tour.Withdraw("rl-vdn-s1"); err != nil { // as a restart would: the tournament forgets
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "runs", "a", "checkpoint.ckpt")); err != nil {
		t.Fatal(err)
	}
	s.Reenter(ctx)
	if got, _ := s.Remembered(ctx); len(got) != 0 {
		t.Errorf("an entrant whose checkpoint is gone is still remembered: %v", got)
	}
	if slices.ContainsFunc(tour.Profiles(), func(p tournament.Profile) bool { return p.Entrant }) {
		t.Error("an entrant with no checkpoint was entered again")
	}
}
