package synth

import (
	"fmt"
	"math"
)

// FraudType names the pattern a fraudulent transaction belongs to.
type FraudType uint8

// Fraud types. NotFraud is the zero value.
const (
	NotFraud FraudType = iota
	AccountTakeover
	CardTesting
	CompromisedMerchant
	VelocityBurst
	GeoImpossible
	AmountAnomaly
	numFraudTypes
)

// NumFraudTypes counts the fraud types, NotFraud included.
const NumFraudTypes = int(numFraudTypes)

var fraudNames = [...]string{"", "account_takeover", "card_testing", "compromised_merchant",
	"velocity_burst", "geo_impossible", "amount_anomaly"}

func (f FraudType) String() string { return fraudNames[f] }

// ParseFraudType returns the fraud type named s ("" is NotFraud).
func ParseFraudType(s string) (FraudType, error) {
	for i, n := range fraudNames {
		if n == s {
			return FraudType(i), nil
		}
	}
	return 0, fmt.Errorf("unknown fraud type %q", s)
}

// fraudMix is the share of incidents of each type, and fraudLabels the mean
// number of labelled rows an incident of that type yields (its own rows plus
// the honest rows its compromise window covers), measured on generated data.
var (
	fraudMix    = []float64{0, 0.14, 0.12, 0.20, 0.14, 0.20, 0.20}
	fraudLabels = []float64{0, 3.6, 13.15, 4.4, 8.45, 1.92, 1.56}
	fraudCDF    = cumulative(fraudMix)
)

// incident is one planned fraud: its type and the rows it injects.
type incident struct {
	kind FraudType
	size int
}

// planIncidents draws incidents until their expected labels reach want. The
// last incident is kept with the probability that makes the expectation
// exact. Injected rows never take more than half of the chunk.
func (g *txGen) planIncidents(want float64, rows int) []incident {
	var out []incident
	got, injected := 0.0, 0
	for got < want {
		k := FraudType(pickR(g.fr, fraudCDF))
		in := incident{kind: k, size: incidentSize(g.fr, k)}
		e := fraudLabels[k]
		if got+e > want && g.fr.Float64() > (want-got)/e {
			break
		}
		if injected+in.size > rows/2 {
			break
		}
		out = append(out, in)
		got += e
		injected += in.size
	}
	return out
}

// incidentSize draws the number of rows an incident of kind k injects.
func incidentSize(r *rng, k FraudType) int {
	switch k {
	case AccountTakeover:
		return 2 + r.IntN(4)
	case CardTesting:
		return 6 + r.IntN(12) + 1 + r.IntN(2)
	case CompromisedMerchant:
		return 1 + 2 + r.IntN(5) // the honest visit, then the stolen card's use
	case VelocityBurst:
		return 5 + r.IntN(8)
	case GeoImpossible:
		return 1 + r.IntN(3)
	default:
		return 1 + r.IntN(2)
	}
}

// inject appends the rows of incident in against customer c, whose honest
// rows are g.rows[span[0]:span[1]], and labels the honest rows that fall in
// the compromise window. n numbers the incident within the job.
func (g *txGen) inject(c *Customer, span [2]int, in incident, n uint64) {
	r, w := g.fr, g.w
	l := life{c: c, cards: cards(c, &g.cardBuf)}
	card := l.card(r)
	dev := fraudDeviceID(w.Seed, n)
	far := farRegion(r, c.Region, 0.3)
	first := len(g.rows) // the incident's rows, honest visit included
	start := first       // its fraudulent rows
	t := w.StartUnix + int64(float64(w.Days)*86400*(0.02+0.97*r.Float64()))
	add := func(t int64, cat int, ch Channel, reg uint8, merchant int32, amount float64) {
		tx := Transaction{
			Unix: t, CustomerID: c.ID, AccountID: accountOf(card), CardID: card,
			Amount: cents(amount), MerchantID: merchant, Category: uint8(cat),
			Channel: ch, Region: reg, Fraud: in.kind,
		}
		if ch == Online || ch == Transfer {
			tx.DeviceID = dev
			tx.Lat, tx.Lon = jitter(r, reg)
		} else {
			m := w.Merchant(merchant)
			tx.Lat, tx.Lon = m.Lat, m.Lon
		}
		g.rows = append(g.rows, tx)
	}
	local := func(reg uint8, cat int) int32 { return w.local[reg][cat].pick(r) }
	// spend adds a purchase in category cat through channel ch at a
	// merchant that fits both: an online shop for online payments and
	// transfers, a terminal in reg otherwise.
	spend := func(t int64, cat int, ch Channel, reg uint8, amount float64) {
		if ch == ATM {
			cat = catCash
		}
		mid := int32(0)
		if ch == Online || ch == Transfer {
			mid = w.online[cat].pick(r)
		} else {
			mid = local(reg, cat)
		}
		add(t, cat, ch, reg, mid, amount)
	}
	catAmount := func(cat int, up float64) float64 {
		return math.Exp(categories[cat].Mu + up + 0.8*r.NormFloat64())
	}
	shift := c.SpendShift
	switch in.kind {
	case AccountTakeover:
		// A new device from somewhere else, then what the intruder can do
		// from online banking: transfers that drain the account (some to a
		// payee filed as a landlord or a biller), purchases with the stored
		// card, and cash from a replacement card sent to a new address.
		for range in.size {
			t += int64(60 + r.ExpFloat64()*2400)
			switch u := r.Float64(); {
			case u < 0.50:
				add(t, catTransfer, Transfer, far, w.online[catTransfer].pick(r),
					math.Exp(math.Log(700)+shift+0.8*r.NormFloat64()))
			case u < 0.56:
				spend(t, catRent, Transfer, far, math.Exp(math.Log(1100)+0.5*r.NormFloat64()))
			case u < 0.62:
				spend(t, catBills, Online, far, catAmount(catBills, 0.8))
			case u < 0.88:
				cat := []int{catElectronics, catDigital, catRetail, catTravel, catEntertainment}[r.IntN(5)]
				spend(t, cat, Online, far, catAmount(cat, 0.6))
			default:
				spend(t, catCash, ATM, far, catAmount(catCash, 0.9))
			}
		}
	case CardTesting:
		// Small amounts to see whether the card works, mostly online at
		// small merchants, some at unattended terminals (fuel pumps, transit
		// kiosks, vending); then the real spending, online, with a cloned
		// card in shops, or as cash.
		tests := in.size - 1 - b2i(in.size%2 == 0)
		for range tests {
			t += int64(20 + r.ExpFloat64()*240)
			amount := smallAmount(r)
			if r.Float64() < 0.8 {
				cat := catDigital
				if u := r.Float64(); u < 0.15 {
					cat = catEntertainment
				} else if u < 0.25 {
					cat = catRetail
				}
				mid := w.testOnline.pick(r)
				if cat != catDigital {
					mid = w.online[cat].pick(r)
				}
				add(t, cat, Online, far, mid, amount)
			} else {
				cat := []int{catFuel, catTransport, catRestaurant}[r.IntN(3)]
				spend(t, cat, POS, far, amount)
			}
		}
		for range in.size - tests {
			t += int64(1800 + r.ExpFloat64()*7200)
			switch u := r.Float64(); {
			case u < 0.6:
				m := w.fraudOnline.pick(r)
				add(t, int(w.Merchant(m).Category), Online, far, m, math.Exp(math.Log(220)+0.7*r.NormFloat64()))
			case u < 0.88:
				cat := []int{catElectronics, catRetail, catGrocery, catHealth}[r.IntN(4)]
				spend(t, cat, POS, far, catAmount(cat, 0.7))
			default:
				spend(t, catCash, ATM, far, catAmount(catCash, 0.7))
			}
		}
	case CompromisedMerchant:
		// An honest visit to a skimming terminal; days later the cloned card
		// is used online and in another city.
		cm := w.compromised[c.Region][r.IntN(len(w.compromised[c.Region]))]
		m := w.Merchant(cm.Merchant)
		day := cm.From + r.IntN(cm.To-cm.From+1)
		t = w.StartUnix + int64(day)*86400 + int64(w.hours[m.Category].pick(r))*3600 + int64(r.IntN(3600))
		cat := &categories[m.Category]
		add(t, int(m.Category), POS, c.Region, m.ID, math.Exp(cat.Mu+shift+cat.Sigma*r.NormFloat64()))
		g.rows[len(g.rows)-1].Fraud = NotFraud
		start = len(g.rows)
		t += int64(86400 * (1 + 9*r.Float64()))
		for range in.size - 1 {
			t += int64(r.ExpFloat64() * 6 * 3600)
			if r.Float64() < 0.5 {
				mid := w.fraudOnline.pick(r)
				add(t, int(w.Merchant(mid).Category), Online, far, mid, math.Exp(math.Log(180)+0.8*r.NormFloat64()))
			} else {
				cat := []int{catElectronics, catRetail, catJewelry, catCash, catRestaurant, catFuel}[r.IntN(6)]
				ch := POS
				if cat == catCash {
					ch = ATM
				}
				add(t, cat, ch, far, local(far, cat), math.Exp(categories[cat].Mu+0.4+0.8*r.NormFloat64()))
			}
		}
	case VelocityBurst:
		// A stolen card spent fast: in shops near home, online, at an ATM.
		t = w.StartUnix + int64(r.IntN(w.Days))*86400 + int64(w.hours[catRetail].pick(r))*3600
		for range in.size {
			t += int64(30 + r.ExpFloat64()*420)
			cat := []int{catRetail, catElectronics, catFuel, catGrocery, catRetail, catRestaurant,
				catHealth, catEntertainment, catTransport}[r.IntN(9)]
			amount := math.Exp(categories[cat].Mu + shift + 0.3 + 0.7*r.NormFloat64())
			switch u := r.Float64(); {
			case u < 0.6:
				spend(t, cat, POS, c.Region, amount)
			case u < 0.9:
				if cat == catFuel {
					cat = catDigital
				}
				spend(t, cat, Online, c.Region, amount)
			default:
				spend(t, catCash, ATM, c.Region, catAmount(catCash, 0.3))
			}
		}
	case GeoImpossible:
		// The card is used far away soon after an honest purchase at home.
		far = farRegion(r, c.Region, 0)
		for j := span[0]; j < span[1]; j++ {
			if h := &g.rows[j]; h.Channel == POS && h.Region == c.Region && r.Float64() < 0.3 {
				t, card = h.Unix, h.CardID
				break
			}
		}
		t += int64(600 + r.Float64()*5400)
		for range in.size {
			cat := []int{catElectronics, catRetail, catJewelry, catCash, catFuel, catRestaurant, catTravel}[r.IntN(7)]
			ch := POS
			switch {
			case cat == catCash:
				ch = ATM
			case cat != catFuel && r.Float64() < 0.2: // from an address in the far city
				ch = Online
			}
			spend(t, cat, ch, far, math.Exp(categories[cat].Mu+0.3+0.8*r.NormFloat64()))
			t += int64(r.ExpFloat64() * 1800)
		}
	case AmountAnomaly:
		// One or two purchases far above what the customer spends.
		t = w.StartUnix + int64(r.IntN(w.Days))*86400 + int64(w.hours[catElectronics].pick(r))*3600
		for range in.size {
			cat := []int{catElectronics, catJewelry, catTravel, catHealth, catEntertainment, catCash}[r.IntN(6)]
			ch := POS
			reg := c.Region
			switch {
			case cat == catCash:
				ch = ATM
			case r.Float64() < categories[cat].Online:
				ch = Online
			}
			mid := local(reg, cat)
			if ch == Online {
				mid = w.online[cat].pick(r)
			}
			add(t, cat, ch, reg, mid, math.Exp(categories[cat].Mu+shift+1.2+0.6*r.NormFloat64()))
			if ch == Online && r.Float64() < 0.5 {
				g.rows[len(g.rows)-1].DeviceID = deviceID(w.Seed, c.ID, 0) // friendly fraud
				g.rows[len(g.rows)-1].Lat, g.rows[len(g.rows)-1].Lon = c.Lat, c.Lon
			}
			t += int64(r.ExpFloat64() * 3 * 3600)
		}
	}
	// An incident that would run past the period moves earlier as a whole.
	end := w.StartUnix + int64(w.Days)*86400
	if last := g.rows[len(g.rows)-1].Unix; last >= end {
		shift := last - end + 1 + r.Int64N(6*3600)
		for j := first; j < len(g.rows); j++ {
			g.rows[j].Unix -= shift
		}
	}
	// Chargeback labelling: every row of the compromised card (the account,
	// for a takeover) inside the compromise window is fraud.
	from, to := g.rows[start].Unix, g.rows[len(g.rows)-1].Unix
	for j := span[0]; j < span[1]; j++ {
		h := &g.rows[j]
		if h.Unix < from || h.Unix > to || h.Fraud != NotFraud {
			continue
		}
		if h.CardID == card || (in.kind == AccountTakeover && h.AccountID == accountOf(card)) {
			h.Fraud = in.kind
		}
	}
}

// smallAmount draws the amount of a small charge: a card test or an
// honest verification or pre-authorisation. Both use the same law, so a
// small amount alone says little: mostly odd cents under $5, some round
// dollars, a few up to $20.
func smallAmount(r *rng) float64 {
	switch u := r.Float64(); {
	case u < 0.55:
		return 0.5 + 4.5*r.Float64()*r.Float64()
	case u < 0.75:
		return []float64{1, 1, 1, 2, 5, 10}[r.IntN(6)]
	default:
		return math.Exp(math.Log(1) + r.Float64()*math.Log(20))
	}
}

// farRegion returns a region other than home, or home itself with
// probability pHome (a local fraudster).
func farRegion(r *rng, home uint8, pHome float64) uint8 {
	if r.Float64() < pHome {
		return home
	}
	for {
		reg := uint8(r.IntN(len(regions)))
		if reg != home && DistanceKm(regions[reg].Lat, regions[reg].Lon, regions[home].Lat, regions[home].Lon) > 500 {
			return reg
		}
	}
}
