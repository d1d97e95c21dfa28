package market

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/market/book"
	"github.com/metastation/metastation/app/store"
)

// The market's topics on the bus.
var (
	TopicTrades = bus.NewTopic[[]Trade]("market.trades") // trades since the last publication
	TopicQuotes = bus.NewTopic[[]Quote]("market.quotes") // tops of the books that changed since the last message
	TopicBars   = bus.NewTopic[[]Bar]("market.bars")     // bars closed since the last publication
	TopicState  = bus.NewTopic[State]("market.state")    // snapshot: clock, speed, regime, quotes
)

// State is the market's snapshot, published on market.state.
type State struct {
	Time     time.Time `json:"time"`
	Speed    float64   `json:"speed"` // simulated seconds per real second; 0 is as fast as possible
	Regime   Regime    `json:"regime"`
	Forced   bool      `json:"forced"` // a script sets the regime
	Agents   int       `json:"agents"`
	Quotes   []Quote   `json:"quotes"`
	Counters Counters  `json:"counters"`
	Lagging  bool      `json:"lagging"` // the machine cannot keep up with the speed
	Running  bool      `json:"running"`
	// Forming are the bars in progress, one per instrument and interval
	// (1m, 1h, 1d) once it has traded: a chart's last candle and its
	// volume, as of Time.
	Forming []Bar `json:"forming"`
}

// ServiceConfig sets up the market service.
type ServiceConfig struct {
	Sim          SimConfig
	Speed        float64       // simulated seconds per real second: 1, 10, 100; 0 is as fast as possible
	PublishEvery time.Duration // real time between publications on the bus; default 250ms
	MaxTrades    int           // most trades in one market.trades message; default 2000
	KeepBars     int           // bars kept in memory per symbol and interval; default 5000
}

// Service runs the simulated market on a clock, publishes it on the bus and
// persists its bars. Its query methods are safe to call while Run runs.
type Service struct {
	cfg ServiceConfig
	bus *bus.Bus
	w   *store.Writer // may be nil: bars are then only kept in memory
	db  *store.DB     // may be nil: bar queries then read memory
	log *slog.Logger

	mu          sync.Mutex
	sim         *Sim
	speed       float64
	rings       map[barKey]*barRing
	pendingBars []Bar // closed since the last publication
	lagging     bool
	running     bool
	reanchor    bool
	lostBars    uint64 // bars the writer had no room for
	acc         *accounts
}

type barKey struct {
	symbol   string
	interval Interval
}

// NewService builds the market service. b is required; w and db may be nil.
func NewService(cfg ServiceConfig, b *bus.Bus, w *store.Writer, db *store.DB, log *slog.Logger) (*Service, error) {
	if b == nil {
		return nil, errors.New("the market service needs a bus")
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.PublishEvery <= 0 {
		cfg.PublishEvery = 250 * time.Millisecond
	}
	if cfg.MaxTrades <= 0 {
		cfg.MaxTrades = 2000
	}
	if cfg.KeepBars <= 0 {
		cfg.KeepBars = 5000
	}
	if err := checkSpeed(cfg.Speed); err != nil {
		return nil, err
	}
	sim, err := NewSim(cfg.Sim)
	if err != nil {
		return nil, fmt.Errorf("market: %w", err)
	}
	s := &Service{cfg: cfg, bus: b, w: w, db: db, log: log, sim: sim, speed: cfg.Speed, rings: map[barKey]*barRing{}, acc: newAccounts()}
	for _, in := range sim.Universe().Instruments {
		for _, iv := range Intervals {
			s.rings[barKey{in.Symbol, iv}] = &barRing{bars: make([]Bar, 0, cfg.KeepBars)}
		}
	}
	return s, nil
}

func checkSpeed(x float64) error {
	if math.IsNaN(x) || x < 0 || x > 1e6 {
		return errs.Errorf(errs.Invalid, "speed must be between 0 (as fast as possible) and 1,000,000, not %g", x)
	}
	return nil
}

// Run advances the market on its clock until ctx ends. At speed x, one real
// second covers x simulated seconds; at speed 0 the market runs as fast as
// the machine allows. When the machine cannot keep up, the market runs late
// rather than piling up a backlog, and State says it is lagging.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	s.running = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
		s.publish()
	}()
	realStart, simStart := time.Now(), s.now()
	nextPublish := time.Now()
	for ctx.Err() == nil {
		s.mu.Lock()
		if s.reanchor {
			realStart, simStart, s.reanchor = time.Now(), s.sim.Now(), false
		}
		speed := s.speed
		batchEnd := time.Now().Add(20 * time.Millisecond)
		var wait time.Duration
		for n := 0; ; n++ {
			if speed > 0 {
				target := simStart.Add(time.Duration(float64(time.Since(realStart)) * speed))
				behind := target.Sub(s.sim.Now())
				if behind < s.sim.StepSize() {
					wait = time.Duration(float64(s.sim.StepSize()-behind) / speed)
					s.lagging = false
					break
				}
				if float64(behind) > float64(2*time.Second)*speed { // more than 2 s of real time late
					realStart, simStart, s.lagging = time.Now(), s.sim.Now(), true
				}
			}
			s.sim.Step()
			s.collectBars()
			s.bookOutside()
			if n%64 == 63 && time.Now().After(batchEnd) {
				break
			}
		}
		s.mu.Unlock()
		if time.Now().After(nextPublish) {
			s.publish()
			nextPublish = time.Now().Add(s.cfg.PublishEvery)
		}
		wait = min(wait, time.Until(nextPublish))
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
	}
	return nil
}

func (s *Service) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sim.Now()
}

// collectBars moves closed bars to the memory rings and the writer. Called
// with mu held.
func (s *Service) collectBars() {
	bars := s.sim.bars
	if len(bars) == 0 {
		return
	}
	for _, b := range bars {
		s.rings[barKey{b.Symbol, b.Interval}].push(b)
		if s.w != nil && !s.w.TryEnqueue(insertBar, b.Symbol, string(b.Interval), b.Time.Unix(),
			b.Open, b.High, b.Low, b.Close, b.Volume, b.Trades) {
			s.lostBars++
		}
	}
	s.pendingBars = append(s.pendingBars, bars...)
	s.sim.bars = s.sim.bars[:0]
}

const insertBar = `INSERT OR REPLACE INTO market_bars (symbol, interval, ts, open, high, low, close, volume, trades)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// publish sends trades, closed bars, quotes and the state on the bus.
func (s *Service) publish() {
	s.mu.Lock()
	trades := s.sim.DrainTrades()
	bars := s.pendingBars
	s.pendingBars = nil
	quotes := s.sim.ChangedQuotes()
	st := s.stateLocked()
	s.mu.Unlock()
	if len(trades) > s.cfg.MaxTrades {
		trades = trades[len(trades)-s.cfg.MaxTrades:]
	}
	if len(trades) > 0 {
		TopicTrades.Publish(s.bus, "market", "", "trades", trades)
	}
	if len(bars) > 0 {
		TopicBars.Publish(s.bus, "market", "", "bars", bars)
	}
	if len(quotes) > 0 {
		TopicQuotes.Publish(s.bus, "market", "", "quotes", quotes)
	}
	TopicState.Publish(s.bus, "market", "", "state", st)
}

func (s *Service) stateLocked() State {
	r, forced := s.sim.Regime()
	st := State{
		Time: s.sim.Now(), Speed: s.speed, Regime: r, Forced: forced, Agents: s.sim.Agents(),
		Counters: s.sim.Counters(), Lagging: s.lagging, Running: s.running,
	}
	for i := range s.sim.Universe().Instruments {
		st.Quotes = append(st.Quotes, s.sim.Quote(i))
		st.Forming = s.sim.Forming(i, st.Forming)
	}
	return st
}

// State returns the market's current snapshot.
func (s *Service) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateLocked()
}

// Instruments lists the simulated instruments.
func (s *Service) Instruments() []Instrument {
	return append([]Instrument(nil), s.sim.Universe().Instruments...)
}

// SetSpeed changes the clock: simulated seconds per real second, 0 for as
// fast as possible.
func (s *Service) SetSpeed(x float64) error {
	if err := checkSpeed(x); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.speed, s.reanchor = x, true
	return nil
}

// SetScript forces the regimes by a script (see ParseScript); times of day
// refer to the current simulated day. An empty text hands the regimes back
// to the Markov chain.
func (s *Service) SetScript(text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if text == "" {
		s.sim.SetScript(Script{{Auto: true}})
		return nil
	}
	sc, err := ParseScript(text, s.sim.Now())
	if err != nil {
		return errs.Errorf(errs.Invalid, "%w", err)
	}
	s.sim.SetScript(sc)
	return nil
}

func (s *Service) index(symbol string) (int, error) {
	i := s.sim.Universe().Index(symbol)
	if i < 0 {
		return 0, errs.Errorf(errs.NotFound, "no instrument %q in this market", symbol)
	}
	return i, nil
}

// Book returns up to depth levels per side of symbol's book (depth 1-500).
func (s *Service) Book(symbol string, depth int) (BookSnapshot, error) {
	if depth < 1 || depth > 500 {
		return BookSnapshot{}, errs.Errorf(errs.Invalid, "depth must be between 1 and 500, not %d", depth)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.index(symbol)
	if err != nil {
		return BookSnapshot{}, err
	}
	return s.sim.Book(i, depth), nil
}

// Bars returns symbol's bars of the interval with from <= time < to, oldest
// first, at most limit of them (the latest ones). They come from the
// database when the service has one, else from memory.
func (s *Service) Bars(ctx context.Context, symbol string, iv Interval, from, to time.Time, limit int) ([]Bar, error) {
	if _, err := s.index(symbol); err != nil {
		return nil, err
	}
	if iv.Duration() == 0 {
		return nil, errs.Errorf(errs.Invalid, "unknown interval %q (choose 1m, 1h or 1d)", iv)
	}
	if !from.Before(to) {
		return nil, errs.Errorf(errs.Invalid, "the start of the range must be before its end")
	}
	if limit < 1 || limit > 100000 {
		return nil, errs.Errorf(errs.Invalid, "limit must be between 1 and 100000, not %d", limit)
	}
	if s.db != nil {
		return s.dbBars(ctx, symbol, iv, from, to, limit)
	}
	s.mu.Lock()
	out := s.rings[barKey{symbol, iv}].between(from, to)
	s.mu.Unlock()
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

func (s *Service) dbBars(ctx context.Context, symbol string, iv Interval, from, to time.Time, limit int) ([]Bar, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT ts, open, high, low, close, volume, trades FROM (
		SELECT * FROM market_bars WHERE symbol = ? AND interval = ? AND ts >= ? AND ts < ?
		ORDER BY ts DESC LIMIT ?) ORDER BY ts`, symbol, string(iv), from.Unix(), to.Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("query bars: %w", err)
	}
	defer rows.Close()
	var out []Bar
	for rows.Next() {
		b := Bar{Symbol: symbol, Interval: iv}
		var ts int64
		if err := rows.Scan(&ts, &b.Open, &b.High, &b.Low, &b.Close, &b.Volume, &b.Trades); err != nil {
			return nil, fmt.Errorf("read bars: %w", err)
		}
		b.Time = time.Unix(ts, 0).UTC()
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read bars: %w", err)
	}
	return out, nil
}

// Fill is what became of an order sent with Submit.
type Fill struct {
	ID      uint64  `json:"id,omitempty"` // set when part of the order rests
	Filled  float64 `json:"filled"`
	Rested  float64 `json:"rested"`
	Dropped float64 `json:"dropped"`
	AvgPx   float64 `json:"avg_price,omitempty"`
	Trades  []Trade `json:"trades"`
}

// Submit sends an order from outside the background population (a
// tournament strategy, a person) to symbol's book. owner identifies the
// sender and must be negative (non-negative owners are background agents).
// price is ignored for market orders; qty is in units and is rounded to
// whole lots.
func (s *Service) Submit(symbol string, side book.Side, typ book.Type, price, qty float64, owner int32) (Fill, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.submitLocked(symbol, side, typ, price, qty, owner)
	s.bookOutside()
	return f, err
}

// submitLocked is Submit with mu held; it also returns the instrument's
// index.
func (s *Service) submitLocked(symbol string, side book.Side, typ book.Type, price, qty float64, owner int32) (Fill, int, error) {
	i, err := s.index(symbol)
	if err != nil {
		return Fill{}, 0, err
	}
	in := s.sim.Universe().Instruments[i]
	lotsF := math.Round(qty / in.LotSize)
	maxLots := s.maxOrderLots(i)
	switch {
	case owner >= 0:
		return Fill{}, 0, errs.Errorf(errs.Invalid, "outside owners must be negative")
	case side != book.Buy && side != book.Sell:
		return Fill{}, 0, errs.Errorf(errs.Invalid, "side must be buy or sell")
	case math.IsNaN(qty) || math.IsInf(qty, 0):
		return Fill{}, 0, errs.Errorf(errs.Invalid, "the quantity must be a number of units")
	case lotsF < 1:
		return Fill{}, 0, errs.Errorf(errs.Invalid, "quantity %g is less than one lot of %g", qty, in.LotSize)
	case lotsF > float64(maxLots):
		return Fill{}, 0, errs.Errorf(errs.Invalid, "quantity %g is more than the largest order %s accepts now, %g (%d lots: ten times the book's resting depth, at least %d)",
			qty, symbol, float64(maxLots)*in.LotSize, maxLots, minMaxOrderLots)
	case typ != book.Market && !(price > 0 && price < math.MaxInt64*in.TickSize):
		return Fill{}, 0, errs.Errorf(errs.Invalid, "a limit price must be a positive number")
	}
	lots := int64(lotsF)
	ticks := in.Ticks(price)
	if ref := s.sim.inst[i].last; ref > 0 {
		// The price collar: no order from outside trades or rests further
		// than priceCollar from the last trade. One market order once moved
		// KO's last price to 5e14 by sweeping the whole book.
		lo, hi := collar(ref)
		switch {
		case typ == book.Market:
			// A market order is an IOC limit at the collar's edge.
			typ, ticks = book.IOC, hi
			if side == book.Sell {
				ticks = lo
			}
		case ticks < lo || ticks > hi:
			return Fill{}, 0, errs.Errorf(errs.Invalid, "a limit price of %g is more than %.0f%% from %s's last price %g; send one between %g and %g",
				price, priceCollar*100, symbol, in.PriceOf(ref), in.PriceOf(lo), in.PriceOf(hi))
		}
	}
	s.sim.nextID++
	o := book.Order{ID: s.sim.nextID, Owner: owner, Side: side, Type: typ, Price: ticks, Qty: lots}
	s.sim.orders++
	var res book.Result
	s.sim.tradeBuf, res, err = s.sim.books[i].Submit(o, s.sim.tradeBuf[:0])
	if err != nil {
		return Fill{}, 0, errs.Errorf(errs.Invalid, "%w", err)
	}
	f := Fill{
		Filled: float64(res.Filled) * in.LotSize, Rested: float64(res.Rested) * in.LotSize,
		Dropped: float64(res.Dropped) * in.LotSize, Trades: make([]Trade, 0, len(s.sim.tradeBuf)),
	}
	for _, t := range s.sim.tradeBuf {
		f.Trades = append(f.Trades, Trade{Symbol: symbol, Time: s.sim.Now(), Price: in.PriceOf(t.Price), Qty: float64(t.Qty) * in.LotSize, Side: t.TakerSide})
	}
	s.sim.record(i, s.sim.tradeBuf)
	if res.Rested > 0 {
		f.ID = o.ID
	}
	var notional float64
	for _, t := range f.Trades {
		notional += t.Price * t.Qty
	}
	if f.Filled > 0 {
		f.AvgPx = notional / f.Filled
	}
	return f, i, nil
}

// priceCollar is how far from the last price an order from outside may
// trade or rest, as a fraction.
const priceCollar = 0.2

// minMaxOrderLots is the largest order's size in lots however thin the book.
const minMaxOrderLots = 1000

// collar returns the lowest and highest tick an outside order may use
// around the reference price ref (ticks).
func collar(ref int64) (lo, hi int64) {
	lo = max(1, int64(math.Ceil(float64(ref)*(1-priceCollar))))
	hi = int64(math.Floor(float64(ref) * (1 + priceCollar)))
	return lo, hi
}

// maxOrderLots is the largest outside order on instrument i: ten times the
// lots resting in its book, at least minMaxOrderLots. Bounding orders by
// depth keeps one order from being most of the market, and every quantity
// far from int64's range.
func (s *Service) maxOrderLots(i int) int64 {
	bid, ask := s.sim.books[i].Totals()
	return max(minMaxOrderLots, 10*(bid+ask))
}

// Cancel withdraws a resting order sent with Submit.
func (s *Service) Cancel(symbol string, id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.index(symbol)
	if err != nil {
		return err
	}
	if _, ok := s.sim.books[i].Cancel(id); !ok {
		return errs.Errorf(errs.NotFound, "no resting order %d on %s (filled or cancelled already)", id, symbol)
	}
	s.sim.cancels++
	return nil
}

// ImportResult is what Import accepted.
type ImportResult struct {
	Symbol string       `json:"symbol"`
	Rows   int          `json:"rows"`
	From   time.Time    `json:"from"`
	To     time.Time    `json:"to"`
	Report ImportReport `json:"report"`
}

// Import checks a price file (format "yahoo" or "alphavantage") and stores
// it under symbol, all or nothing. A rejected file returns an *ImportError
// listing its problems with line numbers, and nothing is written.
func (s *Service) Import(ctx context.Context, r io.Reader, symbol, format string) (ImportResult, error) {
	symbol = strings.TrimSpace(symbol)
	if symbol == "" || len(symbol) > 32 || strings.ContainsAny(symbol, " \t\r\n/\\") {
		return ImportResult{}, errs.Errorf(errs.Invalid, "the symbol must be 1 to 32 characters without spaces or slashes")
	}
	if s.db == nil {
		return ImportResult{}, errors.New("the market has no database to import into")
	}
	var (
		ser Series
		rep ImportReport
		err error
	)
	switch format {
	case "", "yahoo":
		ser, rep, err = ParseYahoo(r)
	case "alphavantage":
		ser, rep, err = ParseAlphaVantage(r)
	default:
		return ImportResult{}, errs.Errorf(errs.Invalid, "the format must be yahoo or alphavantage, not %q", format)
	}
	if err != nil {
		return ImportResult{}, err
	}
	ser.Symbol = symbol
	if err := ImportSeries(ctx, s.db.W, ser); err != nil {
		if store.IsFull(err) {
			return ImportResult{}, errs.Wrap(errs.NoSpace, err, "the disk holding the data directory is full, so nothing of this file was saved; free some space and import it again")
		}
		return ImportResult{}, err
	}
	return ImportResult{Symbol: symbol, Rows: rep.Rows, From: ser.Bars[0].Time, To: ser.Bars[len(ser.Bars)-1].Time, Report: rep}, nil
}
