// Package market is Metastation's simulated market: latent price processes
// with volatility clustering, jumps and regimes; a limit order book per
// instrument with a population of background agents whose orders make the
// traded price; bars; CSV import and export; calibration to real data.
//
// Everything is deterministic from a seed. The package knows nothing of HTTP;
// the service publishes on the bus and persists bars through the store.
package market

import (
	"errors"
	"fmt"
	"math"
)

// Class is an asset class. It sets the year length used to annualise
// volatility and whether regimes move the drift.
type Class string

// The asset classes.
const (
	ClassIndex  Class = "index"  // an equity index
	ClassEquity Class = "equity" // a single stock
	ClassCrypto Class = "crypto"
	ClassFX     Class = "fx"
)

// DaysPerYear is the number of trading days in a year of the class: 252 for
// equities, 365 for crypto (it never closes), 260 for FX.
func (c Class) DaysPerYear() float64 {
	switch c {
	case ClassCrypto:
		return 365
	case ClassFX:
		return 260
	default:
		return 252
	}
}

func (c Class) valid() bool {
	switch c {
	case ClassIndex, ClassEquity, ClassCrypto, ClassFX:
		return true
	}
	return false
}

// GARCH holds the parameters of a GJR-GARCH(1,1) variance with Student-t
// innovations, on daily returns:
//
//	h' = omega + (Alpha + Gamma·[e<0])·e² + Beta·h
//
// Omega is not stored: it follows from the instrument's target volatility so
// that the long-run variance matches it.
type GARCH struct {
	Alpha float64 `json:"alpha"`
	Gamma float64 `json:"gamma"` // leverage: extra reaction to falls
	Beta  float64 `json:"beta"`
	Nu    float64 `json:"nu"` // degrees of freedom of the Student-t, > 2
}

// Persistence is Alpha + Gamma/2 + Beta; below one for a stationary variance.
func (g GARCH) Persistence() float64 { return g.Alpha + g.Gamma/2 + g.Beta }

// Jumps are Merton jumps: a Poisson number per day with mean PerYear/days,
// each a normal log-return of mean Mean and standard deviation Std.
type Jumps struct {
	PerYear float64 `json:"per_year"`
	Mean    float64 `json:"mean"`
	Std     float64 `json:"std"`
}

// Instrument is one tradable asset and the parameters of its latent price.
type Instrument struct {
	Symbol string `json:"symbol"`
	Name   string `json:"name"`
	Class  Class  `json:"class"`

	Price     float64 `json:"price"`      // starting price
	TickSize  float64 `json:"tick_size"`  // smallest price increment
	LotSize   float64 `json:"lot_size"`   // smallest quantity increment
	AnnualVol float64 `json:"annual_vol"` // long-run annualised volatility, all regimes together
	Drift     float64 `json:"drift"`      // annualised drift of the log price in the calm regime

	GARCH  GARCH          `json:"garch"`
	Memory []VolComponent `json:"memory,omitempty"` // long-memory volatility components on top of the GARCH
	Jumps  Jumps          `json:"jumps"`
}

// Validate reports the first thing wrong with in, as a sentence.
func (in Instrument) Validate() error {
	switch {
	case in.Symbol == "":
		return errors.New("an instrument has no symbol")
	case !in.Class.valid():
		return fmt.Errorf("instrument %s: class %q is not one of index, equity, crypto, fx", in.Symbol, in.Class)
	case !(in.Price > 0) || math.IsInf(in.Price, 0):
		return fmt.Errorf("instrument %s: price must be positive, not %g", in.Symbol, in.Price)
	case !(in.TickSize > 0):
		return fmt.Errorf("instrument %s: tick_size must be positive, not %g", in.Symbol, in.TickSize)
	case in.Price/in.TickSize < 100:
		return fmt.Errorf("instrument %s: tick_size %g is too coarse for price %g (fewer than 100 ticks)", in.Symbol, in.TickSize, in.Price)
	case in.Price/in.TickSize > 1e12:
		return fmt.Errorf("instrument %s: tick_size %g is too fine for price %g", in.Symbol, in.TickSize, in.Price)
	case !(in.LotSize > 0):
		return fmt.Errorf("instrument %s: lot_size must be positive, not %g", in.Symbol, in.LotSize)
	case !(in.AnnualVol > 0) || in.AnnualVol > 5:
		return fmt.Errorf("instrument %s: annual_vol must be between 0 and 5 (500%%), not %g", in.Symbol, in.AnnualVol)
	case math.Abs(in.Drift) > 2:
		return fmt.Errorf("instrument %s: drift must be between -2 and 2 a year, not %g", in.Symbol, in.Drift)
	case in.GARCH.Alpha < 0 || in.GARCH.Beta < 0 || in.GARCH.Gamma < 0:
		return fmt.Errorf("instrument %s: garch alpha, gamma and beta must not be negative", in.Symbol)
	case in.GARCH.Persistence() >= 1:
		return fmt.Errorf("instrument %s: garch alpha + gamma/2 + beta = %g must be below 1", in.Symbol, in.GARCH.Persistence())
	case !(in.GARCH.Nu > 2):
		return fmt.Errorf("instrument %s: garch nu (degrees of freedom) must be above 2, not %g", in.Symbol, in.GARCH.Nu)
	case in.Jumps.PerYear < 0 || in.Jumps.Std < 0:
		return fmt.Errorf("instrument %s: jumps per_year and std must not be negative", in.Symbol)
	case len(in.Memory) > maxVolComponents:
		return fmt.Errorf("instrument %s: %d memory components, at most %d", in.Symbol, len(in.Memory), maxVolComponents)
	}
	for k, c := range in.Memory {
		if err := c.validate(); err != nil {
			return fmt.Errorf("instrument %s: memory component %d: %w", in.Symbol, k+1, err)
		}
	}
	return nil
}

// dailyVariance is the long-run variance of one day's log-return.
func (in Instrument) dailyVariance() float64 {
	return in.AnnualVol * in.AnnualVol / in.Class.DaysPerYear()
}

// Ticks converts a price to a whole number of ticks, rounding to nearest.
func (in Instrument) Ticks(price float64) int64 { return int64(math.Round(price / in.TickSize)) }

// PriceOf converts ticks back to a price. For ticks like 0.01 it divides by
// the whole number of ticks per unit, so 107951 ticks of 0.00001 print as
// 1.07951, not 1.0795100000000002.
func (in Instrument) PriceOf(ticks int64) float64 {
	if in.TickSize < 1 {
		inv := 1 / in.TickSize
		if r := math.Round(inv); math.Abs(inv-r) < 1e-9*r {
			return float64(ticks) / r
		}
	}
	return float64(ticks) * in.TickSize
}
