package app

import (
	"fmt"
	"os"

	"github.com/metastation/metastation/app/llm"
	"github.com/metastation/metastation/app/research"
)

// newResearch builds the research agents. On a fresh database they run the
// built-in corpus once with the server's seed, so the Research page has a
// memo on first open. With an LLM URL memos' opinions (never their facts
// or numbers) may be reworded by the local model; the templates are the
// default and the fallback.
func (a *App) newResearch() (*research.Service, error) {
	rs := &research.Researcher{Mem: a.Memory.Store(), DB: a.DB, W: a.Writer, Log: a.Log.With("service", "research")}
	cfg := research.ServiceConfig{}
	if a.Config.ResearchDemo {
		cfg.DemoSeed = uint64(max(a.Config.Seed, 1))
	}
	if st, err := os.Stat(a.Config.MarketDataDir); err == nil && st.IsDir() {
		cfg.RealDir = a.Config.MarketDataDir
	}
	if a.Config.LLMURL != "" {
		cfg.LLM = &research.LLM{Client: llm.Client{URL: a.Config.LLMURL, Model: a.Config.LLMModel}}
	}
	svc, err := research.NewService(cfg, rs, a.Bus, a.Log.With("service", "research"))
	if err != nil {
		return nil, fmt.Errorf("research: %w", err)
	}
	return svc, nil
}
