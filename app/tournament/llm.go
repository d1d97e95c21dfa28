package tournament

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/metastation/metastation/app/llm"
)

// LLM rewrites commentary lines through a local model (app/llm). A
// rewrite that is late, fails, or quotes a name or number that is not a
// field of the event is dropped and the template's line is used: the
// commentary never waits for, nor trusts, the model.
type LLM struct{ llm.Client }

const llmSystem = "You are the lively commentator of an AI trading tournament. Rewrite the line you are given " +
	"in your own words, in one short sentence. Keep every name and every number exactly as written; add no other numbers or names."

// Rewrite asks the model for a new wording of line.
func (l *LLM) Rewrite(ctx context.Context, line string) (string, error) {
	return l.Complete(ctx, llm.Request{System: llmSystem, User: line, Temperature: 0.7, MaxTokens: 80, MaxChars: 280})
}

var numberRE = regexp.MustCompile(`[0-9][0-9,]*(\.[0-9]+)?`)

// QuotesOnly checks that every number in text is a field of e (money as
// its absolute value, the clock's hours and minutes), and that of names
// and symbols only e's own appear.
func QuotesOnly(text string, e Event, names, symbols []string) error {
	allowed := map[float64]bool{e.Pct: true, e.Qty: true, e.Price: true}
	if e.Value != 0 {
		allowed[abs(e.Value)] = true
	}
	for _, part := range strings.Split(e.Clock, ":") {
		if x, err := strconv.ParseFloat(part, 64); err == nil {
			allowed[x] = true
		}
	}
	for _, tok := range numberRE.FindAllString(text, -1) {
		x, err := strconv.ParseFloat(strings.ReplaceAll(tok, ",", ""), 64)
		if err != nil || !allowed[x] {
			return fmt.Errorf("the line shows %s, which is no field of the event", tok)
		}
	}
	for _, n := range names {
		if n != "" && strings.Contains(text, n) && n != e.Name && n != e.Other {
			return fmt.Errorf("the line names %s, who is not in the event", n)
		}
	}
	for _, s := range symbols {
		if containsWord(text, s) && s != e.Symbol {
			return fmt.Errorf("the line names %s, not the event's symbol", s)
		}
	}
	return nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// containsWord reports whether w occurs in s not inside a longer word.
func containsWord(s, w string) bool {
	for i := 0; ; {
		k := strings.Index(s[i:], w)
		if k < 0 {
			return false
		}
		k += i
		before := k == 0 || !isWordByte(s[k-1])
		after := k+len(w) == len(s) || !isWordByte(s[k+len(w)])
		if before && after {
			return true
		}
		i = k + 1
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
