package app

import (
	"fmt"
	"log/slog"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/ui"
	"net/http"
)

// The market the server runs: every preset instrument (equities, crypto,
// FX), a few thousand background agents, ten simulated seconds per real
// second so a 1-minute bar closes every six seconds. The speed can be changed
// from the page.
const (
	serverMarketPreset = "all"
	serverMarketAgents = 2000
	serverMarketSpeed  = 10
)

func newMarket(cfg Config, b *bus.Bus, w *store.Writer, db *store.DB, log *slog.Logger) (*market.Service, error) {
	u, err := market.Preset(serverMarketPreset)
	if err != nil {
		return nil, fmt.Errorf("market preset: %w", err)
	}
	m, err := market.NewService(market.ServiceConfig{
		Sim:   market.SimConfig{Universe: u, Seed: uint64(cfg.Seed), Agents: serverMarketAgents},
		Speed: serverMarketSpeed,
	}, b, w, db, log.With("service", "market"))
	if err != nil {
		return nil, fmt.Errorf("market: %w", err)
	}
	return m, nil
}

func (s *Server) handleMarket(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, ui.Market(s.page("Market", "/market")))
}
