package synth

import (
	"runtime"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// Limits on a job, checked by Config.Validate.
const (
	MaxRows          = 100_000_000
	MinFraudRate     = 0.001
	MaxFraudRate     = 0.10
	DefaultFraudRate = 0.015
	DefaultDays      = 90
	MaxDays          = 3660
	MaxWorkers       = 256
)

// Config says what to generate. The zero value of an optional field takes
// its default in Normalize.
type Config struct {
	Seed      uint64
	Rows      int       // rows of the requested kind
	FraudRate float64   // share of transactions labelled fraud, 0.001-0.10
	Workers   int       // goroutines; 0 means runtime.GOMAXPROCS(0)
	Start     time.Time // first day of the simulated period (UTC midnight)
	Days      int       // length of the simulated period
}

// Normalize fills the defaults of unset optional fields.
func (c Config) Normalize() Config {
	if c.FraudRate == 0 {
		c.FraudRate = DefaultFraudRate
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC) // a Monday
	}
	if c.Days == 0 {
		c.Days = DefaultDays
	}
	return c
}

// Validate reports the first problem with c as a clear sentence.
func (c Config) Validate() error {
	switch {
	case c.Rows < 0:
		return errs.Errorf(errs.Invalid, "rows must not be negative, got %d", c.Rows)
	case c.Rows > MaxRows:
		return errs.Errorf(errs.Invalid, "rows must be at most %d, got %d; that is the most one job generates, so make bigger data from several jobs with different seeds", MaxRows, c.Rows)
	case !(c.FraudRate >= MinFraudRate && c.FraudRate <= MaxFraudRate): // NaN fails both comparisons
		return errs.Errorf(errs.Invalid, "fraud rate must be between %.1f%% and %.0f%%, got %g%%", MinFraudRate*100, MaxFraudRate*100, c.FraudRate*100)
	case c.Workers < 1 || c.Workers > MaxWorkers:
		return errs.Errorf(errs.Invalid, "workers must be between 1 and %d, got %d", MaxWorkers, c.Workers)
	case c.Days < 7 || c.Days > MaxDays:
		return errs.Errorf(errs.Invalid, "days must be between 7 and %d, got %d", MaxDays, c.Days)
	}
	return nil
}
