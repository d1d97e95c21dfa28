package tournament

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// Every name and number in a line equals a field of the event that made it.
func TestCommentaryQuotesOnlyEventFields(t *testing.T) {
	var profiles []Profile
	for _, mk := range DefaultRoster() {
		profiles = append(profiles, mk(1).Profile())
	}
	symbols := []string{"SPX", "AAPL", "JPM", "KO", "PEP"}
	kinds := make([]string, 0, len(templates))
	for k := range templates {
		kinds = append(kinds, k)
	}
	var names []string
	for _, p := range profiles {
		names = append(names, p.Name)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	c := NewCommentator(77, 1, profiles)
	lines := 0
	for n := range 5000 {
		p, o := profiles[rng.IntN(len(profiles))], profiles[rng.IntN(len(profiles))]
		e := Event{Kind: kinds[n%len(kinds)], Step: n, Clock: "1" + strconv.Itoa(rng.IntN(6)) + ":" + strconv.Itoa(10+rng.IntN(50)),
			Strategy: p.ID, Name: p.Name, Other: o.Name, Symbol: symbols[rng.IntN(len(symbols))],
			Side: []string{"buy", "sell"}[rng.IntN(2)], Regime: "black_swan",
			Value: math.Round((rng.Float64() - 0.5) * 2e5), Pct: round2(rng.Float64() * 10),
			Qty: float64(1 + rng.IntN(5000)), Price: round2(10 + rng.Float64()*5000)}
		line, ok := c.Say(e)
		if !ok {
			continue
		}
		lines++
		if err := QuotesOnly(line.Text, e, names, symbols); err != nil {
			t.Fatalf("line %q: %v (event %+v)", line.Text, err, e)
		}
	}
	if lines < 4000 {
		t.Errorf("only %d lines from 5000 events", lines)
	}
}

func TestCommentaryNoRepeatWithin20AndDeterministic(t *testing.T) {
	profiles := []Profile{NewMomentum().Profile()}
	e := Event{Kind: EventRegime, Clock: "10:30", Regime: "crisis"}
	a, b := NewCommentator(5, 1, profiles), NewCommentator(5, 1, profiles)
	var seen []string
	for range 200 {
		la, oka := a.Say(e)
		lb, okb := b.Say(e)
		if oka != okb || la != lb {
			t.Fatalf("same seed, different lines: %q / %q", la.Text, lb.Text)
		}
		if !oka {
			continue
		}
		for _, s := range seen[max(0, len(seen)-20):] {
			if s == la.Text {
				t.Fatalf("line %q repeated within 20", la.Text)
			}
		}
		seen = append(seen, la.Text)
	}
	if len(seen) < 3 {
		t.Errorf("only %d lines for a repeated event", len(seen))
	}
}

func TestRoundCommentary(t *testing.T) {
	r, err := NewRound(RoundConfig{Seed: 1, Script: DefaultScript})
	if err != nil {
		t.Fatal(err)
	}
	d := newDetector(len(r.Profiles()), BySortino)
	c := NewCommentator(1, 1, r.Profiles())
	kinds := map[string]int{}
	var events []Event
	for !r.Done() {
		r.Step()
		events = d.step(r, r.DrainEvents(), events[:0])
		for _, e := range events {
			if l, ok := c.Say(e); ok {
				kinds[l.Kind]++
				if testing.Verbose() && kinds[l.Kind] <= 2 {
					t.Logf("%s %s", l.Clock, l.Text)
				}
			}
		}
	}
	t.Logf("lines by kind: %v", kinds)
	for _, k := range []string{EventOpen, EventRegime, EventFinal} {
		if kinds[k] == 0 {
			t.Errorf("no %s line in a flash-crash round", k)
		}
	}
}

// TestNoZeroMoney: a sum that rounds to nothing is never "+$0 on the day":
// the commentator takes a variant without the sum, and Money writes "$0".
func TestNoZeroMoney(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{0, "$0"}, {0.4, "$0"}, {-0.4, "$0"}, {0.6, "+$1"}, {-1234.5, "-$1,235"}, {1234567, "+$1,234,567"}} {
		t.Run(fmt.Sprint(tc.v), func(t *testing.T) {
			if got := Money(tc.v); got != tc.want {
				t.Errorf("Money(%v) = %q, want %q", tc.v, got, tc.want)
			}
		})
	}
	profiles := []Profile{{ID: "a", Name: "Alpha", Phrases: []string{"Go."}}}
	for _, kind := range []string{EventLeadChange, EventFinal, EventResult} {
		t.Run(kind, func(t *testing.T) {
			said := 0
			for seed := uint64(1); seed <= 40; seed++ {
				c := NewCommentator(seed, 1, profiles)
				l, ok := c.Say(Event{Kind: kind, Strategy: "a", Name: "Alpha", Other: "Beta", Clock: "10:00", Value: 0.3})
				if !ok {
					continue
				}
				said++
				if strings.Contains(l.Text, "$0") {
					t.Errorf("seed %d: %q", seed, l.Text)
				}
			}
			if said == 0 {
				t.Errorf("no %s line at all for a sum of zero", kind)
			}
		})
	}
}
