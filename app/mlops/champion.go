package mlops

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/entrant"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/tournament"
)

// Roster is the part of the tournament the champion entrant uses.
type Roster interface {
	Enter(m tournament.Maker) (int64, error)
	Withdraw(id string) (int64, error)
}

// ChampionEntrant keeps the trading policy a model's champion alias points
// at playing in the tournament: when the alias moves (a promotion, a
// rollback), the old version is withdrawn and the new one entered, both
// from the next round. Its profile names the version (id "champion-v3"),
// so the leaderboard and the floor say which version trades. With shadow
// on, the challenger sees every view the champion sees and its orders are
// compared and discarded: it never trades.
type ChampionEntrant struct {
	svc    *Service
	roster Roster
	model  string
	log    *slog.Logger

	mu      sync.Mutex
	id      string // the entrant's profile id in the tournament, "" when none
	version int
}

// NewChampionEntrant returns an entrant that follows model's champion.
func NewChampionEntrant(svc *Service, roster Roster, model string, log *slog.Logger) *ChampionEntrant {
	if log == nil {
		log = slog.Default()
	}
	return &ChampionEntrant{svc: svc, roster: roster, model: model, log: log}
}

// Playing returns the entrant's tournament id and version (0 when none).
func (c *ChampionEntrant) Playing() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id, c.version
}

// Run follows the champion alias until ctx ends: it syncs at the start,
// after every alias move of the model on the bus, and every RefreshEvery
// to see moves made by another process (the CLI).
func (c *ChampionEntrant) Run(ctx context.Context) error {
	var moves <-chan bus.Envelope
	if c.svc.bus != nil {
		sub := c.svc.bus.Subscribe(64, TopicAliases.Name)
		defer sub.Close()
		moves = sub.C()
	}
	tick := time.NewTicker(c.svc.cfg.RefreshEvery)
	defer tick.Stop()
	last := ""
	syncNow := func() {
		err := c.Sync(ctx)
		msg := ""
		if err != nil && !errs.Is(err, errs.NotFound) {
			msg = err.Error()
		}
		if msg != "" && msg != last { // say it once, not every tick
			c.log.Warn("mlops: champion not swapped in the tournament", "model", c.model, "err", err)
		}
		last = msg
	}
	syncNow()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-moves:
			if m, ok := e.Payload.(AliasMove); ok && (m.Model != c.model || m.Alias != Champion) {
				continue
			}
			syncNow()
		case <-tick.C:
			syncNow()
		}
	}
}

// Sync enters the version the champion alias points at now, if it is not
// the one playing. A version whose artifact fails its check is not entered
// and the one playing stays.
func (c *ChampionEntrant) Sync(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, err := c.svc.reg.Resolve(ctx, c.model, Champion)
	if err != nil {
		return err
	}
	if v.Version == c.version {
		return nil
	}
	maker, id, err := c.maker(ctx, v)
	if err != nil {
		return err
	}
	if c.id != "" {
		// Someone may have withdrawn it by hand: that is no reason not to
		// enter the new champion.
		if _, err := c.roster.Withdraw(c.id); err != nil && !errs.Is(err, errs.NotFound) {
			return fmt.Errorf("withdraw %s: %w", c.id, err)
		}
	}
	if _, err := c.roster.Enter(maker); err != nil {
		c.id, c.version = "", 0
		return fmt.Errorf("enter %s: %w", id, err)
	}
	c.log.Info("mlops: champion trades from the next round", "model", c.model, "version", v.Version, "id", id)
	decision := fmt.Sprintf("version %d enters the tournament as %s and trades from the next round", v.Version, id)
	if c.version != 0 {
		decision += fmt.Sprintf(", replacing version %d", c.version)
	}
	c.id, c.version = id, v.Version
	c.svc.audit(ctx, Event{Model: c.model, Kind: "tournament", Actor: "auto", Decision: decision,
		Stats: map[string]any{"version": v.Version, "entrant": id, "sha256": v.SHA256}})
	return nil
}

// maker loads version v (verified) as a tournament entrant.
func (c *ChampionEntrant) maker(ctx context.Context, v Version) (tournament.Maker, string, error) {
	m, err := c.svc.reg.Model(ctx, c.model)
	if err != nil {
		return nil, "", err
	}
	if m.Kind != KindTrading {
		return nil, "", errs.Errorf(errs.Invalid, "model %s holds %s models; only trading policies play in the tournament", c.model, m.Kind)
	}
	_, data, err := c.svc.reg.Artifact(ctx, c.model, v.Version)
	if err != nil {
		return nil, "", err
	}
	a, err := entrant.LoadTradingAgent(bytes.NewReader(data), entrant.TradingAgentConfig{})
	if err != nil {
		return nil, "", errs.Wrap(errs.Unavailable, err, "version %d of %s does not load as a tournament entrant", v.Version, c.model)
	}
	p := a.Profile()
	p.ID = fmt.Sprintf("champion-v%d", v.Version)
	p.Name = fmt.Sprintf("Champion v%d · %s", v.Version, p.Name)
	p.Bio += fmt.Sprintf(" Served from the model registry: %s version %d (sha256 %s…), the version its champion alias names.", c.model, v.Version, v.SHA256[:12])
	model, version := c.model, v.Version
	return func(uint64) tournament.Strategy {
		cs := &championStrategy{Strategy: a.Strategy(), p: p}
		cs.shadow, cs.record = c.shadowFor(model, version)
		return cs
	}, p.ID, nil
}

// shadowFor returns, when shadow is on and the model has another
// challenger, a fresh challenger strategy and the function that records
// the comparison of its orders with the champion's.
func (c *ChampionEntrant) shadowFor(model string, champion int) (tournament.Strategy, func(a, b float64)) {
	ctx := context.Background()
	r, err := c.svc.route(ctx, model)
	ch := 0
	if err == nil {
		ch = r.aliases[Challenger]
	}
	if err != nil || !r.deploy.Shadow || ch == 0 || ch == champion {
		return nil, nil
	}
	_, data, err := c.svc.reg.Artifact(ctx, model, ch)
	if err != nil {
		return nil, nil
	}
	a, err := entrant.LoadTradingAgent(bytes.NewReader(data), entrant.TradingAgentConfig{})
	if err != nil {
		return nil, nil
	}
	return a.Strategy(), func(x, y float64) { c.svc.recordShadow(model, champion, ch, x, y, x == y) }
}

// championStrategy plays the champion and, with shadow on, shows every view
// to the challenger too, discarding its orders.
type championStrategy struct {
	tournament.Strategy
	p      tournament.Profile
	shadow tournament.Strategy
	record func(champion, challenger float64)
	buf    []tournament.Order
}

func (s *championStrategy) Profile() tournament.Profile { return s.p }

func (s *championStrategy) Decide(v *tournament.View, out []tournament.Order) []tournament.Order {
	n := len(out)
	out = s.Strategy.Decide(v, out)
	if s.shadow != nil {
		s.buf = s.shadow.Decide(v, s.buf[:0])
		a, b := netQty(out[n:]), netQty(s.buf)
		if a != 0 || b != 0 {
			s.record(a, b)
		}
	}
	return out
}

// netQty is the signed quantity of orders (buys positive).
func netQty(os []tournament.Order) float64 {
	var q float64
	for _, o := range os {
		q += float64(o.Side) * o.Qty
	}
	return q
}

// recordShadow adds one mirrored decision to the shadow comparison.
func (s *Service) recordShadow(model string, champion, challenger int, a, b float64, same bool) {
	l := s.liveOf(model)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &l.shadow
	if st.Champion != champion || st.Challenger != challenger {
		*st = ShadowStats{Champion: champion, Challenger: challenger, Dropped: st.Dropped}
	}
	d := a - b
	if d < 0 {
		d = -d
	}
	st.Compared++
	if same {
		st.Agree++
	}
	st.MeanAbsDiff += (d - st.MeanAbsDiff) / float64(st.Compared)
	st.MaxAbsDiff = max(st.MaxAbsDiff, d)
	st.Points = append(st.Points, ShadowPoint{Champion: a, Challenger: b})
	if n := len(st.Points); n > shadowPoints {
		st.Points = st.Points[n-shadowPoints:]
	}
	st.Agreement = float64(st.Agree) / float64(st.Compared)
	s.changed = true
}
