package synth

import (
	"cmp"
	"context"
	"math"
	"math/bits"
	"slices"
)

// ChunkRows is the number of rows in every chunk of a job but the last. It
// is part of the output's definition: changing it changes the data.
const ChunkRows = 8192

// txPerCustomerDay is the mean number of transactions per customer per day:
// about 25 card and account payments a month. The customer population grows
// with the rows (10M rows over 90 days: about 400,000 customers).
const txPerCustomerDay = 0.28

// Transaction is one card or account transaction.
type Transaction struct {
	ID         int64
	Unix       int64 // seconds since 1970, UTC
	CustomerID int64
	AccountID  int64
	CardID     int64
	DeviceID   int64 // 0 when no device was used (card present, ATM)
	Amount     int64 // cents
	MerchantID int32
	Category   uint8
	Channel    Channel
	Region     uint8 // where it happened
	Fraud      FraudType
	Lat, Lon   float32
}

// IsFraud reports whether the transaction is labelled fraud.
func (t *Transaction) IsFraud() bool { return t.Fraud != NotFraud }

// chunks returns how many chunks hold rows rows.
func chunks(rows int) int { return (rows + ChunkRows - 1) / ChunkRows }

// rowsIn returns the number of rows of chunk i of a job of rows rows.
func rowsIn(rows, i int) int { return min(ChunkRows, rows-i*ChunkRows) }

// customersIn returns how many customers share n transactions over days.
func customersIn(n, days int) int {
	return max(1, int(math.Ceil(float64(n)/(txPerCustomerDay*float64(days)))))
}

// TransactionCustomers returns how many customers a job of rows
// transactions involves; their ids run from 1 upwards, with gaps only after
// a partial last chunk.
func TransactionCustomers(rows, days int) int {
	if rows == 0 {
		return 0
	}
	n := chunks(rows)
	return (n-1)*customersIn(ChunkRows, days) + customersIn(rowsIn(rows, n-1), days)
}

// Transactions generates all the transactions of a job in memory, on
// cfg.Workers goroutines. Use Generate to stream large jobs instead.
func Transactions(cfg Config) ([]Transaction, error) {
	cfg = cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := NewWorld(cfg, TransactionCustomers(cfg.Rows, cfg.Days))
	out := make([]Transaction, 0, cfg.Rows)
	err := ordered(context.Background(), cfg.Workers, chunks(cfg.Rows),
		func(i int) []Transaction { return TransactionChunk(w, cfg, i) },
		func(_ int, rows []Transaction) error { out = append(out, rows...); return nil })
	return out, err
}

// TransactionChunk generates chunk i of a transactions job. It depends only
// on the world, the configuration and i.
func TransactionChunk(w *World, cfg Config, i int) []Transaction {
	return appendTransactionChunk(nil, w, cfg, i)
}

// appendTransactionChunk appends chunk i to dst, so that a caller done with
// a chunk's rows can hand their memory to the next one.
func appendTransactionChunk(dst []Transaction, w *World, cfg Config, i int) []Transaction {
	rows := rowsIn(cfg.Rows, i)
	sc, _ := w.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{r: newRng(0, 0, 0), fr: newRng(0, 0, 0), cr: newRng(0, 0, 0)}
	}
	defer w.scratch.Put(sc)
	sc.r.seed(cfg.Seed, streamTransactions, uint64(i))
	sc.fr.seed(cfg.Seed, streamFraud, uint64(i))
	g := &txGen{
		w:     w,
		r:     sc.r,
		fr:    sc.fr,
		rows:  sc.rows[:0],
		trips: sc.trips[:0],
	}
	incidents := g.planIncidents(cfg.FraudRate*float64(rows), rows)
	injected := 0
	for _, in := range incidents {
		injected += in.size
	}
	nc := customersIn(rows, cfg.Days)
	first := int64(i*customersIn(ChunkRows, cfg.Days)) + 1
	custs := slices.Grow(sc.custs[:0], nc)[:nc]
	weights := slices.Grow(sc.weights[:0], nc)[:nc]
	for k := range custs {
		custs[k] = newCustomer(sc.cr, cfg.Seed, first+int64(k), w.StartUnix)
		weights[k] = custs[k].Activity
	}
	sc.custs, sc.weights = custs, weights
	counts := apportion(rows-injected, weights, sc)
	spans := slices.Grow(sc.spans[:0], nc)[:nc]
	sc.spans = spans
	for k := range custs {
		lo := len(g.rows)
		g.timeline(&custs[k], counts[k])
		spans[k] = [2]int{lo, len(g.rows)}
	}
	for n, in := range incidents {
		k := g.fr.IntN(nc)
		g.inject(&custs[k], spans[k], in, uint64(i)<<20|uint64(n))
	}
	w.toUTC(g.rows)
	out := sortByTime(dst, g.rows, w.StartUnix, int64(i)*ChunkRows, sc)
	sc.rows, sc.trips = g.rows, g.trips
	return out
}

// toUTC turns the times of rows, drawn on the local clock of where each
// transaction happened (the calendar and hour profiles are local), into UTC.
func (w *World) toUTC(rows []Transaction) {
	first := w.StartUnix / 86400
	for j := range rows {
		t := &rows[j]
		day := floorDiv(t.Unix, 86400)
		if k := day - first; k >= 0 && k < int64(len(w.dst)) {
			h := int64(regions[t.Region].UTCOffset)
			if w.dst[k] && !regions[t.Region].NoDST {
				h++
			}
			t.Unix -= h * 3600
		} else {
			t.Unix -= offset(t.Region, day)
		}
	}
}

// scratch is the memory a chunk works in, reused from chunk to chunk: a
// garbage collector that has less to do leaves more of the cores to the
// generators.
type scratch struct {
	rows    []Transaction
	keys    []uint64
	custs   []Customer
	weights []float64
	counts  []int
	frac    []int
	rems    []float64
	spans   [][2]int
	trips   []trip
	r, fr   *rng // the chunk's streams of normal behaviour and fraud
	cr      *rng // draws the chunk's customers, reseeded for each
}

// sortByTime appends rows to dst ordered by time, ties in generation order,
// and numbered from base+1. It sorts packed (time, index) keys rather than
// the rows themselves, by a stable radix sort on the time bits: about twice
// as fast as a comparison sort of the keys, and two 12-bit passes are
// faster than three 8-bit ones.
func sortByTime(dst, rows []Transaction, start, base int64, sc *scratch) []Transaction {
	keys := slices.Grow(sc.keys[:0], 2*len(rows))[:2*len(rows)]
	sc.keys = keys
	a, b := keys[:len(rows)], keys[len(rows):]
	lo := int64(math.MaxInt64)
	for j := range rows {
		lo = min(lo, rows[j].Unix)
	}
	var span uint64
	for j := range rows {
		d := uint64(rows[j].Unix - lo)
		span |= d
		a[j] = d<<20 | uint64(j)
	}
	// As few passes as the span needs, of at most 12 bits each: a 90-day
	// chunk (23 bits) takes two.
	width := uint(bits.Len64(span))
	passes := (width + 11) / 12
	var count [1<<12 + 1]int32
	for p := range passes {
		digit := (width + passes - 1) / passes
		shift, mask := 20+p*digit, uint64(1)<<digit-1
		count := count[:mask+2]
		clear(count)
		for _, k := range a {
			count[(k>>shift)&mask+1]++
		}
		for d := 1; d < len(count); d++ {
			count[d] += count[d-1]
		}
		for _, k := range a {
			d := (k >> shift) & mask
			b[count[d]] = k
			count[d]++
		}
		a, b = b, a
	}
	n := len(dst)
	dst = slices.Grow(dst, len(rows))[:n+len(rows)]
	out := dst[n:]
	for j, k := range a {
		out[j] = rows[k&(1<<20-1)]
		out[j].ID = base + int64(j) + 1
	}
	return dst
}

// apportion splits n into len(w) whole parts proportional to w, handing the
// remainder to the largest fractional parts (ties to the lower index).
func apportion(n int, w []float64, sc *scratch) []int {
	total := 0.0
	for _, x := range w {
		total += x
	}
	out := slices.Grow(sc.counts[:0], len(w))[:len(w)]
	frac := slices.Grow(sc.frac[:0], len(w))[:len(w)]
	sc.counts, sc.frac = out, frac
	rems := slices.Grow(sc.rems[:0], len(w))[:len(w)]
	sc.rems = rems
	given := 0
	for k, x := range w {
		q := float64(n) * x / total
		out[k] = int(q)
		given += out[k]
		frac[k] = k
		rems[k] = q - math.Floor(q)
	}
	slices.SortStableFunc(frac, func(a, b int) int { return cmp.Compare(rems[b], rems[a]) })
	for k := 0; given < n; k++ {
		out[frac[k%len(frac)]]++
		given++
	}
	return out
}

// txGen generates the rows of one chunk.
type txGen struct {
	w       *World
	r       *rng // normal behaviour
	fr      *rng // fraud
	rows    []Transaction
	trips   []trip // reused from customer to customer
	cardBuf [4]int64
}

// trip is a stay away from home.
type trip struct {
	from, to int64
	region   uint8
}

// life is a customer's situation while their timeline is drawn.
type life struct {
	c         *Customer
	cards     []int64
	trips     []trip
	newDevice int64 // when the customer starts using a new device; 0 never
}

func (l *life) card(r *rng) int64 {
	if len(l.cards) == 1 || r.Float64() < 0.75 {
		return l.cards[0]
	}
	return l.cards[1+r.IntN(len(l.cards)-1)]
}

func (l *life) device(r *rng, seed uint64, t int64) int64 {
	if l.newDevice != 0 && t >= l.newDevice && r.Float64() < 0.8 {
		return deviceID(seed, l.c.ID, l.c.Devices)
	}
	return deviceID(seed, l.c.ID, r.IntN(l.c.Devices))
}

func (l *life) regionAt(t int64) uint8 {
	for _, tr := range l.trips {
		if t >= tr.from && t < tr.to {
			return tr.region
		}
	}
	return l.c.Region
}

// cards returns the customer's cards (at most 2 accounts of 2 cards) in buf,
// so that drawing a timeline allocates nothing.
func cards(c *Customer, buf *[4]int64) []int64 {
	out := buf[:0]
	for a := range c.Accounts {
		for j := range c.Cards {
			out = append(out, CardID(AccountID(c.ID, a), j))
		}
	}
	return out
}

// accountOf returns the account a card belongs to.
func accountOf(card int64) int64 { return card / 10 }

// timeline appends n ordinary transactions of customer c.
func (g *txGen) timeline(c *Customer, n int) {
	r, w := g.r, g.w
	l := life{c: c, cards: cards(c, &g.cardBuf), trips: g.trips[:0]}
	defer func() { g.trips = l.trips[:0] }()
	period := int64(w.Days) * 86400
	if r.Float64() < 0.12 {
		l.newDevice = w.StartUnix + r.Int64N(period)
	}
	expTrips := c.Travel * float64(w.Days) / 90
	nTrips := min(20, int(expTrips)+b2i(r.Float64() < expTrips-math.Floor(expTrips)))
	for range nTrips {
		from := w.StartUnix + r.Int64N(period)
		reg := uint8(pickR(r, w.regionCDF))
		if reg == c.Region {
			reg = uint8((int(reg) + 1 + r.IntN(len(regions)-1)) % len(regions))
		}
		l.trips = append(l.trips, trip{from, from + 86400*int64(2+r.IntN(7)), reg})
	}
	end := len(g.rows) + n
	g.recurring(&l, end)
	for len(g.rows) < end {
		cat := pickR(r, c.catCDF[:])
		t := g.dayTime(cat)
		g.purchase(&l, t, cat, 1)
		// Shopping trips: a few purchases close together, as at a mall.
		if (cat == catRetail || cat == catRestaurant || cat == catEntertainment) && r.Float64() < 0.05 {
			for k := 1 + r.IntN(4); k > 0 && len(g.rows) < end; k-- {
				t += int64(r.ExpFloat64() * 1200)
				g.purchase(&l, t, []int{catRetail, catRestaurant, catEntertainment, catRetail}[r.IntN(4)], 1)
			}
		}
		// In-app purchases: a few small payments minutes apart.
		if cat == catDigital && r.Float64() < 0.08 {
			last := g.rows[len(g.rows)-1]
			for k := 1 + r.IntN(4); k > 0 && len(g.rows) < end; k-- {
				last.Unix = min(last.Unix+int64(30+r.ExpFloat64()*300), w.StartUnix+int64(w.Days)*86400-1)
				last.Amount = []int64{99, 199, 299, 499}[r.IntN(4)]
				g.rows = append(g.rows, last)
			}
		}
		// Occasionally a big, honest purchase.
		if r.Float64() < 0.004 && len(g.rows) < end {
			g.purchase(&l, t+int64(r.IntN(86400)), []int{catElectronics, catJewelry, catTravel}[r.IntN(3)], 3+5*r.Float64())
		}
	}
	g.rows = g.rows[:end]
}

// dayTime draws the time of a purchase in category cat: a day from the
// calendar weighted by the category's weekly pattern (purchaseDayLaw), an
// hour from its daily profile.
func (g *txGen) dayTime(cat int) int64 {
	r, w := g.r, g.w
	day := w.catDays[cat].pick(r)
	return w.StartUnix + int64(day)*86400 + int64(w.hours[cat].pick(r))*3600 + int64(r.IntN(3600))
}

// weekday returns 0 for Monday through 6 for Sunday.
func weekday(unix int64) int {
	return int((unix/86400 + 3) % 7) // 1970-01-01 was a Thursday
}

// purchase appends one transaction of category cat at time t, its amount
// drawn from the category's law and multiplied by scale.
func (g *txGen) purchase(l *life, t int64, cat int, scale float64) {
	r, w := g.r, g.w
	c := &categories[cat]
	if end := w.StartUnix + int64(w.Days)*86400; t >= end { // a late shopping trip
		t = end - 1 - int64(r.IntN(3600))
	}
	tx := Transaction{
		Unix:       t,
		CustomerID: l.c.ID,
		CardID:     l.card(r),
		Category:   uint8(cat),
		Channel:    c.Channel,
	}
	tx.AccountID = accountOf(tx.CardID)
	if c.Channel == POS && r.Float64() < c.Online {
		tx.Channel = Online
	}
	reg := l.regionAt(t)
	tx.Region = reg
	switch tx.Channel {
	case Online, Transfer:
		tx.MerchantID = w.online[cat].pick(r)
		tx.DeviceID = l.device(r, w.Seed, t)
		switch {
		case r.Float64() < 0.03: // a VPN or a mobile carrier places the IP elsewhere
			tx.Region = uint8(r.IntN(len(regions)))
			tx.Lat, tx.Lon = jitter(r, tx.Region)
		case reg == l.c.Region:
			tx.Lat, tx.Lon = l.c.Lat, l.c.Lon
		default:
			tx.Lat, tx.Lon = jitter(r, reg)
		}
	default:
		p := &w.local[reg][cat]
		if reg == l.c.Region && r.Float64() < 0.6 {
			// A regular: one of the customer's usual places.
			k := mix(w.Seed, uint64(l.c.ID), uint64(cat*4+r.IntN(3)))
			tx.MerchantID = p.ids[k%uint64(min(len(p.ids), 25))]
			m := w.Merchant(tx.MerchantID)
			tx.Lat, tx.Lon = m.Lat, m.Lon
		} else {
			tx.MerchantID, tx.Lat, tx.Lon = p.place(r)
		}
	}
	// Honest small charges: a fuel pump's pre-authorisation hold (mostly
	// $1.00) and the verification charge of a shop or service that sees
	// the card for the first time. Card testers use the same amounts.
	if tx.Channel == POS && cat == catFuel && r.Float64() < 0.06 {
		hold := tx
		hold.Unix = max(w.StartUnix, t-30)
		hold.Amount = 100
		if r.Float64() < 0.3 {
			hold.Amount = cents(smallAmount(r))
		}
		g.rows = append(g.rows, hold)
	}
	if tx.Channel == Online && r.Float64() < 0.025 {
		check := tx
		check.Unix = max(w.StartUnix, t-int64(30+r.IntN(600)))
		check.Amount = cents(smallAmount(r))
		g.rows = append(g.rows, check)
	}
	tx.Amount = cents(fastExp(c.Mu+l.c.SpendShift+c.Sigma*r.NormFloat64()) * scale)
	g.rows = append(g.rows, tx)
}

// recurring appends the customer's monthly payments that fall in the
// period: bills and subscriptions paid online, and rent by transfer.
func (g *txGen) recurring(l *life, end int) {
	r, w := g.r, g.w
	for k := 0; k < l.c.Recurring+b2i(l.c.Rent); k++ {
		cat, ch := catBills, Online
		amount := cents(fastExp(categories[cat].Mu + 0.5*r.NormFloat64()))
		dom, hour := 1+r.IntN(28), int64(r.IntN(6))
		switch {
		case k == l.c.Recurring: // rent
			cat, ch = catRent, Transfer
			amount = cents(fastExp(categories[cat].Mu + l.c.SpendShift + categories[cat].Sigma*r.NormFloat64()))
			dom, hour = 1+r.IntN(5), int64(8+r.IntN(14))
		case k%2 == 1:
			cat = catDigital
			amount = cents(fastExp(categories[cat].Mu + 0.5*r.NormFloat64()))
		}
		merchant := w.online[cat].pick(r)
		card := l.card(r)
		for _, d := range w.domDays[dom] {
			if len(g.rows) >= end {
				return
			}
			t := w.StartUnix + int64(d)*86400
			t += hour*3600 + int64(r.IntN(3600))
			g.rows = append(g.rows, Transaction{
				Unix:       t,
				CustomerID: l.c.ID,
				AccountID:  accountOf(card),
				CardID:     card,
				DeviceID:   l.device(r, w.Seed, t),
				Amount:     amount,
				MerchantID: merchant,
				Category:   uint8(cat),
				Channel:    ch,
				Region:     l.c.Region,
				Lat:        l.c.Lat,
				Lon:        l.c.Lon,
			})
		}
	}
}

// cents rounds dollars to cents, at least 50 cents.
func cents(dollars float64) int64 {
	return max(50, int64(math.Round(dollars*100)))
}

// jitter returns a point near the centre of region reg.
func jitter(r *rng, reg uint8) (float32, float32) {
	return float32(regions[reg].Lat + r.NormFloat64()*0.12), float32(regions[reg].Lon + r.NormFloat64()*0.12)
}
