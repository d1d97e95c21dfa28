package market

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// DailyBar is one row of an imported price file. Intraday rows have a time
// of day; daily rows are at midnight UTC.
type DailyBar struct {
	Time     time.Time `json:"time"`
	Open     float64   `json:"open"`
	High     float64   `json:"high"`
	Low      float64   `json:"low"`
	Close    float64   `json:"close"`
	AdjClose float64   `json:"adj_close"`
	Volume   float64   `json:"volume"`
}

// Series is an imported price history, oldest first.
type Series struct {
	Symbol   string     `json:"symbol"`
	Intraday bool       `json:"intraday"`
	Bars     []DailyBar `json:"bars"`
}

// Returns are the daily log-returns of the adjusted close.
func (s Series) Returns() []float64 {
	out := make([]float64, 0, len(s.Bars))
	for k := 1; k < len(s.Bars); k++ {
		out = append(out, math.Log(s.Bars[k].AdjClose/s.Bars[k-1].AdjClose))
	}
	return out
}

// LineNote is a remark about one line of an imported file.
type LineNote struct {
	Line int    `json:"line"`
	Msg  string `json:"message"`
}

// ImportReport tells what the importer found in an accepted file.
type ImportReport struct {
	Rows      int        `json:"rows"`       // bars accepted
	NullRows  int        `json:"null_rows"`  // rows of "null" skipped (Yahoo writes them for missing days)
	NullLines []int      `json:"null_lines"` // their line numbers
	Outliers  []LineNote `json:"outliers"`   // extreme moves, kept but flagged
	// Inconsistent are rows whose High is below Open or Close, or whose Low
	// is above them. Real files have them (Yahoo's EURUSD has 108, up to
	// 2 %), so they are kept and reported, not rejected.
	Inconsistent []LineNote `json:"inconsistent"`
}

// ImportError lists every problem that made a file be rejected, with line
// numbers. Nothing of a rejected file is written.
type ImportError struct {
	Problems []LineNote // the first MaxProblems
	More     int        // problems found past those, not listed
}

// MaxProblems is how many problems an ImportError lists: a 10 MB file of
// bad rows once gave a 92 MB answer.
const MaxProblems = 100

// MaxLineBytes caps one line of an imported file: without it, a file with
// no line ends (market import /dev/zero) was read into memory until the
// process died.
const MaxLineBytes = 64 << 10

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the file was rejected (%d problem", len(e.Problems)+e.More)
	if len(e.Problems)+e.More != 1 {
		b.WriteString("s")
	}
	b.WriteString("): ")
	for k, p := range e.Problems {
		if k == 10 {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)+e.More-10)
			break
		}
		if k > 0 {
			b.WriteString("; ")
		}
		if p.Line > 0 {
			fmt.Fprintf(&b, "line %d: ", p.Line)
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// Yahoo column names, lower case.
var yahooColumns = []string{"open", "high", "low", "close", "adj close", "volume"}

// ParseYahoo reads a Yahoo Finance CSV: "Date,Open,High,Low,Close,Adj
// Close,Volume", the same without Adj Close (or Volume), or intraday with a
// "Datetime" column whose times carry a zone. A UTF-8 BOM and CRLF line ends
// are fine. Rows of "null" are skipped and counted. Unparseable fields,
// prices that are not positive, a High below the Low, duplicate and
// out-of-order dates reject the whole file with line numbers. A High below
// Open or Close, or a Low above them, is reported with its line but kept
// (real files have them), and so are moves beyond 12 robust standard
// deviations.
func ParseYahoo(r io.Reader) (Series, ImportReport, error) {
	br := bufio.NewReader(&lineCapReader{r: r})
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	header = append([]string(nil), header...) // ReuseRecord would overwrite it
	if err == io.EOF {
		return Series{}, ImportReport{}, &ImportError{Problems: []LineNote{{1, "the file is empty"}}}
	}
	if err != nil {
		return Series{}, ImportReport{}, &ImportError{Problems: []LineNote{{1, "the header cannot be read: " + err.Error()}}}
	}
	col := map[string]int{}
	for k, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = k
	}
	var s Series
	dateCol, ok := col["date"]
	if !ok {
		if dateCol, ok = col["datetime"]; ok {
			s.Intraday = true
		} else if dateCol, ok = col["timestamp"]; !ok {
			return Series{}, ImportReport{}, &ImportError{Problems: []LineNote{{1, "the header has no Date or Datetime column"}}}
		}
	}
	for _, c := range []string{"open", "high", "low", "close"} {
		if _, ok := col[c]; !ok {
			return Series{}, ImportReport{}, &ImportError{Problems: []LineNote{{1, "the header has no " + strings.ToUpper(c[:1]) + c[1:] + " column"}}}
		}
	}
	var rep ImportReport
	var problems []LineNote
	more := 0
	add := func(line int, format string, a ...any) {
		if len(problems) == MaxProblems {
			more++
			return
		}
		problems = append(problems, LineNote{line, fmt.Sprintf(format, a...)})
	}
	lines := map[time.Time]int{}
	var lineOf []int
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line := 0
		if err == nil {
			line, _ = cr.FieldPos(0) // FieldPos panics without a record
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) || pe.Err != nil && !isCSVSyntax(pe.Err) {
				// The reader failed (a line past MaxLineBytes, say): no
				// later line can be read either.
				add(line, "%v", err)
				break
			}
			add(pe.Line, "cannot be read as CSV: %v", err)
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if len(rec) != len(header) {
			add(line, "has %d fields but the header has %d", len(rec), len(header))
			continue
		}
		if isNullRow(rec, dateCol) {
			rep.NullRows++
			rep.NullLines = append(rep.NullLines, line)
			continue
		}
		t, err := parseYahooTime(strings.TrimSpace(rec[dateCol]), s.Intraday)
		if err != nil {
			add(line, "%v", err)
			continue
		}
		var v [6]float64
		bad := false
		for k, name := range yahooColumns {
			c, ok := col[name]
			if !ok {
				continue
			}
			x, err := strconv.ParseFloat(strings.TrimSpace(rec[c]), 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				add(line, "%s %q is not a number", header[c], rec[c])
				bad = true
				continue
			}
			v[k] = x
		}
		if bad {
			continue
		}
		b := DailyBar{Time: t, Open: v[0], High: v[1], Low: v[2], Close: v[3], AdjClose: v[4], Volume: v[5]}
		if _, ok := col["adj close"]; !ok {
			b.AdjClose = b.Close
		}
		if msg := checkPrices(b); msg != "" {
			add(line, "%s", msg)
			continue
		}
		if msg := checkOHLC(b); msg != "" {
			rep.Inconsistent = append(rep.Inconsistent, LineNote{line, msg})
		}
		if prev, dup := lines[t]; dup {
			add(line, "the date %s repeats line %d", t.Format(time.DateOnly), prev)
			continue
		}
		if n := len(s.Bars); n > 0 && t.Before(s.Bars[n-1].Time) {
			add(line, "the date %s comes before the %s of line %d (dates must ascend)",
				formatYahooTime(t, s.Intraday), formatYahooTime(s.Bars[n-1].Time, s.Intraday), lineOf[n-1])
			continue
		}
		lines[t] = line
		s.Bars = append(s.Bars, b)
		lineOf = append(lineOf, line)
	}
	if len(problems) > 0 {
		return Series{}, ImportReport{}, &ImportError{Problems: problems, More: more}
	}
	if len(s.Bars) < 2 {
		return Series{}, ImportReport{}, &ImportError{Problems: []LineNote{{0, fmt.Sprintf("the file holds %d usable rows; at least 2 are needed", len(s.Bars))}}}
	}
	rep.Rows = len(s.Bars)
	rep.Outliers = outliers(s, lineOf)
	return s, rep, nil
}

func isNullRow(rec []string, dateCol int) bool {
	for k, f := range rec {
		if k != dateCol && strings.EqualFold(strings.TrimSpace(f), "null") {
			return true
		}
	}
	return false
}

// parseYahooTime reads 2006-01-02, or for intraday files a time such as
// "2024-01-02 09:30:00-05:00" or RFC 3339. Times without a zone are UTC.
func parseYahooTime(s string, intraday bool) (time.Time, error) {
	layouts := []string{time.DateOnly}
	if intraday {
		layouts = []string{"2006-01-02 15:04:05-07:00", time.RFC3339, "2006-01-02 15:04:05Z07:00", time.DateTime, "2006-01-02 15:04"}
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	if intraday {
		return time.Time{}, fmt.Errorf("the time %q is not like 2024-01-02 09:30:00-05:00", s)
	}
	return time.Time{}, fmt.Errorf("the date %q is not like 2024-01-02", s)
}

func formatYahooTime(t time.Time, intraday bool) string {
	if intraday {
		return t.Format("2006-01-02 15:04:05-07:00")
	}
	return t.Format(time.DateOnly)
}

// checkPrices returns what makes b impossible, or "".
func checkPrices(b DailyBar) string {
	switch {
	case b.Open <= 0 || b.High <= 0 || b.Low <= 0 || b.Close <= 0 || b.AdjClose <= 0:
		return "prices must be positive"
	case b.Volume < 0:
		return fmt.Sprintf("the volume %g is negative", b.Volume)
	case b.High*(1+1e-6) < b.Low:
		return fmt.Sprintf("High %g is below Low %g", b.High, b.Low)
	}
	return ""
}

// checkOHLC returns what is inconsistent between b's prices, or "".
func checkOHLC(b DailyBar) string {
	tol := 1e-6 * b.High
	switch {
	case b.High+tol < b.Open:
		return fmt.Sprintf("High %g is below Open %g", b.High, b.Open)
	case b.High+tol < b.Close:
		return fmt.Sprintf("High %g is below Close %g", b.High, b.Close)
	case b.Low > b.Open+tol:
		return fmt.Sprintf("Low %g is above Open %g", b.Low, b.Open)
	case b.Low > b.Close+tol:
		return fmt.Sprintf("Low %g is above Close %g", b.Low, b.Close)
	}
	return ""
}

// outliers flags the returns beyond 12 robust standard deviations (median
// absolute return scaled to a normal's standard deviation).
func outliers(s Series, lineOf []int) []LineNote {
	r := s.Returns()
	abs := make([]float64, len(r))
	for k, x := range r {
		abs[k] = math.Abs(x)
	}
	sort.Float64s(abs)
	sigma := abs[len(abs)/2] * 1.4826
	if sigma == 0 {
		return nil
	}
	var out []LineNote
	for k, x := range r {
		if math.Abs(x) > 12*sigma {
			out = append(out, LineNote{lineOf[k+1], fmt.Sprintf("a move of %+.1f%% is %.0f times the typical one", 100*math.Expm1(x), math.Abs(x)/sigma)})
		}
	}
	return out
}

// ImportSeries writes s into the market_series table in one transaction:
// all of it or, on any error, nothing. db is the writer connection. Rows of
// the same symbol and date are replaced.
func ImportSeries(ctx context.Context, db *sql.DB, s Series) error {
	if s.Symbol == "" {
		return errs.Errorf(errs.Invalid, "the series needs a symbol")
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("import %s: %w", s.Symbol, err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO market_series
		(symbol, date, open, high, low, close, adj_close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("import %s: %w", s.Symbol, err)
	}
	defer st.Close()
	for _, b := range s.Bars {
		if _, err := st.ExecContext(ctx, s.Symbol, formatYahooTime(b.Time, s.Intraday), b.Open, b.High, b.Low, b.Close, b.AdjClose, b.Volume); err != nil {
			return fmt.Errorf("import %s: %w", s.Symbol, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("import %s: %w", s.Symbol, err)
	}
	return nil
}

// WriteYahoo writes bars in the Yahoo Finance CSV layout: Date for daily
// bars, Datetime (UTC) for intraday ones. Adj Close equals Close.
func WriteYahoo(w io.Writer, bars []Bar) error {
	intraday := len(bars) > 0 && bars[0].Interval != Day
	bw := bufio.NewWriter(w)
	if intraday {
		bw.WriteString("Datetime,Open,High,Low,Close,Adj Close,Volume\n")
	} else {
		bw.WriteString("Date,Open,High,Low,Close,Adj Close,Volume\n")
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, b := range bars {
		fmt.Fprintf(bw, "%s,%s,%s,%s,%s,%s,%s\n", formatYahooTime(b.Time, intraday),
			f(b.Open), f(b.High), f(b.Low), f(b.Close), f(b.Close), f(math.Round(b.Volume)))
	}
	return bw.Flush()
}

// isCSVSyntax reports whether err is one of encoding/csv's own syntax
// errors, after which the next line can still be read.
func isCSVSyntax(err error) bool {
	return errors.Is(err, csv.ErrBareQuote) || errors.Is(err, csv.ErrQuote) || errors.Is(err, csv.ErrFieldCount) || errors.Is(err, csv.ErrTrailingComma)
}

// lineCapReader fails once a line runs past MaxLineBytes.
type lineCapReader struct {
	r   io.Reader
	run int // bytes since the last line end
	err error
}

func (l *lineCapReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	if i := bytes.LastIndexByte(p[:n], '\n'); i >= 0 {
		l.run = n - 1 - i
	} else {
		l.run += n
	}
	if l.run > MaxLineBytes {
		l.err = fmt.Errorf("a line is longer than %d KB: this is not a price file", MaxLineBytes>>10)
		return 0, l.err
	}
	return n, err
}
