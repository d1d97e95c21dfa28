package synth

import (
	"math"
)

// Department is a part of the company with its pay level and turnover.
type Department struct {
	Name     string
	Weight   float64 // share of the headcount
	Pay      float64 // multiplier on the base salary band
	Turnover float64 // added to the log-odds of leaving
}

var departments = []Department{
	{"engineering", 0.28, 1.25, 0}, {"sales", 0.18, 1.0, 0.45}, {"operations", 0.16, 0.85, 0.2},
	{"support", 0.12, 0.75, 0.6}, {"finance", 0.08, 1.1, -0.2}, {"marketing", 0.08, 1.0, 0.1},
	{"hr", 0.05, 0.95, -0.1}, {"legal", 0.05, 1.3, -0.4},
}

// bandMid is the middle of each level's salary band in dollars a year.
var bandMid = []float64{52_000, 68_000, 90_000, 118_000, 155_000, 210_000}

// Org is what every employee chunk shares.
type Org struct {
	deptCDF []float64
	endUnix int64 // the snapshot date: the end of the period
	days    int
}

// NewOrg returns the company of a job.
func NewOrg(cfg Config) *Org {
	w := make([]float64, len(departments))
	for i, d := range departments {
		w[i] = d.Weight
	}
	start := cfg.Start.Unix()
	return &Org{deptCDF: cumulative(w), endUnix: start + int64(cfg.Days)*86400, days: cfg.Days}
}

// Employee is one person's record at the end of the period.
type Employee struct {
	ID          int64
	Department  uint8
	Level       int // 1..6
	HireUnix    int64
	Salary      int64 // dollars a year
	Performance int   // rating 1..5
	Engagement  float64
	Remote      bool
	Training    float64 // hours in the period
	AbsenceDays int
	LeftUnix    int64 // 0 while employed
	tenureYears float64
	compaRatio  float64
	bandMin     int64
	bandMax     int64
}

// EmployeeChunk returns chunk i of an employees job.
func EmployeeChunk(o *Org, cfg Config, i int) []Employee {
	r := newRand(cfg.Seed, streamEmployees, uint64(i))
	out := make([]Employee, rowsIn(cfg.Rows, i))
	for j := range out {
		e := &out[j]
		e.ID = int64(i*ChunkRows + j + 1)
		e.Department = uint8(pick(r, o.deptCDF))
		dept := departments[e.Department]
		e.tenureYears = math.Min(40, r.ExpFloat64()*4.5+r.Float64()*0.5)
		e.HireUnix = o.endUnix - int64(e.tenureYears*365.25*86400)
		// Level grows with tenure, with luck.
		lv := 1 + e.tenureYears/3.5 + r.NormFloat64()*0.9
		e.Level = int(math.Max(1, math.Min(6, math.Round(lv))))
		mid := bandMid[e.Level-1] * dept.Pay
		e.bandMin, e.bandMax = int64(mid*0.8), int64(mid*1.2)
		e.Performance = int(math.Max(1, math.Min(5, math.Round(3.2+0.9*r.NormFloat64()))))
		e.compaRatio = math.Max(0.8, math.Min(1.2, 1+0.06*float64(e.Performance-3)+0.07*r.NormFloat64()))
		e.Salary = int64(math.Round(mid*e.compaRatio/100) * 100)
		e.Remote = r.Float64() < 0.3
		e.Engagement = clamp(62+6*float64(e.Performance-3)+40*(e.compaRatio-1)-4*b2f(e.tenureYears > 6 && e.Level < 3)+
			3*b2f(e.Remote)+12*r.NormFloat64(), 0, 100)
		e.Training = math.Round(math.Max(0, 6+0.15*e.Engagement+8*r.NormFloat64())*float64(o.days)/365*10) / 10
		e.AbsenceDays = int(math.Max(0, math.Round(float64(o.days)/365*(3+0.08*(70-e.Engagement)+r.ExpFloat64()*3))))
		// Attrition over the period: lower engagement, pay under the band's
		// middle, the first two years and low ratings raise the odds.
		z := -2.6 + dept.Turnover - 0.05*(e.Engagement-60) - 5*(e.compaRatio-1) +
			0.6*b2f(e.tenureYears < 2) + 0.5*b2f(e.Performance <= 2) - 0.3*b2f(e.Level >= 5)
		p := 1 / (1 + math.Exp(-z)) * float64(o.days) / 365
		if r.Float64() < p {
			e.LeftUnix = o.endUnix - r.Int64N(int64(o.days)*86400)
			if e.LeftUnix < e.HireUnix {
				e.LeftUnix = e.HireUnix + 86400*int64(1+r.IntN(30))
			}
		}
	}
	return out
}

func (e *Employee) encode(en *encoder) {
	en.begin()
	en.int("employee_id", e.ID)
	en.str("department", departments[e.Department].Name)
	en.int("level", int64(e.Level))
	en.date("hire_date", e.HireUnix)
	en.float("tenure_years", e.tenureYears, 2)
	en.int("salary", e.Salary)
	en.int("band_min", e.bandMin)
	en.int("band_max", e.bandMax)
	en.int("performance", int64(e.Performance))
	en.float("engagement", e.Engagement, 1)
	en.bool("remote", e.Remote)
	en.float("training_hours", e.Training, 1)
	en.int("absence_days", int64(e.AbsenceDays))
	en.bool("left", e.LeftUnix != 0)
	if e.LeftUnix != 0 {
		en.date("exit_date", e.LeftUnix)
	} else {
		en.optInt("exit_date", 0, false)
	}
	en.end()
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
