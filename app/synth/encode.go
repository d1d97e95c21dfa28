package synth

import (
	"math"
	"strconv"

	"github.com/metastation/metastation/app/errs"
)

// Format is a file format rows are written in.
type Format int

// Formats.
const (
	CSV     Format = iota // RFC 4180 with a header line
	JSONL                 // one JSON object per line
	Parquet               // Apache Parquet, zstd; transactions only
)

// ParseFormat returns the format named s: "csv" or "jsonl".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "csv":
		return CSV, nil
	case "jsonl", "json":
		return JSONL, nil
	case "parquet":
		return Parquet, nil
	}
	return 0, errs.Errorf(errs.Invalid, "unknown format %q (want csv, jsonl or parquet)", s)
}

func (f Format) String() string {
	return [...]string{"csv", "jsonl", "parquet"}[f]
}

// encoder appends rows to a buffer in one format. A row type describes
// itself once, through encode methods, and gets both formats and the CSV
// header from that one description.
type encoder struct {
	format Format
	b      []byte
	n      int      // fields written in the current row
	names  []string // column names, collected when header is set
	header bool
}

func (e *encoder) begin() {
	e.n = 0
	if e.format == JSONL {
		e.b = append(e.b, '{')
	}
}

func (e *encoder) end() {
	if e.format == JSONL {
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, '\n')
}

// key starts a field. It returns false in header mode, when only the name
// is wanted.
func (e *encoder) key(name string) bool {
	if e.header {
		e.names = append(e.names, name)
		return false
	}
	if e.n > 0 {
		e.b = append(e.b, ',')
	}
	e.n++
	if e.format == JSONL {
		e.b = append(e.b, '"')
		e.b = append(e.b, name...)
		e.b = append(e.b, '"', ':')
	}
	return true
}

func (e *encoder) int(name string, v int64) {
	if e.key(name) {
		e.b = strconv.AppendInt(e.b, v, 10)
	}
}

// optInt writes v, or an empty field (null) when ok is false.
func (e *encoder) optInt(name string, v int64, ok bool) {
	if !e.key(name) {
		return
	}
	switch {
	case ok:
		e.b = strconv.AppendInt(e.b, v, 10)
	case e.format == JSONL:
		e.b = append(e.b, "null"...)
	}
}

func (e *encoder) float(name string, v float64, prec int) {
	if !e.key(name) {
		return
	}
	if prec > 6 || math.Abs(v) > 1e12 || math.IsNaN(v) {
		e.b = strconv.AppendFloat(e.b, v, 'f', prec, 64)
		return
	}
	// Fixed point: the digits of round(|v| * 10^prec), a point inserted.
	scale := pow10[prec]
	n := int64(math.Round(math.Abs(v) * scale))
	if v < 0 && n != 0 {
		e.b = append(e.b, '-')
	}
	e.b = strconv.AppendInt(e.b, n/int64(scale), 10)
	if prec > 0 {
		e.b = append(e.b, '.')
		e.b = appendPad(e.b, int(n%int64(scale)), prec)
	}
}

var pow10 = [...]float64{1, 10, 100, 1e3, 1e4, 1e5, 1e6}

// money writes cents as a decimal number of dollars.
func (e *encoder) money(name string, cents int64) {
	if !e.key(name) {
		return
	}
	if cents < 0 {
		e.b = append(e.b, '-')
		cents = -cents
	}
	e.b = strconv.AppendInt(e.b, cents/100, 10)
	c := cents % 100
	e.b = append(e.b, '.', byte('0'+c/10), byte('0'+c%10))
}

func (e *encoder) bool(name string, v bool) {
	if !e.key(name) {
		return
	}
	switch {
	case e.format == JSONL:
		e.b = strconv.AppendBool(e.b, v)
	case v:
		e.b = append(e.b, '1')
	default:
		e.b = append(e.b, '0')
	}
}

// str writes s, which holds no quote, comma, backslash or control character
// (every string the generators write is a fixed name).
func (e *encoder) str(name, s string) {
	if !e.key(name) {
		return
	}
	if e.format == JSONL {
		e.b = append(e.b, '"')
		e.b = append(e.b, s...)
		e.b = append(e.b, '"')
		return
	}
	e.b = append(e.b, s...)
}

// time writes unix seconds as RFC 3339 in UTC.
func (e *encoder) time(name string, unix int64) {
	if !e.key(name) {
		return
	}
	if e.format == JSONL {
		e.b = append(e.b, '"')
	}
	e.b = appendRFC3339(e.b, unix)
	if e.format == JSONL {
		e.b = append(e.b, '"')
	}
}

// date writes the day of unix seconds as YYYY-MM-DD.
func (e *encoder) date(name string, unix int64) {
	if !e.key(name) {
		return
	}
	if e.format == JSONL {
		e.b = append(e.b, '"')
	}
	n := len(e.b)
	e.b = appendRFC3339(e.b, unix)[:n+10]
	if e.format == JSONL {
		e.b = append(e.b, '"')
	}
}

// appendRFC3339 appends unix seconds as 2006-01-02T15:04:05Z, without the
// cost of time.Time formatting.
func appendRFC3339(b []byte, unix int64) []byte {
	days, secs := unix/86400, unix%86400
	if secs < 0 {
		days, secs = days-1, secs+86400
	}
	y, m, d := civil(days)
	b = appendPad(b, y, 4)
	b = append(b, '-')
	b = appendPad(b, m, 2)
	b = append(b, '-')
	b = appendPad(b, d, 2)
	b = append(b, 'T')
	b = appendPad(b, int(secs/3600), 2)
	b = append(b, ':')
	b = appendPad(b, int(secs/60%60), 2)
	b = append(b, ':')
	b = appendPad(b, int(secs%60), 2)
	return append(b, 'Z')
}

func appendPad(b []byte, v, width int) []byte {
	var buf [8]byte
	i := len(buf)
	for ; width > 0 || v > 0; width-- {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[i:]...)
}

// civil converts days since 1970-01-01 to a year, month and day
// (Howard Hinnant's algorithm).
func civil(days int64) (y, m, d int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, d
}

// header returns the CSV header line of a row type.
func header(format Format, encode func(e *encoder)) []byte {
	if format != CSV {
		return nil
	}
	e := &encoder{header: true}
	encode(e)
	b := []byte{}
	for i, n := range e.names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, n...)
	}
	return append(b, '\n')
}

// Columns returns the column names of a kind's rows.
func columns(encode func(e *encoder)) []string {
	e := &encoder{header: true}
	encode(e)
	return e.names
}

func (t *Transaction) encode(e *encoder) {
	e.begin()
	e.int("id", t.ID)
	e.time("time", t.Unix)
	e.int("customer_id", t.CustomerID)
	e.int("account_id", t.AccountID)
	e.int("card_id", t.CardID)
	e.int("merchant_id", int64(t.MerchantID))
	e.optInt("device_id", t.DeviceID, t.DeviceID != 0)
	e.str("category", categories[t.Category].Name)
	e.str("channel", t.Channel.String())
	e.money("amount", t.Amount)
	e.str("city", regions[t.Region].Name)
	e.float("lat", float64(t.Lat), 4)
	e.float("lon", float64(t.Lon), 4)
	e.bool("is_fraud", t.IsFraud())
	e.str("fraud_type", t.Fraud.String())
	e.end()
}
