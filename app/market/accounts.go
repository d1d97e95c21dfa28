package market

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/market/book"
)

// Accounts: the orders, fills and positions of the people trading on the
// server's market from the /market page. A user is a name the web layer
// gives (the browser's signed voter cookie); each user gets an owner id of
// its own in the books, so a resting order filled later by a background
// agent is booked to the right person. Accounts live in memory: the books'
// resting orders do not survive a restart either.

// Limits of the accounts.
const (
	MaxAccounts      = 1000 // the least recently active account goes when a new one needs room
	MaxOpenOrders    = 100  // resting orders per account
	MaxAccountFills  = 200  // fills kept per account, the latest
	maxUserName      = 64
	firstUserOwner   = -1000 // owners -1..-999 stay for callers of Submit
	accountFillsShow = 100
)

// Account is what one user has on the market: resting orders, the latest
// fills and a position per instrument, with the profit and loss in dollars.
type Account struct {
	Time       time.Time   `json:"time"` // simulated
	Orders     []OpenOrder `json:"orders"`
	Fills      []UserFill  `json:"fills"` // newest first
	Positions  []Position  `json:"positions"`
	Realised   float64     `json:"realised_usd"`
	Unrealised float64     `json:"unrealised_usd"`
	Total      float64     `json:"total_usd"`
}

// OpenOrder is a user's resting limit order.
type OpenOrder struct {
	ID     uint64    `json:"id"`
	Symbol string    `json:"symbol"`
	Side   book.Side `json:"side"`
	Price  float64   `json:"price"`
	Qty    float64   `json:"qty"`  // units asked for
	Open   float64   `json:"open"` // units still resting
	Time   time.Time `json:"time"`

	instIdx  int
	openLots int64
}

// UserFill is one fill of a user's order.
type UserFill struct {
	Order  uint64    `json:"order"`
	Symbol string    `json:"symbol"`
	Side   book.Side `json:"side"`
	Price  float64   `json:"price"`
	Qty    float64   `json:"qty"` // units
	Time   time.Time `json:"time"`
	Maker  bool      `json:"maker"` // a resting order was filled
}

// Position is a user's holding of one instrument, valued at its average
// cost, marked to the last trade. Profit and loss are in dollars: USDJPY's
// yen are converted at its price (the fill's for realised, the last for
// unrealised).
type Position struct {
	Symbol     string  `json:"symbol"`
	Qty        float64 `json:"qty"` // units, negative when short
	AvgPrice   float64 `json:"avg_price"`
	Last       float64 `json:"last"`
	Realised   float64 `json:"realised_usd"`
	Unrealised float64 `json:"unrealised_usd"`
	Bought     float64 `json:"bought"` // units, over the account's life
	Sold       float64 `json:"sold"`
}

type account struct {
	owner  int32
	active uint64 // the accounts' counter when last used: least is least recent
	open   map[uint64]*OpenOrder
	fills  []UserFill
	pos    map[int]*holding // by instrument index
}

// holding is a position in lots and ticks, exact, with the realised P&L.
type holding struct {
	lots     int64 // signed
	avg      float64
	realised float64 // dollars
	bought   int64
	sold     int64
}

type accounts struct {
	byName  map[string]*account
	byOwner map[int32]*account
	next    int32
	clock   uint64
}

func newAccounts() *accounts {
	return &accounts{byName: map[string]*account{}, byOwner: map[int32]*account{}, next: firstUserOwner}
}

func checkUser(user string) error {
	if user == "" || len(user) > maxUserName || strings.ContainsFunc(user, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return errs.Errorf(errs.Invalid, "a user is named by 1 to %d printable characters", maxUserName)
	}
	return nil
}

// get returns user's account, making one if needed; the make evicts the
// least recently active account when there are MaxAccounts. cancel
// withdraws an evicted account's resting orders.
func (a *accounts) get(user string, cancel func(inst int, id uint64)) *account {
	a.clock++
	if ac, ok := a.byName[user]; ok {
		ac.active = a.clock
		return ac
	}
	if len(a.byName) >= MaxAccounts {
		var oldName string
		var old *account
		for n, ac := range a.byName {
			if old == nil || ac.active < old.active {
				oldName, old = n, ac
			}
		}
		for id, o := range old.open {
			cancel(o.inst(), id)
		}
		delete(a.byName, oldName)
		delete(a.byOwner, old.owner)
	}
	// Owners count down from firstUserOwner, skipping those in use; a
	// long-lived server wraps around before reaching int32's end.
	for a.byOwner[a.next] != nil {
		a.step()
	}
	ac := &account{owner: a.next, active: a.clock, open: map[uint64]*OpenOrder{}, pos: map[int]*holding{}}
	a.step()
	a.byName[user], a.byOwner[ac.owner] = ac, ac
	return ac
}

func (a *accounts) step() {
	a.next--
	if a.next == math.MinInt32 {
		a.next = firstUserOwner
	}
}

// inst is set by the service: which book the order rests in.
func (o *OpenOrder) inst() int { return o.instIdx }

// usdPer converts an amount in the instrument's quote currency to dollars
// at price px: the dollar pairs quoted in another currency (USDJPY) divide
// by their price; everything else here is quoted in dollars.
func usdPer(in Instrument, px float64) float64 {
	if in.Class == ClassFX && strings.HasPrefix(in.Symbol, "USD") && len(in.Symbol) == 6 && px > 0 {
		return 1 / px
	}
	return 1
}

// book applies fill f to the holding of its instrument in (average cost:
// a fill that reduces the position realises its part at f's price).
func (h *holding) book(in Instrument, f OutsideFill) {
	px := in.PriceOf(f.Price)
	q := int64(f.Side) * f.Lots
	if f.Side == book.Buy {
		h.bought += f.Lots
	} else {
		h.sold += f.Lots
	}
	switch {
	case h.lots == 0 || (h.lots > 0) == (q > 0):
		n := float64(abs64(h.lots) + f.Lots)
		h.avg = (h.avg*float64(abs64(h.lots)) + px*float64(f.Lots)) / n
		h.lots += q
	default:
		closing := min(abs64(q), abs64(h.lots))
		sign := float64(1)
		if h.lots < 0 {
			sign = -1
		}
		h.realised += sign * float64(closing) * in.LotSize * (px - h.avg) * usdPer(in, px)
		h.lots += q
		switch {
		case h.lots == 0:
			h.avg = 0
		case (h.lots > 0) != (sign > 0): // flipped: the rest opened at px
			h.avg = px
		}
	}
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// applyFill books an outside fill to its account: the position, the fill
// list and, for a resting order, what is left of it.
func (ac *account) applyFill(in Instrument, f OutsideFill) {
	h := ac.pos[f.Inst]
	if h == nil {
		h = &holding{}
		ac.pos[f.Inst] = h
	}
	h.book(in, f)
	ac.fills = append(ac.fills, UserFill{Order: f.Order, Symbol: in.Symbol, Side: f.Side, Price: in.PriceOf(f.Price),
		Qty: float64(f.Lots) * in.LotSize, Time: f.Time, Maker: f.Maker})
	if len(ac.fills) > 2*MaxAccountFills {
		ac.fills = ac.fills[:copy(ac.fills, ac.fills[len(ac.fills)-MaxAccountFills:])]
	}
	if o := ac.open[f.Order]; o != nil && f.Maker {
		o.openLots -= f.Lots
		o.Open = float64(o.openLots) * in.LotSize
		if o.openLots <= 0 {
			delete(ac.open, f.Order)
		}
	}
}

// view is the account as the page shows it; last gives an instrument's
// last trade price.
func (ac *account) view(now time.Time, ins []Instrument, last func(int) float64) Account {
	out := Account{Time: now, Orders: []OpenOrder{}, Fills: []UserFill{}, Positions: []Position{}}
	for _, o := range ac.open {
		out.Orders = append(out.Orders, *o)
	}
	slices.SortFunc(out.Orders, func(a, b OpenOrder) int { return cmp.Compare(b.ID, a.ID) })
	for k := len(ac.fills) - 1; k >= 0 && len(out.Fills) < accountFillsShow; k-- {
		out.Fills = append(out.Fills, ac.fills[k])
	}
	idx := make([]int, 0, len(ac.pos))
	for i := range ac.pos {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		h, in := ac.pos[i], ins[i]
		p := Position{Symbol: in.Symbol, Qty: float64(h.lots) * in.LotSize, AvgPrice: h.avg, Last: last(i),
			Realised: h.realised, Bought: float64(h.bought) * in.LotSize, Sold: float64(h.sold) * in.LotSize}
		if h.lots != 0 && p.Last > 0 {
			p.Unrealised = p.Qty * (p.Last - h.avg) * usdPer(in, p.Last)
		}
		out.Positions = append(out.Positions, p)
		out.Realised += p.Realised
		out.Unrealised += p.Unrealised
	}
	out.Total = out.Realised + out.Unrealised
	return out
}

// bookOutside books the outside fills since the last call to their
// accounts. Called with mu held after every Step and Submit.
func (s *Service) bookOutside() {
	ins := s.sim.Universe().Instruments
	for _, f := range s.sim.DrainOutside() {
		if ac := s.acc.byOwner[f.Owner]; ac != nil {
			ac.applyFill(ins[f.Inst], f)
		}
	}
}

// SubmitAs sends user's order (see Submit) and books it to user's account.
func (s *Service) SubmitAs(user, symbol string, side book.Side, typ book.Type, price, qty float64) (Fill, error) {
	if err := checkUser(user); err != nil {
		return Fill{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ac := s.acc.get(user, s.cancelLocked)
	if typ == book.Limit && len(ac.open) >= MaxOpenOrders {
		return Fill{}, errs.Errorf(errs.Invalid, "you have %d resting orders, the most one person may have; cancel some before sending another limit order", len(ac.open))
	}
	f, i, err := s.submitLocked(symbol, side, typ, price, qty, ac.owner)
	s.bookOutside()
	if err != nil {
		return Fill{}, err
	}
	if f.ID != 0 {
		in := s.sim.Universe().Instruments[i]
		lots := int64(math.Round(f.Rested / in.LotSize))
		// The price the order rests at: a limit's, on the tick grid.
		ac.open[f.ID] = &OpenOrder{ID: f.ID, Symbol: symbol, Side: side, Price: in.PriceOf(in.Ticks(price)),
			Qty: f.Filled + f.Rested + f.Dropped, Open: f.Rested, Time: s.sim.Now(), instIdx: i, openLots: lots}
	}
	return f, nil
}

// cancelLocked withdraws a resting order from book inst; mu held.
func (s *Service) cancelLocked(inst int, id uint64) {
	if _, ok := s.sim.books[inst].Cancel(id); ok {
		s.sim.cancels++
	}
}

// CancelAs withdraws one of user's resting orders.
func (s *Service) CancelAs(user string, id uint64) error {
	if err := checkUser(user); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ac := s.acc.byName[user]
	var o *OpenOrder
	if ac != nil {
		o = ac.open[id]
	}
	if o == nil {
		return errs.Errorf(errs.NotFound, "you have no resting order %d (filled, cancelled, or someone else's)", id)
	}
	s.cancelLocked(o.instIdx, id)
	delete(ac.open, id)
	return nil
}

// Account returns user's orders, fills and positions, marked to the last
// trades. A user who has not traded has an empty account.
func (s *Service) Account(user string) (Account, error) {
	if err := checkUser(user); err != nil {
		return Account{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ac := s.acc.byName[user]
	if ac == nil {
		return Account{Time: s.sim.Now(), Orders: []OpenOrder{}, Fills: []UserFill{}, Positions: []Position{}}, nil
	}
	ins := s.sim.Universe().Instruments
	return ac.view(s.sim.Now(), ins, func(i int) float64 {
		if l := s.sim.inst[i].last; l > 0 {
			return ins[i].PriceOf(l)
		}
		return 0
	}), nil
}
