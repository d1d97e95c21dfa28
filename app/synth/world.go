package synth

import (
	"math"
	"math/rand/v2"
	"sync"
)

// Merchant is a business that accepts cards.
type Merchant struct {
	ID       int32
	Category uint8
	Region   uint8 // where it trades; for online merchants, its head office
	Online   bool  // sells only card-not-present
	Lat, Lon float32
}

// compromise is a merchant terminal that skims the cards it reads between
// From and To (day indexes).
type compromise struct {
	Merchant int32
	From, To int
}

// pool is a list of merchants with a popularity law: a few are visited
// often, most rarely.
type pool struct {
	ids   []int32    // by popularity
	slots []poolSlot // the law over ids as an alias table
}

// poolSlot is one column of a pool's alias table, with what a purchase
// needs of its two merchants: a draw touches one slot rather than the
// table, the id list and the merchant, which in a large world were three
// cache misses a row.
type poolSlot struct {
	thr      uint32 // the first merchant when the coin is below thr
	id       [2]int32
	lat, lon [2]float32
}

func (p *pool) pick(r *rng) int32 {
	id, _, _ := p.place(r)
	return id
}

// place draws a merchant and returns it with its coordinates.
func (p *pool) place(r *rng) (int32, float32, float32) {
	u := r.Uint64()
	s := &p.slots[(u>>32)*uint64(len(p.slots))>>32]
	k := b2i(uint32(u) >= s.thr)
	return s.id[k], s.lat[k], s.lon[k]
}

func (p *pool) finish(ms []Merchant) {
	w := make([]float64, len(p.ids))
	for i := range w {
		w[i] = 1 / math.Pow(float64(i+1), 0.7)
	}
	a := newAlias(w)
	p.slots = make([]poolSlot, len(p.ids))
	for i := range p.slots {
		s := &p.slots[i]
		s.thr = a.thr[i]
		for k, j := range [2]int32{int32(i), a.alias[i]} {
			m := &ms[p.ids[j]-1]
			s.id[k], s.lat[k], s.lon[k] = m.ID, m.Lat, m.Lon
		}
	}
}

// World is what every chunk shares: merchants, the calendar and the
// compromised terminals. It depends only on the seed and the job's size, so
// every worker sees the same world.
type World struct {
	Seed      uint64
	Days      int
	StartUnix int64
	Merchants []Merchant

	local       [][numCategories]pool // [region][category] physical merchants
	online      [numCategories]pool   // online merchants by category
	fraudOnline pool                  // online shops where stolen cards are spent
	testOnline  pool                  // small online merchants used to test cards
	catDays     [numCategories]alias  // the day of a purchase by category: dayWeights and the weekly pattern
	dayOfMonth  []uint8
	domDays     [32][]int32          // the days of the period that are the n-th of their month
	dst         []bool               // daylight saving time on each day of the period
	hours       [numCategories]alias // hour of day by category
	regionCDF   []float64
	compromised [][]compromise // by region
	scratch     sync.Pool      // of *scratch
}

// merchantsFor returns how many merchants a world of the given number of
// customers holds.
func merchantsFor(customers int) int {
	return min(max(customers/4, 1500), 200_000)
}

// NewWorld builds the shared world of a job with the given number of customers.
func NewWorld(cfg Config, customers int) *World {
	r := newRand(cfg.Seed, streamWorld, 0)
	w := &World{
		Seed:      cfg.Seed,
		Days:      cfg.Days,
		StartUnix: cfg.Start.Unix(),
		local:     make([][numCategories]pool, len(regions)),
		regionCDF: regionCDFs,
	}
	n := merchantsFor(customers)
	w.Merchants = make([]Merchant, n)
	for i := range w.Merchants {
		w.Merchants[i] = newMerchant(cfg.Seed, int32(i+1))
		m := &w.Merchants[i]
		cat := int(m.Category)
		if m.Online {
			w.online[cat].ids = append(w.online[cat].ids, m.ID)
		} else {
			w.local[m.Region][cat].ids = append(w.local[m.Region][cat].ids, m.ID)
		}
	}
	// Every region has every physical category: borrow a merchant of the
	// nearest kind when the draw left a gap, and every online category has
	// at least one shop.
	for reg := range w.local {
		for cat := range w.local[reg] {
			p := &w.local[reg][cat]
			if len(p.ids) == 0 {
				p.ids = append(p.ids, w.addMerchant(r, cat, reg, false))
			}
			p.finish(w.Merchants)
		}
	}
	for cat := range w.online {
		p := &w.online[cat]
		if len(p.ids) == 0 {
			p.ids = append(p.ids, w.addMerchant(r, cat, pick(r, w.regionCDF), true))
		}
		p.finish(w.Merchants)
	}
	// Stolen cards are spent at large online shops that honest customers use
	// too; cards are tested at small digital merchants.
	for _, cat := range []int{catElectronics, catRetail, catTravel, catJewelry} {
		ids := w.online[cat].ids
		w.fraudOnline.ids = append(w.fraudOnline.ids, ids[:min(len(ids), 12)]...)
	}
	w.fraudOnline.finish(w.Merchants)
	ids := w.online[catDigital].ids
	w.testOnline.ids = append(w.testOnline.ids, ids[:min(len(ids), 40)]...)
	w.testOnline.finish(w.Merchants)

	days := dayWeights(cfg)
	for d := range cfg.Days {
		dom := cfg.Start.AddDate(0, 0, d).Day()
		w.dayOfMonth = append(w.dayOfMonth, uint8(dom))
		w.domDays[dom] = append(w.domDays[dom], int32(d))
		w.dst = append(w.dst, isDST(cfg.Start.Unix()/86400+int64(d)))
	}
	for i, c := range categories {
		w.hours[i] = newAlias(c.Hours[:])
		w.catDays[i] = newAlias(purchaseDayLaw(days, w.StartUnix, &c.Week))
	}
	w.compromised = make([][]compromise, len(regions))
	for reg := range regions {
		for k := 0; k < 3; k++ {
			cat := []int{catGrocery, catFuel, catRestaurant, catRetail}[r.IntN(4)]
			p := &w.local[reg][cat]
			span := 14 + r.IntN(15)
			from := r.IntN(max(1, cfg.Days-span))
			w.compromised[reg] = append(w.compromised[reg], compromise{
				Merchant: p.ids[r.IntN(min(len(p.ids), 5))],
				From:     from,
				To:       min(cfg.Days-1, from+span),
			})
		}
	}
	return w
}

// merchantCDF weights the categories of merchants.
var merchantCDF = func() []float64 {
	var w []float64
	for _, c := range categories {
		w = append(w, c.Weight+0.01)
	}
	return cumulative(w)
}()

// newMerchant derives merchant id from the seed alone, so a merchant is the
// same in every world and in the merchants table.
func newMerchant(seed uint64, id int32) Merchant {
	r := newRand(seed, streamMerchant, uint64(id))
	cat := pick(r, merchantCDF)
	if id <= 3*numCategories { // every category has merchants
		cat = int(id-1) % numCategories
	}
	c := categories[cat]
	m := Merchant{
		ID:       id,
		Category: uint8(cat),
		Region:   uint8(pick(r, regionCDFs)),
		Online:   c.Channel == Transfer || (c.Channel == POS && r.Float64() < c.Online),
	}
	reg := regions[m.Region]
	m.Lat = float32(reg.Lat + r.NormFloat64()*0.12)
	m.Lon = float32(reg.Lon + r.NormFloat64()*0.12)
	return m
}

// MerchantChunk returns chunk i of a merchants table of cfg.Rows rows.
func MerchantChunk(cfg Config, i int) []Merchant {
	out := make([]Merchant, rowsIn(cfg.Rows, i))
	for j := range out {
		out[j] = newMerchant(cfg.Seed, int32(i*ChunkRows+j+1))
	}
	return out
}

func (m *Merchant) encode(e *encoder) {
	e.begin()
	e.int("merchant_id", int64(m.ID))
	e.str("category", categories[m.Category].Name)
	e.str("city", regions[m.Region].Name)
	e.bool("online", m.Online)
	e.float("lat", float64(m.Lat), 4)
	e.float("lon", float64(m.Lon), 4)
	e.end()
}

func (w *World) addMerchant(r *rand.Rand, cat, reg int, online bool) int32 {
	region := regions[reg]
	m := Merchant{
		ID:       int32(len(w.Merchants) + 1),
		Category: uint8(cat),
		Region:   uint8(reg),
		Online:   online,
		Lat:      float32(region.Lat + r.NormFloat64()*0.12),
		Lon:      float32(region.Lon + r.NormFloat64()*0.12),
	}
	w.Merchants = append(w.Merchants, m)
	return m.ID
}

// Merchant returns the merchant with the given id.
func (w *World) Merchant(id int32) *Merchant { return &w.Merchants[id-1] }

// purchaseDayLaw returns the law of the day of a purchase whose category
// has the weekly pattern week: the day drawn from the day weights, kept with
// probability min(1, week[day]/1.6), otherwise drawn again, and the fifth
// draw kept whatever it is (a rejection sampler the generator once ran on
// every row; its law, computed exactly, is now drawn from in one step).
func purchaseDayLaw(days []float64, startUnix int64, week *[7]float64) []float64 {
	total := 0.0
	for _, x := range days {
		total += x
	}
	keep := make([]float64, len(days))
	accept := 0.0 // the chance that one draw is kept
	for d, x := range days {
		keep[d] = min(1, week[weekday(startUnix+int64(d)*86400)]/1.6)
		accept += x / total * keep[d]
	}
	tries := 0.0 // sum over the first four draws of the chance of getting to them
	for k := range 4 {
		tries += math.Pow(1-accept, float64(k))
	}
	out := make([]float64, len(days))
	for d, x := range days {
		q := x / total
		out[d] = q*keep[d]*tries + math.Pow(1-accept, 4)*q
	}
	return out
}

// dayWeights weights the days of the period: pay days (1st and 15th) and the
// days after them spend more, spending grows slowly through the period, and
// December spends more than other months.
func dayWeights(cfg Config) []float64 {
	wts := make([]float64, cfg.Days)
	for d := range wts {
		t := cfg.Start.AddDate(0, 0, d)
		x := 1 + 0.1*float64(d)/float64(cfg.Days)
		switch t.Day() {
		case 1, 15:
			x *= 1.25
		case 2, 16:
			x *= 1.1
		}
		if t.Month() == 12 && t.Day() < 25 {
			x *= 1.3
		}
		wts[d] = x
	}
	return wts
}
