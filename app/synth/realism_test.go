package synth

import (
	"testing"
)

// Seasonality: restaurants peak at lunch and dinner and on Fridays and
// Saturdays, transport at rush hours and on weekdays; pay days spend more.
func TestSeasonality(t *testing.T) {
	cfg := Config{Seed: 12, Rows: 200_000}.Normalize()
	txs, err := Transactions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var hours [numCategories][24]float64
	var days [numCategories][7]float64
	var dom [32]float64
	for _, tx := range txs {
		local := LocalUnix(&tx)
		hours[tx.Category][local%86400/3600]++
		days[tx.Category][weekday(local)]++
		_, _, d := civil(local / 86400)
		dom[d]++
	}
	r := hours[catRestaurant]
	if r[12] < 2*r[9] || r[19] < 2*r[16] || r[4] > r[12]/10 {
		t.Errorf("restaurant hours: 9h %v, 12h %v, 16h %v, 19h %v, 4h %v", r[9], r[12], r[16], r[19], r[4])
	}
	rw := days[catRestaurant]
	if rw[5] < 1.5*rw[0] || rw[4] < 1.5*rw[0] { // Saturday, Friday vs Monday
		t.Errorf("restaurant weekdays %v", rw)
	}
	tw := days[catTransport]
	if tw[1] < 1.5*tw[6] { // Tuesday vs Sunday
		t.Errorf("transport weekdays %v", tw)
	}
	tr := hours[catTransport]
	if tr[8] < 2*tr[11] || tr[17] < 2*tr[14] {
		t.Errorf("transport hours: 8h %v 11h %v 17h %v 14h %v", tr[8], tr[11], tr[17], tr[14])
	}
	// Days 1 and 15 against the mean of days 5-12 (every month of the
	// period has them).
	base := 0.0
	for d := 5; d <= 12; d++ {
		base += dom[d] / 8
	}
	if dom[1] < 1.15*base || dom[15] < 1.15*base {
		t.Errorf("pay days: 1st %v, 15th %v, ordinary %v", dom[1], dom[15], base)
	}
}

// Customers shop mostly at home; travellers shop elsewhere for days at a
// time; recurring payments come on the same day of the month for the same
// amount.
func TestHomeTravelRecurring(t *testing.T) {
	cfg := Config{Seed: 13, Rows: 100_000}.Normalize()
	txs, err := Transactions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	home := map[int64]uint8{}
	var pos, atHome float64
	type bill struct {
		customer int64
		merchant int32
	}
	bills := map[bill][]Transaction{}
	for _, tx := range txs {
		if tx.IsFraud() {
			continue
		}
		if _, ok := home[tx.CustomerID]; !ok {
			home[tx.CustomerID] = NewCustomer(cfg.Seed, tx.CustomerID, cfg.Start.Unix()).Region
		}
		if tx.Channel == POS {
			pos++
			if tx.Region == home[tx.CustomerID] {
				atHome++
			}
		}
		if tx.Category == catBills {
			k := bill{tx.CustomerID, tx.MerchantID}
			bills[k] = append(bills[k], tx)
		}
	}
	share := atHome / pos
	if share < 0.85 || share > 0.99 {
		t.Errorf("%.3f of card-present purchases at home", share)
	}
	monthly := 0
	for _, bs := range bills {
		if len(bs) < 2 {
			continue
		}
		_, _, d0 := civil(LocalUnix(&bs[0]) / 86400)
		same := true
		for _, b := range bs[1:] {
			_, _, d := civil(LocalUnix(&b) / 86400)
			same = same && d == d0 && b.Amount == bs[0].Amount
		}
		if same {
			monthly++
		}
	}
	if monthly < len(bills)/2 {
		t.Errorf("%d of %d bill series are monthly on a fixed day and amount", monthly, len(bills))
	}
	t.Logf("%.3f of card-present purchases at home; %d of %d bill series monthly", share, monthly, len(bills))
}
