package synth

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/metastation/metastation/app/errs"
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
	return generate(ctx, cfg, kind, format, w, progress, resume{})
}

// resume lets a job start at a chunk other than the first (the header then
// is not written again) and hears of every chunk written.
type resume struct {
	from    int                  // first chunk to generate
	written func(next int) error // called after chunk next-1 is written; may be nil
}

func generate(ctx context.Context, cfg Config, kind string, format Format, w io.Writer, progress Progress, res resume) error {
	cfg = cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if format == Parquet {
		if kind != "transactions" {
			return errs.Errorf(errs.Invalid, "parquet is written for transactions only, not %s", kind)
		}
		if res.from != 0 {
			return fmt.Errorf("parquet files cannot resume")
		}
		return writeParquet(ctx, cfg, w, progress)
	}
	switch kind {
	case "transactions":
		world := NewWorld(cfg, TransactionCustomers(cfg.Rows, cfg.Days))
		return write(ctx, cfg, format, w, progress, res,
			func(i int, dst []Transaction) []Transaction { return appendTransactionChunk(dst, world, cfg, i) },
			(*Transaction).encode)
	case "customers":
		return write(ctx, cfg, format, w, progress, res,
			func(i int, _ []Customer) []Customer { return CustomerChunk(cfg, i) },
			(*Customer).encode)
	case "merchants":
		return write(ctx, cfg, format, w, progress, res,
			func(i int, _ []Merchant) []Merchant { return MerchantChunk(cfg, i) },
			(*Merchant).encode)
	case "shipments":
		net := NewNetwork(cfg)
		return write(ctx, cfg, format, w, progress, res,
			func(i int, _ []Shipment) []Shipment { return ShipmentChunk(net, cfg, i) },
			(*Shipment).encode)
	case "employees":
		org := NewOrg(cfg)
		return write(ctx, cfg, format, w, progress, res,
			func(i int, _ []Employee) []Employee { return EmployeeChunk(org, cfg, i) },
			(*Employee).encode)
	}
	return errs.Errorf(errs.Invalid, "unknown kind %q (want one of %s)", kind, strings.Join(Kinds, ", "))
}

// write runs gen over every chunk of cfg.Rows rows, encodes each chunk on
// its worker, and writes the encoded chunks to w in order. gen may append
// its rows to the empty slice it is given, whose memory earlier chunks used.
func write[T any](ctx context.Context, cfg Config, format Format, w io.Writer, progress Progress, res resume,
	gen func(i int, dst []T) []T, encode func(*T, *encoder)) error {
	var zero T
	if res.from == 0 {
		if _, err := w.Write(header(format, func(e *encoder) { encode(&zero, e) })); err != nil {
			return fmt.Errorf("write header: %w", err)
		}
	}
	type chunk struct {
		b    *[]byte
		rows int
	}
	var buffers sync.Pool // encoded chunks, reused once written
	var rowBufs sync.Pool // rows, reused once encoded
	done := res.from * ChunkRows
	return ordered(ctx, cfg.Workers, chunks(cfg.Rows)-res.from,
		func(i int) chunk {
			rb, _ := rowBufs.Get().(*[]T)
			if rb == nil {
				rb = new([]T)
			}
			rows := gen(res.from+i, (*rb)[:0])
			defer func() { *rb = rows; rowBufs.Put(rb) }()
			b, _ := buffers.Get().(*[]byte)
			if b == nil {
				b = new([]byte)
			}
			e := &encoder{format: format, b: (*b)[:0]}
			for j := range rows {
				encode(&rows[j], e)
			}
			*b = e.b
			return chunk{b, len(rows)}
		},
		func(i int, c chunk) error {
			_, err := w.Write(*c.b)
			buffers.Put(c.b)
			if err != nil {
				return fmt.Errorf("write rows: %w", err)
			}
			if res.written != nil {
				if err := res.written(res.from + i + 1); err != nil {
					return err
				}
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
	return nil, errs.Errorf(errs.Invalid, "unknown kind %q", kind)
}

// StreamTransactions generates a transactions job on cfg.Workers goroutines
// and hands each chunk, in order, to emit. The chunk's slice is valid only
// until emit returns: its memory then holds a later chunk, so that a
// streaming job allocates a few chunks in all rather than one per chunk.
// Copy the rows to keep them (or use Transactions).
func StreamTransactions(ctx context.Context, cfg Config, emit func(rows []Transaction) error) error {
	cfg = cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return err
	}
	world := NewWorld(cfg, TransactionCustomers(cfg.Rows, cfg.Days))
	var bufs sync.Pool // of *[]Transaction, handed back once emitted
	return ordered(ctx, cfg.Workers, chunks(cfg.Rows),
		func(i int) *[]Transaction {
			b, _ := bufs.Get().(*[]Transaction)
			if b == nil {
				b = new([]Transaction)
			}
			*b = appendTransactionChunk((*b)[:0], world, cfg, i)
			return b
		},
		func(_ int, b *[]Transaction) error {
			defer bufs.Put(b)
			return emit(*b)
		})
}
