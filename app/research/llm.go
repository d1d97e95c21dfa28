package research

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/metastation/metastation/app/llm"
)

// LLM rewords a memo's opinions through an OpenAI-compatible chat
// completions endpoint (a local model, the METASTATION_LLM_URL setting the
// tournament's commentator uses). Facts and numbers are never sent for
// rewriting; a rewording that is late, fails, or holds any number is
// dropped and the template's sentence stays (app/llm). Without it memos are written
// from the templates alone, fully offline.
type LLM struct{ llm.Client }

const llmSystem = "You edit investment memos. Rewrite the opinion you are given in plain, sober English for a portfolio manager, " +
	"in at most two sentences. Add no numbers, names or facts."

// Rewrite asks for a new wording of one opinion.
func (l *LLM) Rewrite(ctx context.Context, text string) (string, error) {
	s, err := l.Complete(ctx, llm.Request{System: llmSystem, User: text, Temperature: 0.3, MaxTokens: 120, MaxChars: 600, Timeout: 5 * time.Second})
	if err != nil {
		return "", err
	}
	switch {
	case numberToken.MatchString(s):
		return "", errors.New("llm: the rewording holds a number")
	case strings.ContainsAny(s, "[]#|*"):
		return "", errors.New("llm: the rewording holds markup")
	}
	return s, nil
}
