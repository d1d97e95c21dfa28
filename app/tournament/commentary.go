package tournament

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Line is one line of live commentary.
type Line struct {
	Round    int64  `json:"round"`
	Step     int    `json:"step"`
	Clock    string `json:"clock"`
	Kind     string `json:"kind"`
	Strategy string `json:"strategy,omitempty"`
	Text     string `json:"text"`
}

// templates are the commentary grammar: several variants per event kind.
// Placeholders: {name} {other} {symbol} {side} {regime} {clock} {value}
// (signed money), {amount} (money of a fill), {pct} (a percentage), {qty}, {price}, {phrase} (one of the
// strategy's catch phrases). Every number a line shows comes from the
// event's fields through these placeholders, and nothing else.
var templates = map[string][]string{
	EventOpen: {
		"The bell rings at {clock}. Five traders, one market, and the regime is {regime}.",
		"{clock}: we are live! The market opens {regime}.",
		"And they're off at {clock} in a {regime} market.",
	},
	EventLeadChange: {
		"{name} takes the lead from {other}, now {value} on the day!",
		"New leader! {name} overtakes {other} at {clock}.",
		"{name} edges past {other} into first place, {value} on the day.",
		"Change at the top: {name} leads, {other} slips to second.",
	},
	EventNewHigh: {
		"{name} hits a new high for the day: {value}.",
		"Fresh peak for {name}: {value} on the day. {phrase}",
		"{name} keeps climbing: {value} and counting.",
	},
	EventDrawdown: {
		"Trouble for {name}: down {pct}% from the peak.",
		"{name} is bleeding, a {pct}% drawdown at {clock}.",
		"Ouch. {name} gives back {pct}% from the high.",
	},
	EventRegime: {
		"The market turns {regime} at {clock}!",
		"Regime change: we are now {regime}.",
		"Hold on to your desks, the tape says {regime}.",
	},
	EventBigFill: {
		"{name} {side}s {qty} {symbol} at {price}, a {amount} ticket!",
		"Big print: {name} {side}s {symbol}, {amount} at {price}.",
		"{name} swings the bat on {symbol}: {amount}. {phrase}",
		"There goes {name} again, {qty} {symbol} at {price}.",
	},
	EventStop: {
		"Risk stop! {name} is benched after a {pct}% drawdown.",
		"That's it for {name}: stopped out, {pct}% off the peak.",
		"{name} hits the risk limit ({pct}%) and has to flatten everything.",
	},
	EventComeback: {
		"What a comeback from {name}, back to {value}!",
		"{name} claws back into the green: {value}. {phrase}",
		"Never count out {name}: from the red to {value}.",
	},
	EventVoteSwing: {
		"The crowd is swinging to {name}: {pct}% of the votes now.",
		"{name} is the audience favourite with {pct}% of the votes.",
		"Votes pour in for {name}, {pct}% and rising.",
	},
	EventFinal: {
		"Final minute! {name} leads the board at {value}.",
		"One minute to the close and {name} is on top at {value}.",
		"Into the last minute: can anyone catch {name} at {value}?",
		"Final minute! {name} is on top of the board.",
	},
	EventResult: {
		"{name} wins the round with {value}! {phrase}",
		"And the winner is {name}, finishing at {value}.",
		"It's over: {name} takes the round, {value} on the day.",
		"It's over: the round goes to {name}.",
	},
}

// phraseChance is the probability that a personality-aware variant quotes
// the strategy's catch phrase rather than a plain one.
const phraseChance = 0.5

// Commentator turns events into lines. It is deterministic given its seed
// and the events it sees, and never repeats a line among its last 20.
type Commentator struct {
	rng      *rand.Rand
	profiles map[string]Profile
	recent   []string
	round    int64
}

// recentWindow is how many recent lines a new line must differ from.
const recentWindow = 20

// NewCommentator returns a commentator for round with the given profiles.
func NewCommentator(seed uint64, round int64, profiles []Profile) *Commentator {
	c := &Commentator{rng: rand.New(rand.NewPCG(seed, 0xc0ffee)), profiles: map[string]Profile{}, round: round}
	for _, p := range profiles {
		c.profiles[p.ID] = p
	}
	return c
}

// Say returns the line for e, or false when every variant would repeat a
// recent line (or the kind has no templates).
func (c *Commentator) Say(e Event) (Line, bool) {
	vs := templates[e.Kind]
	if len(vs) == 0 {
		return Line{}, false
	}
	order := c.rng.Perm(len(vs))
	usePhrase := c.rng.Float64() < phraseChance
	for _, k := range order {
		tpl := vs[k]
		if strings.Contains(tpl, "{phrase}") && !usePhrase {
			continue
		}
		// "+$0 on the day" says nothing: a sum that rounds to nothing
		// takes a variant without it.
		if strings.Contains(tpl, "{value}") && math.Round(e.Value) == 0 {
			continue
		}
		text := strings.TrimSpace(c.fill(tpl, e))
		if text == "" || c.isRecent(text) {
			continue
		}
		c.recent = append(c.recent, text)
		if len(c.recent) > recentWindow {
			c.recent = c.recent[1:]
		}
		return Line{Round: c.round, Step: e.Step, Clock: e.Clock, Kind: e.Kind, Strategy: e.Strategy, Text: text}, true
	}
	return Line{}, false
}

func (c *Commentator) isRecent(text string) bool {
	for _, r := range c.recent {
		if r == text {
			return true
		}
	}
	return false
}

func (c *Commentator) fill(tpl string, e Event) string {
	phrase := ""
	if p, ok := c.profiles[e.Strategy]; ok && len(p.Phrases) > 0 {
		phrase = "“" + p.Phrases[c.rng.IntN(len(p.Phrases))] + "”"
	}
	r := strings.NewReplacer(
		"{name}", e.Name, "{other}", e.Other, "{symbol}", e.Symbol, "{side}", sideVerb(e.Side),
		"{regime}", strings.ReplaceAll(e.Regime, "_", " "), "{clock}", e.Clock,
		"{value}", Money(e.Value), "{amount}", strings.TrimPrefix(Money(e.Value), "+"), "{pct}", Pct(e.Pct), "{qty}", Qty(e.Qty), "{price}", PriceText(e.Price),
		"{phrase}", phrase,
	)
	return r.Replace(tpl)
}

func sideVerb(side string) string {
	if side == "sell" {
		return "sell"
	}
	return "buy"
}

// Money formats money as the commentary shows it: "+$12,345" or "-$12,345",
// whole units ("$0" when it rounds to nothing).
func Money(v float64) string {
	n := int64(math.Round(math.Abs(v)))
	sign := "+"
	switch {
	case n == 0:
		sign = "" // never "+$0" or "-$0"
	case v < 0:
		sign = "-"
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return sign + "$" + b.String()
}

// Pct formats a percentage with two decimals.
func Pct(v float64) string { return fmt.Sprintf("%.2f", v) }

// Qty formats a quantity.
func Qty(v float64) string { return fmt.Sprintf("%g", v) }

// PriceText formats a price with two decimals.
func PriceText(v float64) string { return fmt.Sprintf("%.2f", v) }
