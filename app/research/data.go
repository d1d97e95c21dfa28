package research

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/metastation/metastation/app/market"
)

// Set is an instrument set a hypothesis trades.
type Set string

// The instrument sets: the simulator's presets and the real files of each.
const (
	Equity Set = "equity"
	Crypto Set = "crypto"
	FX     Set = "fx"
)

// Sets lists every set.
var Sets = []Set{Equity, Crypto, FX}

// Dataset is daily log-returns of one instrument set on one path (a
// simulator seed or a real file), oldest first, with where its
// out-of-sample period starts. Experiments choose parameters only on
// [0, OOS) and report only on [OOS, len).
type Dataset struct {
	Name    string      `json:"name"` // "sim:equity:seed=3" or "real:SPY"
	Set     Set         `json:"set"`
	Seed    uint64      `json:"seed,omitempty"`
	Real    bool        `json:"real"`
	Hash    string      `json:"hash"` // sha256 of the returns (sim) or of the file's bytes (real)
	Returns [][]float64 `json:"-"`    // [instrument][day]
	Dates   []time.Time `json:"-"`    // real data only
	OOS     int         `json:"oos"`  // first out-of-sample day
	Cost    float64     `json:"cost"` // per unit of turnover: commission and half-spread, as a return
	Days    int         `json:"days"`
	feat    []*features // running sums per instrument, built once
}

// withFeatures builds d's running sums once, so each backtest on it costs
// one pass over the days.
func (d Dataset) withFeatures() Dataset {
	d.feat = make([]*features, len(d.Returns))
	for i, r := range d.Returns {
		d.feat[i] = newFeatures(r)
	}
	return d
}

// Effect is a planted, true predictability in a simulated world: in the
// given regime (as strategies observe it), the set's returns lean toward what the signal at horizon
// says, by Size times the day's volatility (so a strategy holding the
// signal earns a daily Sharpe ratio of about Size on those days).
type Effect struct {
	Signal  Signal  `json:"signal"`
	Horizon int     `json:"horizon"`
	Regime  Regime  `json:"regime"`
	Set     Set     `json:"set"`
	Size    float64 `json:"size"`
}

// costOf is the round-trip cost per unit turnover by set: commission and
// half-spread as a fraction (equities 3 bp, FX 1 bp, crypto 10 bp).
func costOf(s Set) float64 {
	switch s {
	case Crypto:
		return 0.0010
	case FX:
		return 0.0001
	}
	return 0.0003
}

// oosShare is the share of each path held out as the out-of-sample period.
const oosShare = 0.4

// Simulate builds the dataset of set on seed: days daily returns from the
// market's latent process (GJR-GARCH-t, jumps, regimes), with effects
// planted where they apply.
func Simulate(set Set, seed uint64, days int, effects []Effect) (Dataset, error) {
	u, err := market.Preset(string(set))
	if err != nil {
		return Dataset{}, fmt.Errorf("simulate %s: %w", set, err)
	}
	p, err := market.NewProcess(u, seed)
	if err != nil {
		return Dataset{}, fmt.Errorf("simulate %s: %w", set, err)
	}
	n := len(u.Instruments)
	ret := make([][]float64, n)
	for i := range ret {
		ret[i] = make([]float64, days)
	}
	for d := range days {
		p.Step(1)
		for i, r := range p.Returns() {
			ret[i][d] = r
		}
	}
	for _, e := range effects {
		if e.Set != set {
			continue
		}
		for i := range ret {
			plant(ret[i], e)
		}
	}
	return Dataset{
		Name: fmt.Sprintf("sim:%s:seed=%d", set, seed), Set: set, Seed: seed,
		Hash: hashReturns(ret), Returns: ret, OOS: int(float64(days) * (1 - oosShare)),
		Cost: costOf(set), Days: days,
	}.withFeatures(), nil
}

// plant adds e to r in place: on each day of e's regime, r leans toward
// the signal's position by Size times the trailing volatility. Both the
// regime (stress as strategies see it) and the signal use only earlier
// returns, as a strategy would: the effect is there to be found, at its
// stated size, by the right hypothesis.
func plant(r []float64, e Effect) {
	f := newFeatures(r)
	for t := 1; t < len(r); t++ {
		if e.Regime.holds(f.stressed(t)) {
			if vol := f.vol(t, 21); vol > 0 {
				r[t] += e.Size * vol * e.Signal.position(f, t, e.Horizon)
			}
		}
		f.set(t, r[t]) // keeps the running sums of the days after t true to the new r
	}
}

func hashReturns(ret [][]float64) string {
	h := sha256.New()
	var b [8]byte
	for _, s := range ret {
		for _, x := range s {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// RealFile maps the Yahoo files of the shared data folder to sets.
var RealFile = map[string]Set{
	"SPY": Equity, "SP500": Equity, "AAPL": Equity, "JPM": Equity, "KO": Equity,
	"EURUSD": FX, "BTC-USD": Crypto,
}

// realOOSFrom is where real data's out-of-sample period starts.
var realOOSFrom = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)

// LoadReal reads every known Yahoo file of dir as a one-instrument dataset,
// out of sample from 2019 (a file that starts later is split 60/40). Files
// it does not know are skipped; a known file that does not parse is an
// error.
func LoadReal(dir string) ([]Dataset, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.csv"))
	if err != nil {
		return nil, fmt.Errorf("real data: %w", err)
	}
	var out []Dataset
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".csv")
		set, ok := RealFile[name]
		if !ok {
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("real data: %w", err)
		}
		s, _, err := market.ParseYahoo(strings.NewReader(string(raw)))
		if err != nil {
			return nil, fmt.Errorf("real data %s: %w", name, err)
		}
		r := s.Returns()
		if len(r) < 300 {
			continue
		}
		dates := make([]time.Time, len(r))
		for i := range r {
			dates[i] = s.Bars[i+1].Time
		}
		oos := int(float64(len(r)) * (1 - oosShare))
		for i, d := range dates {
			if !d.Before(realOOSFrom) {
				if i >= 500 {
					oos = i
				}
				break
			}
		}
		sum := sha256.Sum256(raw)
		out = append(out, Dataset{
			Name: "real:" + name, Set: set, Real: true, Hash: hex.EncodeToString(sum[:])[:16],
			Returns: [][]float64{r}, Dates: dates, OOS: oos, Cost: costOf(set), Days: len(r),
		}.withFeatures())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("real data: no known Yahoo files (%s) in %s", strings.Join(realNames(), ", "), dir)
	}
	return out, nil
}

func realNames() []string {
	var out []string
	for n := range RealFile {
		out = append(out, n)
	}
	slicesSort(out)
	return out
}
