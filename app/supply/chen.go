package supply

// ChenBound is Var(q)/Var(D) of an order-up-to policy covering L periods
// with a constant safety stock, for i.i.d. demand: Chen, Drezner, Ryan and
// Simchi-Levi (2000) for a p-period moving average, 1 + 2L/p + 2L²/p²,
// and Chen, Ryan and Simchi-Levi (2000) for exponential smoothing,
// 1 + 2Lα + 2L²α²/(2 − α). With the safety stock estimated from data the
// ratio is higher, so these are the lower bounds.
func ChenBound(forecast string, l, alpha float64, p int) float64 {
	if forecast == "ma" {
		r := l / float64(p)
		return 1 + 2*r + 2*r*r
	}
	return 1 + 2*l*alpha + 2*l*l*alpha*alpha/(2-alpha)
}

// ChenNetwork is one retailer buying from an unlimited source with lead
// time lead and no order delay, facing Poisson demand of mean 100 (large,
// so that orders are never cut at zero).
func ChenNetwork(lead, periods int) *Network {
	return &Network{Name: "chen", Periods: periods, BackorderDemand: true, Discount: 1,
		Nodes:   []Node{{ID: "src", Kind: Source}, {ID: "shop", Kind: Stock, Role: Retailer, Init: 100 * float64(lead+1), Holding: 1}},
		Edges:   []Edge{{From: "src", To: "shop", Lead: lead}},
		Markets: []Market{{ID: "m", Retail: "shop", Penalty: 2, Demand: Demand{Kind: "poisson", Mean: 100}}}}
}

// MeasureChen plays ChenNetwork for periods with base-stock and the given
// forecast and returns the measured bullwhip ratio of the retailer's
// orders and Chen's bound for its cover time.
func MeasureChen(forecast string, lead int, alpha float64, window, periods int, seed uint64) (got, bound float64, err error) {
	n := ChenNetwork(lead, periods)
	strat := Uniform("bs", PolicyBaseStock, false, 2)
	strat.Forecast, strat.Alpha, strat.Window = forecast, alpha, window
	s, err := NewSim(n, seed, nil)
	if err != nil {
		return 0, 0, err
	}
	tm, err := NewTeam(s, strat, nil, "")
	if err != nil {
		return 0, 0, err
	}
	k := NewTracker(n)
	for !s.Done() {
		k.Add(s, tm.Play().Period)
	}
	kp := k.Compute(s, nil, nil)
	return kp.Bullwhip[0].Ratio, ChenBound(forecast, tm.cover[1], alpha, window), nil
}
