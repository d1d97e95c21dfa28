package synth

import "math"

// Customer is a bank customer. Its attributes derive from (seed, ID) alone,
// so every table that mentions a customer agrees on who it is.
type Customer struct {
	ID         int64
	Region     uint8 // home region
	Lat, Lon   float32
	Age        int
	Segment    uint8   // 0 mass, 1 affluent, 2 student
	SpendShift float64 // added to every category's log-normal location
	Activity   float64 // relative number of transactions
	Travel     float64 // chance of at least one trip in a 90-day period
	SinceUnix  int64   // customer since
	Accounts   int     // 1 or 2
	Cards      int     // cards on each account, 1 or 2
	Devices    int     // phones and computers, 1 to 3
	catCDF     [numCategories]float64
	Recurring  int  // recurring payments, 0 to 3
	Rent       bool // pays rent by monthly transfer
}

// rentShare is the share of customers who pay rent by transfer.
const rentShare = 0.35

var segmentNames = [...]string{"mass", "affluent", "student"}

// AccountID returns the id of the customer's k-th account.
func AccountID(customer int64, k int) int64 { return customer*10 + int64(k) }

// CardID returns the id of the j-th card on an account.
func CardID(account int64, j int) int64 { return account*10 + int64(j) }

// deviceID is the id of the customer's k-th device: a hash, so that device
// ids say nothing about their owner or about fraud.
func deviceID(seed uint64, customer int64, k int) int64 {
	return int64(mix(seed, streamCustomer+100, uint64(customer)<<4|uint64(k)) >> 20)
}

// fraudDeviceID is the id of a fraudster's device, drawn from the same space.
func fraudDeviceID(seed uint64, n uint64) int64 {
	return int64(mix(seed, streamFraud+100, n) >> 20)
}

// NewCustomer derives customer id from the seed.
func NewCustomer(seed uint64, id int64, startUnix int64) Customer {
	return newCustomer(newRng(0, 0, 0), seed, id, startUnix)
}

// newCustomer is NewCustomer drawing from r, which it reseeds: a chunk
// derives hundreds of customers and reuses one generator for all.
func newCustomer(r *rng, seed uint64, id int64, startUnix int64) Customer {
	r.seed(seed, streamCustomer, uint64(id))
	reg := pickR(r, regionCDFs)
	c := Customer{
		ID:     id,
		Region: uint8(reg),
		Lat:    float32(regions[reg].Lat + r.NormFloat64()*0.15),
		Lon:    float32(regions[reg].Lon + r.NormFloat64()*0.15),
		Age:    18 + int(math.Min(67, math.Abs(r.NormFloat64()*18+22))),
	}
	switch u := r.Float64(); {
	case c.Age < 25 && u < 0.6:
		c.Segment = 2
		c.SpendShift = -0.35
	case u < 0.18:
		c.Segment = 1
		c.SpendShift = 0.45
	default:
		c.SpendShift = r.NormFloat64() * 0.15
	}
	c.SpendShift += r.NormFloat64() * 0.2
	c.Activity = fastExp(r.NormFloat64()*0.55 - 0.15)
	c.Travel = 0.1 + 0.5*r.Float64()
	if c.Segment == 1 {
		c.Travel += 0.3
	}
	c.SinceUnix = startUnix - int64(86400*(30+r.IntN(3650)))
	c.Accounts = 1 + b2i(r.Float64() < 0.3)
	c.Cards = 1 + b2i(r.Float64() < 0.25)
	c.Devices = 1 + r.IntN(3)
	c.Recurring = r.IntN(4)
	c.Rent = r.Float64() < rentShare
	s := 0.0
	for i, cat := range categories {
		s += cat.Weight * fastExp(r.NormFloat64()*0.55)
		c.catCDF[i] = s
	}
	return c
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CustomerChunk returns chunk i of a customers table of cfg.Rows rows; the
// customers are those the transactions of the same seed refer to.
func CustomerChunk(cfg Config, i int) []Customer {
	start := cfg.Start.Unix()
	out := make([]Customer, rowsIn(cfg.Rows, i))
	r := newRng(0, 0, 0)
	for j := range out {
		out[j] = newCustomer(r, cfg.Seed, int64(i*ChunkRows+j+1), start)
	}
	return out
}

func (c *Customer) encode(e *encoder) {
	e.begin()
	e.int("customer_id", c.ID)
	e.str("home_city", regions[c.Region].Name)
	e.float("home_lat", float64(c.Lat), 4)
	e.float("home_lon", float64(c.Lon), 4)
	e.int("age", int64(c.Age))
	e.str("segment", segmentNames[c.Segment])
	e.date("customer_since", c.SinceUnix)
	e.int("accounts", int64(c.Accounts))
	e.int("cards_per_account", int64(c.Cards))
	e.int("devices", int64(c.Devices))
	e.int("first_account_id", AccountID(c.ID, 0))
	e.int("first_card_id", CardID(AccountID(c.ID, 0), 0))
	e.end()
}
