package supply

import "github.com/metastation/metastation/app/marl"

// Result is one whole run and its twin.
type Result struct {
	KPIs  KPIs     `json:"kpis"`
	Twin  KPIs     `json:"twin"`
	Run   *Tracker `json:"-"`
	TwinT *Tracker `json:"-"`
}

// Play runs network n from seed with strategy strat under crises, and its
// no-disruption twin (the same seed and strategy, no crises).
func Play(n *Network, seed uint64, strat Strategy, crises []Crisis, learned marl.Controller, label string) (Result, error) {
	run, s, err := playOne(n, seed, strat, crises, learned, label)
	if err != nil {
		return Result{}, err
	}
	twin, ts, err := playOne(n, seed, strat, nil, learned, label)
	if err != nil {
		return Result{}, err
	}
	return Result{KPIs: run.Compute(s, twin, crises), Twin: twin.Compute(ts, nil, nil), Run: run, TwinT: twin}, nil
}

func playOne(n *Network, seed uint64, strat Strategy, crises []Crisis, learned marl.Controller, label string) (*Tracker, *Sim, error) {
	s, err := NewSim(n, seed, crises)
	if err != nil {
		return nil, nil, err
	}
	tm, err := NewTeam(s, strat, learned, label)
	if err != nil {
		return nil, nil, err
	}
	k := NewTracker(n)
	for !s.Done() {
		k.Add(s, tm.Play().Period)
	}
	return k, s, nil
}
