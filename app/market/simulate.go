package market

// DailyReturns simulates days daily log-returns of every instrument of u
// from seed, one process step per day. out[i] holds instrument i's returns.
func DailyReturns(u Universe, days int, seed uint64) ([][]float64, error) {
	p, err := NewProcess(u, seed)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(u.Instruments))
	for i := range out {
		out[i] = make([]float64, days)
	}
	for d := range days {
		p.Step(1)
		for i, r := range p.Returns() {
			out[i][d] = r
		}
	}
	return out, nil
}
