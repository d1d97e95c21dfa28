package cluster

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/errs"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// entry encodes a signed command as a log entry.
func entry(t *testing.T, c Command) []byte {
	t.Helper()
	if c.ID == "" {
		c.ID = newID()
	}
	c.Node, c.At = "n1", time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC)
	if err := c.sign(testKey); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStateApply(t *testing.T) {
	vote := func(round int64, voter, st string) Command {
		return Command{Kind: KindVote, Vote: &Vote{Round: round, Voter: voter, Strategy: st}}
	}
	alias := func(v int, ifv int, has bool) Command {
		return Command{Kind: KindAlias, Alias: &AliasMove{Model: "m", Alias: "champion", Version: v, HasIf: has, IfVersion: ifv}}
	}
	round := func(r int64, status string, step int) Command {
		return Command{Kind: KindRound, Round: &Round{Round: r, Status: status, Seed: 9, Step: step}}
	}
	for _, tc := range []struct {
		name  string
		cmds  []Command
		want  []string // outcome or error code of each
		check func(t *testing.T, s *State)
	}{
		{"votes replace and close", []Command{vote(1, "a", "x"), vote(1, "a", "y"), vote(2, "a", "x"), round(1, RoundStarted, 0), vote(1, "b", "x"), vote(2, "b", "x")},
			[]string{"applied", "applied", "not_found", "applied", "conflict", "applied"},
			func(t *testing.T, s *State) {
				if got := s.Tally(1); got["y"] != 1 || len(got) != 1 {
					t.Errorf("round 1 tally %v", got)
				}
				if s.VotesOpen != 2 || s.Tally(2)["x"] != 1 {
					t.Errorf("votes open %d, round 2 tally %v", s.VotesOpen, s.Tally(2))
				}
			}},
		{"alias compare-and-set", []Command{alias(1, 0, true), alias(2, 0, true), alias(2, 1, true), alias(5, 0, false)},
			[]string{"applied", "conflict", "applied", "applied"},
			func(t *testing.T, s *State) {
				if s.Alias("m", "champion") != 5 || len(s.Moves) != 3 || s.Moves[1].From != 1 || s.Moves[1].To != 2 {
					t.Errorf("alias %d, moves %+v", s.Alias("m", "champion"), s.Moves)
				}
			}},
		{"alias removal", []Command{
			{Kind: KindAlias, Alias: &AliasMove{Model: "m", Alias: "champion", Remove: true}}, alias(3, 0, true),
			{Kind: KindAlias, Alias: &AliasMove{Model: "m", Alias: "champion", Remove: true, HasIf: true, IfVersion: 2}},
			{Kind: KindAlias, Alias: &AliasMove{Model: "m", Alias: "champion", Remove: true, Rollback: true}}},
			[]string{"not_found", "applied", "conflict", "applied"},
			func(t *testing.T, s *State) {
				if s.Alias("m", "champion") != 0 || len(s.Moves) != 2 || s.Moves[1].From != 3 || s.Moves[1].To != 0 || !s.Moves[1].Rollback {
					t.Errorf("alias %d, moves %+v", s.Alias("m", "champion"), s.Moves)
				}
			}},
		{"round lifecycle", []Command{round(1, RoundProgress, 3), round(1, RoundStarted, 0), round(1, RoundStarted, 0),
			round(1, RoundProgress, 5), round(1, RoundProgress, 4), round(1, RoundFinished, 9), round(1, RoundProgress, 10)},
			[]string{"conflict", "applied", "conflict", "applied", "conflict", "applied", "conflict"},
			func(t *testing.T, s *State) {
				if r := s.Rounds[1]; r.Status != RoundFinished || r.Step != 9 || r.Seed != 9 {
					t.Errorf("round record %+v", r)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewState()
			for i, c := range tc.cmds {
				res := s.Apply(uint64(i+1), entry(t, c), testKey)
				got := res.Outcome
				if got == OutcomeRejected {
					got = res.Code
				}
				if got != tc.want[i] {
					t.Errorf("command %d: %s (%s), want %s", i, got, res.Message, tc.want[i])
				}
			}
			tc.check(t, s)
		})
	}
}

func TestStateAtMostOnceAndDeterministic(t *testing.T) {
	a, b := NewState(), NewState()
	e := entry(t, Command{ID: "same", Kind: KindAlias, Alias: &AliasMove{Model: "m", Alias: "a", Version: 1}})
	for _, s := range []*State{a, b} {
		r1 := s.Apply(1, e, testKey)
		r2 := s.Apply(2, e, testKey)
		if r1.Outcome != OutcomeApplied || !r2.Duplicate || r2.Index != 1 || len(s.Moves) != 1 {
			t.Fatalf("retry applied twice: %+v %+v moves %d", r1, r2, len(s.Moves))
		}
	}
	if a.Hash() != b.Hash() || a.Chain != b.Chain {
		t.Fatal("the same entries gave different states")
	}
	c := NewState()
	c.Apply(1, e, testKey)
	if c.Chain == a.Chain {
		t.Fatal("different applied sequences have the same chain hash")
	}
}

func TestStateRefusesForgedAndMalformed(t *testing.T) {
	good := entry(t, Command{Kind: KindVote, Vote: &Vote{Round: 1, Voter: "a", Strategy: "x"}})
	var tampered Command
	_ = json.Unmarshal(good, &tampered)
	tampered.Vote.Strategy = "other"
	bad, _ := json.Marshal(tampered)
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"not json", []byte("{nope")},
		{"tampered after signing", bad},
		{"unsigned", []byte(`{"id":"x","kind":"vote","vote":{"round":1,"voter":"a","strategy":"x"}}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewState()
			res := s.Apply(1, tc.raw, testKey)
			if res.Outcome != OutcomeRejected || !errs.Is(res.Err(), errs.Invalid) {
				t.Fatalf("result %+v", res)
			}
			if len(s.Votes) != 0 {
				t.Fatal("a refused entry changed the state")
			}
		})
	}
}

func TestEnvelopesAreCapped(t *testing.T) {
	s := NewState()
	for i := range MaxEnvelopes + 10 {
		s.Apply(uint64(i+1), entry(t, Command{Kind: KindEnvelope, Envelope: &Envelope{Topic: "agent.x", Payload: []byte(fmt.Sprint(i))}}), testKey)
	}
	if len(s.Envelopes) != MaxEnvelopes || s.Envelopes[0].Index != 11 {
		t.Fatalf("kept %d envelopes from index %d", len(s.Envelopes), s.Envelopes[0].Index)
	}
}

func TestCommandValidate(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		name string
		c    Command
		msg  string
	}{
		{"no id", Command{Kind: KindVote, Vote: &Vote{Round: 1, Voter: "a", Strategy: "b"}}, "needs an id"},
		{"unknown kind", Command{ID: "1", Kind: "drop", Vote: &Vote{}}, "nknown command kind"},
		{"two bodies", Command{ID: "1", Kind: KindVote, Vote: &Vote{Round: 1, Voter: "a", Strategy: "b"}, Round: &Round{}}, "exactly one"},
		{"round 0 vote", Command{ID: "1", Kind: KindVote, Vote: &Vote{Voter: "a", Strategy: "b"}}, "from 1"},
		{"long strategy", Command{ID: "1", Kind: KindVote, Vote: &Vote{Round: 1, Voter: "a", Strategy: long}}, "voter id and a strategy"},
		{"alias version 0", Command{ID: "1", Kind: KindAlias, Alias: &AliasMove{Model: "m", Alias: "a"}}, "version from 1"},
		{"removal with a version", Command{ID: "1", Kind: KindAlias, Alias: &AliasMove{Model: "m", Alias: "a", Version: 2, Remove: true}}, "names no version"},
		{"local topic", Command{ID: "1", Kind: KindEnvelope, Envelope: &Envelope{Topic: "market.ticks"}}, "not replicated"},
		{"progress topic", Command{ID: "1", Kind: KindEnvelope, Envelope: &Envelope{Topic: "agent.progress"}}, "not replicated"},
		{"bad payload", Command{ID: "1", Kind: KindEnvelope, Envelope: &Envelope{Topic: "agent.x", Payload: []byte("{")}}, "not valid JSON"},
		{"big payload", Command{ID: "1", Kind: KindEnvelope, Envelope: &Envelope{Topic: "agent.x", Payload: []byte(`"` + strings.Repeat("x", MaxPayloadSize) + `"`)}}, "at most"},
		{"bad status", Command{ID: "1", Kind: KindRound, Round: &Round{Round: 1, Status: "paused"}}, "started, progress or finished"},
		{"control char", Command{ID: "a\nb", Kind: KindVote, Vote: &Vote{Round: 1, Voter: "a", Strategy: "b"}}, "needs an id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want invalid with %q", err, tc.msg)
			}
		})
	}
}
