package synth

import (
	"math"
)

// TargetSample draws n transactions independently from the configured
// targets alone: the population's home regions and spending shifts, the
// category mix (with the share of recurring payments), each category's
// channel mix, log-normal amount, weekly pattern and hour profile. It has no
// customer timelines, travel, shopping trips or fraud, which is what makes it
// the yardstick the generated data is measured against.
func TargetSample(cfg Config, n int) []Transaction {
	cfg = cfg.Normalize()
	r := newRng(cfg.Seed, streamWorld, 1<<40)
	w := NewWorld(cfg, 0)
	// Recurring payments: a customer holds on average one bill and half a
	// digital subscription, paid monthly.
	perMonth := txPerCustomerDay * 30.4
	bills, digital, rent := 1/perMonth, 0.5/perMonth, rentShare/perMonth
	out := make([]Transaction, n)
	for i := range out {
		c := NewCustomer(cfg.Seed, int64(uint32(r.Uint64())), w.StartUnix)
		var cat int
		switch u := r.Float64(); {
		case u < bills:
			cat = catBills
		case u < bills+digital:
			cat = catDigital
		case u < bills+digital+rent:
			cat = catRent
		default:
			cat = pickR(r, c.catCDF[:])
		}
		g := &txGen{w: w, r: r}
		t := g.dayTime(cat)
		ct := &categories[cat]
		tx := Transaction{ID: int64(i + 1), Unix: t, CustomerID: c.ID, Category: uint8(cat), Channel: ct.Channel, Region: c.Region}
		if ct.Channel == POS && r.Float64() < ct.Online || cat == catBills {
			tx.Channel = Online
		}
		tx.Lat, tx.Lon = jitter(r, c.Region)
		tx.Amount = cents(math.Exp(ct.Mu + c.SpendShift + ct.Sigma*r.NormFloat64()))
		if cat == catBills { // recurring bills draw no spending shift
			tx.Amount = cents(math.Exp(ct.Mu + 0.5*r.NormFloat64()))
		}
		out[i] = tx
	}
	w.toUTC(out)
	return out
}
