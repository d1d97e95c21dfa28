package tournament

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// guest is an entrant: a house strategy's play under another id.
type guest struct {
	Strategy
	id string
}

func (g guest) Profile() Profile {
	p := g.Strategy.Profile()
	p.ID, p.Name = g.id, "Guest "+g.id
	return p
}

func guestMaker(id string) Maker {
	return func(seed uint64) Strategy { return guest{DefaultRoster()[0](seed), id} }
}

func profileIDs(ps []Profile) (ids []string) {
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

// Withdraw: unknown ids and house strategies are refused; an entrant leaves
// (and frees its place), and may be entered again.
func TestWithdrawTable(t *testing.T) {
	cfg := fastConfig()
	cfg.FirstWait = time.Hour
	s, _, _ := testService(t, cfg)
	if _, err := s.Enter(guestMaker("guest")); err != nil {
		t.Fatal(err)
	}
	if ps := s.Profiles(); !ps[5].Entrant || ps[0].Entrant {
		t.Fatalf("entrant marks: %+v", ps)
	}
	for _, c := range []struct {
		id   string
		want errs.Code
	}{
		{"nobody", errs.NotFound},
		{"", errs.NotFound},
		{"momentum", errs.Invalid},
		{"learner", errs.Invalid},
	} {
		if _, err := s.Withdraw(c.id); errs.CodeOf(err) != c.want {
			t.Errorf("withdraw %q: %v, want %v", c.id, err, c.want)
		}
	}
	roster := s.cfg.Round.Roster // as a round being built would hold it
	from, err := s.Withdraw("guest")
	if err != nil || from != 1 {
		t.Fatalf("withdraw guest: %d %v, want round 1", from, err)
	}
	if len(roster) != 6 || roster[5](1).Profile().ID != "guest" {
		t.Error("Withdraw changed the roster a round being built holds")
	}
	if got := profileIDs(s.Profiles()); len(got) != 5 || slices.Contains(got, "guest") || len(s.cfg.Round.Roster) != 5 {
		t.Errorf("after the withdrawal: profiles %v, %d makers", got, len(s.cfg.Round.Roster))
	}
	if _, err := s.Withdraw("guest"); !errs.Is(err, errs.NotFound) {
		t.Errorf("withdraw twice: %v", err)
	}
	// Entered again, and the tournament fills up to MaxStrategies again.
	if from, err := s.Enter(guestMaker("guest")); err != nil || from != 1 {
		t.Fatalf("enter again: %d %v", from, err)
	}
	for _, id := range []string{"g2", "g3", "g4", "g5"} {
		if _, err := s.Enter(guestMaker(id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Enter(guestMaker("g6")); !errs.Is(err, errs.Conflict) {
		t.Fatalf("eleventh strategy: %v", err)
	}
	if _, err := s.Withdraw("g3"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enter(guestMaker("g6")); err != nil {
		t.Errorf("a withdrawal frees a place: %v", err)
	}
	want := []string{"momentum", "arbitrageur", "reverter", "maker", "learner", "guest", "g2", "g4", "g5", "g6"}
	if got := profileIDs(s.Profiles()); !slices.Equal(got, want) {
		t.Errorf("profiles %v, want %v", got, want)
	}
	for k, mk := range s.cfg.Round.Roster {
		if id := mk(1).Profile().ID; id != want[k] {
			t.Errorf("roster %d is %s, profiles say %s", k, id, want[k])
		}
	}
}

// Votes for a withdrawn entrant in a round it no longer plays leave the
// live tally and tournament_votes (a restart does not load them), stay in
// the audit log, and its voters may vote again; the crowd's pick is among
// the strategies that play; the round's results do not include it.
func TestWithdrawVotes(t *testing.T) {
	s, _, db := testService(t, fastConfig())
	ctx := context.Background()
	if _, err := s.Enter(guestMaker("guest")); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct{ client, strategy string }{{"a", "guest"}, {"b", "guest"}, {"c", "maker"}} {
		if _, err := s.Vote(ctx, 1, v.client, v.strategy); err != nil {
			t.Fatal(err)
		}
	}
	if from, err := s.Withdraw("guest"); err != nil || from != 1 {
		t.Fatalf("withdraw: %d %v", from, err)
	}
	if round, tally := s.Tally(); round != 1 || len(tally) != 1 || tally["maker"] != 1 {
		t.Errorf("live tally of round %d after the withdrawal: %v", round, tally)
	}
	if st := s.State(); st.VoteTotal != 1 || st.Votes["guest"] != 0 {
		t.Errorf("state's votes: %v (%d)", st.Votes, st.VoteTotal)
	}
	if err := s.openVotes(ctx, 1); err != nil { // as a restart would
		t.Fatal(err)
	}
	if _, tally := s.Tally(); len(tally) != 1 || tally["maker"] != 1 {
		t.Errorf("tally reloaded from the database: %v", tally)
	}
	if log, err := s.RebuildTally(ctx, 1); err != nil || log["guest"] != 2 {
		t.Errorf("the audit log lost the ballots as cast: %v %v", log, err)
	}
	if _, err := s.Vote(ctx, 1, "c", "guest"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a vote for the withdrawn entrant: %v", err)
	}
	// a's vote went with the entrant: its next one is new, not a change of mind.
	for _, c := range []string{"a", "b"} {
		res, err := s.Vote(ctx, 1, c, "momentum")
		if err != nil || res.Replaced {
			t.Fatalf("%s votes again: %+v %v", c, res, err)
		}
	}
	// Round 1 runs without it; the crowd picked momentum (2 to 1).
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	deadline := time.Now().Add(20 * time.Second)
	for st := s.State(); st.LastResult == nil; st = s.State() {
		if time.Now().After(deadline) {
			t.Fatal("round 1 did not finish")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var crowd string
	var n int
	if err := db.R.QueryRow(`SELECT crowd_pick FROM tournament_rounds WHERE id = 1`).Scan(&crowd); err != nil || crowd != "momentum" {
		t.Errorf("crowd pick of round 1: %q %v", crowd, err)
	}
	if err := db.R.QueryRow(`SELECT count(*) FROM tournament_results WHERE round = 1 AND strategy = 'guest'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the withdrawn entrant has %d results in round 1 (%v)", n, err)
	}
}

// An entrant withdrawn while a round runs finishes that round (the live
// leaderboard and the round's results include it) and plays no later one.
func TestWithdrawMidRound(t *testing.T) {
	cfg := fastConfig()
	cfg.Speed = 3000 // a round of 40 simulated minutes in about a second
	cfg.VoteWindow = 200 * time.Millisecond
	s, _, db := testService(t, cfg)
	if _, err := s.Enter(guestMaker("guest")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	wait := func(what string, ok func(State) bool) State {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			st := s.State()
			if ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait("round 1 to run", func(st State) bool { return st.Round == 1 && st.Phase == "running" && st.Progress > 0.05 })
	from, err := s.Withdraw("guest")
	if err != nil {
		t.Fatal(err)
	}
	st := s.State()
	onBoard := slices.ContainsFunc(st.Leaderboard, func(e Entry) bool { return e.Strategy == "guest" })
	if st.Round == 1 && st.Phase == "running" && (from != 2 || !onBoard) {
		t.Errorf("withdrawn mid-round 1: gone from round %d, on the board %v", from, onBoard)
	}
	if slices.Contains(profileIDs(st.Profiles), "guest") {
		t.Error("the withdrawn entrant is still in the profiles")
	}
	wait("the round after", func(st State) bool { return st.LastResult != nil && st.LastResult.Round >= from })
	rows, err := db.R.Query(`SELECT round, count(*), sum(strategy = 'guest') FROM tournament_results GROUP BY round ORDER BY round`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[bool]bool{}
	for rows.Next() {
		var round int64
		var n, guests int
		if err := rows.Scan(&round, &n, &guests); err != nil {
			t.Fatal(err)
		}
		played := round < from
		seen[played] = true
		if played && (n != 6 || guests != 1) || !played && (n != 5 || guests != 0) {
			t.Errorf("round %d: %d results, %d of the entrant (it leaves from round %d)", round, n, guests, from)
		}
	}
	if err := rows.Err(); err != nil || !seen[true] || !seen[false] {
		t.Errorf("finished rounds with and without the entrant: %v %v", seen, err)
	}
}
