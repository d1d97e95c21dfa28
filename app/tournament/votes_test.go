package tournament

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
)

// A vote reaches the bus at once as a typed tally, between rounds too; the
// same vote again changes nothing and publishes nothing; a voter's pick
// survives a restart; every change raises the tally's Seq.
func TestVotePublishesTally(t *testing.T) {
	cfg := fastConfig()
	cfg.FirstWait = time.Hour // between rounds: round 1's vote is open, nothing else publishes
	s, b, db := testService(t, cfg)
	sub := b.Subscribe(64, TopicVotes.Name)
	defer sub.Close()
	ctx := context.Background()
	next := func(what string) Tally {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, tally, err := bus.Receive[Tally](rctx, sub)
		if err != nil {
			t.Fatalf("%s: no tally on %s: %v", what, TopicVotes.Name, err)
		}
		return tally
	}
	var seq uint64
	steps := []struct {
		voter, strategy string
		replaced        bool
		unchanged       bool
		votes           map[string]int
	}{
		{"a", "momentum", false, false, map[string]int{"momentum": 1}},
		{"b", "maker", false, false, map[string]int{"momentum": 1, "maker": 1}},
		{"a", "maker", true, false, map[string]int{"maker": 2}},
		{"a", "maker", true, true, map[string]int{"maker": 2}},
	}
	for _, st := range steps {
		t.Run(st.voter+"→"+st.strategy, func(t *testing.T) {
			res, err := s.Vote(ctx, 1, st.voter, st.strategy)
			if err != nil {
				t.Fatal(err)
			}
			if res.Replaced != st.replaced || res.Unchanged != st.unchanged || !sameVotes(res.Votes, st.votes) {
				t.Fatalf("vote: %+v, want replaced %v, unchanged %v, votes %v", res, st.replaced, st.unchanged, st.votes)
			}
			if st.unchanged {
				if len(sub.C()) != 0 {
					t.Error("a vote that changed nothing was published")
				}
				if res.Seq != seq {
					t.Errorf("a vote that changed nothing moved the seq from %d to %d", seq, res.Seq)
				}
				return
			}
			got := next("vote")
			if got.Round != 1 || !sameVotes(got.Votes, st.votes) || got.Total != res.Total || got.Seq != res.Seq || got.Seq <= seq {
				t.Errorf("published %+v after %+v (last seq %d)", got, res, seq)
			}
			seq = got.Seq
		})
	}
	if st := s.State(); st.VoteSeq != seq || st.VoteTotal != 2 {
		t.Errorf("state: seq %d, %d votes; want seq %d, 2 votes", st.VoteSeq, st.VoteTotal, seq)
	}
	var logged int
	if err := db.R.QueryRow(`SELECT count(*) FROM tournament_vote_log WHERE round = 1`).Scan(&logged); err != nil || logged != 3 {
		t.Errorf("audit log holds %d ballots (%v), want 3: the unchanged vote is not a ballot", logged, err)
	}
	if round, pick := s.MyVote("a"); round != 1 || pick != "maker" {
		t.Errorf("a's vote: round %d %q", round, pick)
	}
	if _, pick := s.MyVote("nobody"); pick != "" {
		t.Errorf("a voter who did not vote has pick %q", pick)
	}
	// A restarted service knows each voter's pick.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s2, err := NewService(cfg, bus.New(), db, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	if round, pick := s2.MyVote("b"); round != 1 || pick != "maker" {
		t.Errorf("after a restart b's vote is round %d %q", round, pick)
	}
	if res, err := s2.Vote(ctx, 1, "b", "maker"); err != nil || !res.Unchanged || res.Total != 2 {
		t.Errorf("after a restart the same vote: %+v %v", res, err)
	}
}

// Withdrawing an entrant publishes the tally without its votes.
func TestWithdrawPublishesTally(t *testing.T) {
	cfg := fastConfig()
	cfg.FirstWait = time.Hour
	s, b, _ := testService(t, cfg)
	ctx := context.Background()
	if _, err := s.Enter(guestMaker("guest")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Vote(ctx, 1, "a", "guest"); err != nil {
		t.Fatal(err)
	}
	sub := b.Subscribe(64, TopicVotes.Name)
	defer sub.Close()
	if _, err := s.Withdraw("guest"); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, tally, err := bus.Receive[Tally](rctx, sub)
	if err != nil || tally.Total != 0 || len(tally.Votes) != 0 {
		t.Fatalf("tally after the withdrawal: %+v %v", tally, err)
	}
}

func sameVotes(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
