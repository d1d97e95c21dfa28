package synth

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Account is a customer's bank account.
type Account struct {
	ID         int64
	CustomerID int64
	Type       string // checking or savings
	OpenedUnix int64
}

// Card is a payment card on an account.
type Card struct {
	ID         int64
	AccountID  int64
	CustomerID int64
	Network    string
	IssuedUnix int64
}

// Device is a phone or computer a customer registered before the period.
// Devices first seen during the period (a new phone, a fraudster's) are in
// no table: that is what makes a device new.
type Device struct {
	ID             int64
	CustomerID     int64
	Type           string
	RegisteredUnix int64
}

// CustomerEntities returns the accounts, cards and devices of a customer.
// They derive from (seed, customer) alone and match the ids its
// transactions carry.
func CustomerEntities(c *Customer, seed uint64) ([]Account, []Card, []Device) {
	r := newRand(seed, streamCustomer+200, uint64(c.ID))
	var accounts []Account
	var cards []Card
	var devices []Device
	for a := range c.Accounts {
		acc := Account{ID: AccountID(c.ID, a), CustomerID: c.ID, Type: "checking",
			OpenedUnix: c.SinceUnix + int64(a)*86400*int64(r.IntN(900))}
		if a == 1 {
			acc.Type = "savings"
		}
		accounts = append(accounts, acc)
		for j := range c.Cards {
			cards = append(cards, Card{ID: CardID(acc.ID, j), AccountID: acc.ID, CustomerID: c.ID,
				Network:    []string{"visa", "mastercard", "visa", "amex"}[r.IntN(4)],
				IssuedUnix: acc.OpenedUnix + 86400*int64(r.IntN(700))})
		}
	}
	for k := range c.Devices {
		devices = append(devices, Device{ID: deviceID(seed, c.ID, k), CustomerID: c.ID,
			Type:           []string{"ios", "android", "android", "web"}[r.IntN(4)],
			RegisteredUnix: c.SinceUnix + 86400*int64(r.IntN(1500))})
	}
	return accounts, cards, devices
}

func (a *Account) encode(e *encoder) {
	e.begin()
	e.int("account_id", a.ID)
	e.int("customer_id", a.CustomerID)
	e.str("type", a.Type)
	e.date("opened", a.OpenedUnix)
	e.end()
}

func (c *Card) encode(e *encoder) {
	e.begin()
	e.int("card_id", c.ID)
	e.int("account_id", c.AccountID)
	e.int("customer_id", c.CustomerID)
	e.str("network", c.Network)
	e.date("issued", c.IssuedUnix)
	e.end()
}

func (d *Device) encode(e *encoder) {
	e.begin()
	e.int("device_id", d.ID)
	e.int("customer_id", d.CustomerID)
	e.str("type", d.Type)
	e.date("registered", d.RegisteredUnix)
	e.end()
}

// EntityTables are the tables WriteEntities writes beside a transactions
// file, in order.
var EntityTables = []string{"customers", "accounts", "cards", "devices", "merchants"}

// EntityPath returns where the table of a transactions file at path goes:
// tx.csv gives tx.customers.csv, tx.accounts.csv, ... Parquet jobs get CSV
// tables.
func EntityPath(path, table string, format Format) string {
	if format == Parquet {
		format = CSV
	}
	ext := "." + format.String()
	return strings.TrimSuffix(path, filepath.Ext(path)) + "." + table + ext
}

// WriteEntities writes, beside the transactions file at path, the tables
// of every customer, account, card, registered device and merchant a
// transactions job of cfg refers to, each atomically. Parquet jobs get CSV
// tables.
func WriteEntities(ctx context.Context, cfg Config, format Format, path string) error {
	cfg = cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if format == Parquet {
		format = CSV
	}
	customers := TransactionCustomers(cfg.Rows, cfg.Days)
	world := NewWorld(cfg, customers)
	perChunk := customersIn(ChunkRows, cfg.Days)
	// The customers of chunk i of the transactions are perChunk ids from
	// i*perChunk+1; the last chunk may have fewer.
	ids := func(i int) (lo, hi int64) {
		lo = int64(i*perChunk) + 1
		hi = lo + int64(perChunk)
		if i == chunks(cfg.Rows)-1 {
			hi = lo + int64(customersIn(rowsIn(cfg.Rows, i), cfg.Days))
		}
		return lo, hi
	}
	byChunk := cfg
	byChunk.Rows = chunks(cfg.Rows) * ChunkRows // one table chunk per transactions chunk
	start := cfg.Start.Unix()
	each := func(i int, f func(c *Customer)) {
		lo, hi := ids(i)
		for id := lo; id < hi; id++ {
			c := NewCustomer(cfg.Seed, id, start)
			f(&c)
		}
	}
	for _, table := range EntityTables {
		out := EntityPath(path, table, format)
		err := WriteFile(out, func(w io.Writer) error {
			switch table {
			case "customers":
				return write(ctx, byChunk, format, w, nil, resume{},
					func(i int, dst []Customer) []Customer {
						each(i, func(c *Customer) { dst = append(dst, *c) })
						return dst
					}, (*Customer).encode)
			case "accounts":
				return write(ctx, byChunk, format, w, nil, resume{},
					func(i int, dst []Account) []Account {
						each(i, func(c *Customer) { a, _, _ := CustomerEntities(c, cfg.Seed); dst = append(dst, a...) })
						return dst
					}, (*Account).encode)
			case "cards":
				return write(ctx, byChunk, format, w, nil, resume{},
					func(i int, dst []Card) []Card {
						each(i, func(c *Customer) { _, k, _ := CustomerEntities(c, cfg.Seed); dst = append(dst, k...) })
						return dst
					}, (*Card).encode)
			case "devices":
				return write(ctx, byChunk, format, w, nil, resume{},
					func(i int, dst []Device) []Device {
						each(i, func(c *Customer) { _, _, d := CustomerEntities(c, cfg.Seed); dst = append(dst, d...) })
						return dst
					}, (*Device).encode)
			default:
				ms := cfg
				ms.Rows = len(world.Merchants)
				return write(ctx, ms, format, w, nil, resume{},
					func(i int, dst []Merchant) []Merchant {
						return append(dst, world.Merchants[i*ChunkRows:i*ChunkRows+rowsIn(ms.Rows, i)]...)
					}, (*Merchant).encode)
			}
		})
		if err != nil {
			return fmt.Errorf("write %s table: %w", table, err)
		}
	}
	return nil
}
