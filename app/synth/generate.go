package synth

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Kinds a job can generate, in the order help lists them.
var Kinds = []string{"transactions", "customers", "merchants", "shipments", "employees"}

// Progress is told the number of rows written so far.
type Progress func(rows int)

// Generate writes cfg.Rows rows of kind in format to w: a CSV header first
// when the format is CSV. Chunks are generated and encoded on cfg.Workers
// goroutines and written in order, so the bytes are the same whatever the
// number of workers, and memory stays constant whatever the number of rows.
func Generate(ctx context.Context, cfg Config, kind string, format Format, w io.Writer, progress Progress) error {
	cfg = cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if format == Parquet {
		if kind != "transactions" {
			return fmt.Errorf("%w: parquet is written for transactions only, not %s", ErrInvalidConfig, kind)
		}
		return writeParquet(ctx, cfg, w, progress)
	}
	switch kind {
	case "transactions":
		world := NewWorld(cfg, TransactionCustomers(cfg.Rows, cfg.Days))
		return write(ctx, cfg, format, w, progress,
			func(i int) []Transaction { return TransactionChunk(world, cfg, i) },
			(*Transaction).encode)
	case "customers":
		return write(ctx, cfg, format, w, progress,
			func(i int) []Customer { return CustomerChunk(cfg, i) },
			(*Customer).encode)
	case "merchants":
		return write(ctx, cfg, format, w, progress,
			func(i int) []Merchant { return MerchantChunk(cfg, i) },
			(*Merchant).encode)
	case "shipments":
		net := NewNetwork(cfg)
		return write(ctx, cfg, format, w, progress,
			func(i int) []Shipment { return ShipmentChunk(net, cfg, i) },
			(*Shipment).encode)
	case "employees":
		org := NewOrg(cfg)
		return write(ctx, cfg, format, w, progress,
			func(i int) []Employee { return EmployeeChunk(org, cfg, i) },
			(*Employee).encode)
	}
	return fmt.Errorf("%w: unknown kind %q (want one of %s)", ErrInvalidConfig, kind, strings.Join(Kinds, ", "))
}

// write runs gen over every chunk of cfg.Rows rows, encodes each chunk on
// its worker, and writes the encoded chunks to w in order.
func write[T any](ctx context.Context, cfg Config, format Format, w io.Writer, progress Progress,
	gen func(i int) []T, encode func(*T, *encoder)) error {
	var zero T
	if _, err := w.Write(header(format, func(e *encoder) { encode(&zero, e) })); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	type chunk struct {
		b    []byte
		rows int
	}
	done := 0
	return ordered(ctx, cfg.Workers, chunks(cfg.Rows),
		func(i int) chunk {
			rows := gen(i)
			e := &encoder{format: format, b: make([]byte, 0, len(rows)*160)}
			for j := range rows {
				encode(&rows[j], e)
			}
			return chunk{e.b, len(rows)}
		},
		func(_ int, c chunk) error {
			if _, err := w.Write(c.b); err != nil {
				return fmt.Errorf("write rows: %w", err)
			}
			done += c.rows
			if progress != nil {
				progress(done)
			}
			return nil
		})
}

// Columns returns the column names of kind, in file order.
func Columns(kind string) ([]string, error) {
	switch kind {
	case "transactions":
		return columns(func(e *encoder) { (&Transaction{}).encode(e) }), nil
	case "customers":
		return columns(func(e *encoder) { (&Customer{}).encode(e) }), nil
	case "merchants":
		return columns(func(e *encoder) { (&Merchant{}).encode(e) }), nil
	case "shipments":
		return columns(func(e *encoder) { (&Shipment{}).encode(e) }), nil
	case "employees":
		return columns(func(e *encoder) { (&Employee{}).encode(e) }), nil
	}
	return nil, fmt.Errorf("%w: unknown kind %q", ErrInvalidConfig, kind)
}

// StreamTransactions generates a transactions job on cfg.Workers goroutines
// and hands each chunk, in order, to emit. The chunk's slice is emit's to
// keep.
func StreamTransactions(ctx context.Context, cfg Config, emit func(rows []Transaction) error) error {
	cfg = cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return err
	}
	world := NewWorld(cfg, TransactionCustomers(cfg.Rows, cfg.Days))
	return ordered(ctx, cfg.Workers, chunks(cfg.Rows),
		func(i int) []Transaction { return TransactionChunk(world, cfg, i) },
		func(_ int, rows []Transaction) error { return emit(rows) })
}
