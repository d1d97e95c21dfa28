package media

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/metastation/metastation/app/errs"
)

// maxJSONDocument is the largest JSON file that is one value (not an array
// of rows, nor lines): it is decoded whole.
const maxJSONDocument = 64 << 20

// maxLine is the longest CSV record or JSON line.
const maxLine = 16 << 20

// extractData reads a table row by row (a CSV or JSON-lines file of any
// size costs one row of memory plus the column sketches).
func (p *Pipeline) extractData(ctx context.Context, f io.ReaderAt, size int64, format Format, frac func(float64)) (*extracted, error) {
	t := newTable(p.cfg.Limits.MaxColumns)
	cr := &countingReader{r: io.NewSectionReader(f, 0, size)}
	tick := func(rows int64) error {
		if rows%4096 == 0 {
			frac(float64(cr.n) / float64(size))
			return ctxErr(ctx)
		}
		return nil
	}
	var err error
	var delim rune
	var header bool
	switch format {
	case CSV:
		delim, header, err = readCSV(cr, t, tick)
	case JSON:
		if size > maxJSONDocument && !startsArray(f) {
			return nil, errs.Errorf(errs.Invalid, "a JSON file that is one object is read whole, so it may be at most %s; this one is %s", humanBytes(maxJSONDocument), humanBytes(size))
		}
		err = readJSON(cr, t, p.cfg.Limits.MaxJSONDepth, tick)
	case JSONL:
		err = readJSONLines(cr, t, p.cfg.Limits.MaxJSONDepth, tick)
	case Parquet:
		err = readParquet(f, size, t, p.cfg.Limits, tick)
	}
	if err != nil {
		return nil, err
	}
	if t.rows == 0 {
		return nil, errs.Errorf(errs.Invalid, "the %s file has no rows", strings.ToUpper(string(format)))
	}
	info := t.info()
	if format == CSV {
		info.Delimiter, info.Header = string(delim), header
	}
	ex := &extracted{kind: Data, part: "table", info: Info{Data: info}}
	if len(t.cols) == p.cfg.Limits.MaxColumns {
		ex.info.Notes = append(ex.info.Notes, fmt.Sprintf("Only the first %d columns were read.", p.cfg.Limits.MaxColumns))
	}
	if info.Market {
		ex.info.Notes = append(ex.info.Notes, "This table is daily prices (date, open, high, low, close): the market importer can take it as a price series.")
	}
	ex.summary, ex.desc = describeTable(format, info)
	ex.pages = []page{{text: tableText(info)}}
	return ex, nil
}

func startsArray(f io.ReaderAt) bool {
	b := make([]byte, 512)
	n, _ := f.ReadAt(b, 0)
	t := bytes.TrimLeft(b[:n], " \t\r\n\xef\xbb\xbf")
	return len(t) > 0 && t[0] == '['
}

// readCSV reads a CSV file: the delimiter is the one the sniffer's test
// accepts on the first lines; the first row is a header when none of its
// cells is a number or a date and there is more than one row.
func readCSV(r io.Reader, t *table, tick func(int64) error) (rune, bool, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(SniffBytes)
	text, _ := textOf(head, len(head) == SniffBytes)
	delim := ','
	best := 0
	for _, d := range []rune{',', '\t', ';', '|'} {
		if n := strings.Count(firstLine(text), string(d)); n > best {
			delim, best = d, n
		}
	}
	cr := csv.NewReader(&lineCapReader{r: br})
	cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes, cr.ReuseRecord = delim, -1, true, true
	first, err := cr.Read()
	if err != nil {
		return 0, false, errs.Wrap(errs.Invalid, err, "the CSV file could not be read")
	}
	header := len(first) > 1
	for _, c := range first {
		x := newColStats("", t.seed)
		x.add(c)
		if x.nums > 0 || x.dates > 0 || strings.TrimSpace(c) == "" {
			header = false
		}
	}
	width := len(first)
	lastLen, lastQuotes := len(first), 0
	for i := range first {
		name := "column " + strconv.Itoa(i+1)
		if header {
			name = uniqueName(t, strings.TrimSpace(strings.TrimPrefix(first[i], "\ufeff")), i)
		}
		t.column(name)
	}
	if !header {
		t.addRow(first)
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				return 0, false, errs.Errorf(errs.Invalid, "the CSV file has a record longer than %s", humanBytes(maxLine))
			}
			line, _ := cr.FieldPos(0)
			return 0, false, errs.Wrap(errs.Invalid, err, "the CSV file is damaged near line %d", line)
		}
		if len(rec) != width {
			t.ragged++
		}
		lastLen, lastQuotes = len(rec), 0
		for _, f := range rec {
			lastQuotes += strings.Count(f, "\"")
		}
		t.addRow(rec)
		if err := tick(t.rows); err != nil {
			return 0, false, err
		}
	}
	if !endsWithNewline(r) && (lastLen < width || lastQuotes%2 == 1) {
		return 0, false, errs.Errorf(errs.Invalid, "the CSV file is truncated: it ends in the middle of row %d", t.rows)
	}
	return delim, header, nil
}

// endsWithNewline reports whether the file read through r (a counting
// reader over a section) ends with a line end.
func endsWithNewline(r io.Reader) bool {
	cr, ok := r.(*countingReader)
	if !ok {
		return true
	}
	sr, ok := cr.r.(*io.SectionReader)
	if !ok || sr.Size() == 0 {
		return true
	}
	b := make([]byte, 1)
	if _, err := sr.ReadAt(b, sr.Size()-1); err != nil {
		return true
	}
	return b[0] == '\n' || b[0] == '\r'
}

func uniqueName(t *table, name string, i int) string {
	if name == "" {
		name = "column " + strconv.Itoa(i+1)
	}
	if _, ok := t.byName[name]; ok {
		name = name + " (" + strconv.Itoa(i+1) + ")"
	}
	return name
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

var errLineTooLong = errors.New("line too long")

// lineCapReader fails when a line runs past maxLine bytes: encoding/csv
// would otherwise hold a newline-free gigabyte as one record.
type lineCapReader struct {
	r   io.Reader
	run int
}

func (l *lineCapReader) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	for _, c := range b[:n] {
		if c == '\n' {
			l.run = 0
		} else if l.run++; l.run > maxLine {
			return 0, errLineTooLong
		}
	}
	return n, err
}

// readJSON reads a JSON array (of objects, or of values) element by
// element, or one object as one row.
func readJSON(r io.Reader, t *table, maxDepth int, tick func(int64) error) error {
	dec := json.NewDecoder(bufio.NewReaderSize(&lineCapReader{r: r}, 64<<10))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return errs.Wrap(errs.Invalid, err, "the JSON file could not be read")
	}
	if d, ok := tok.(json.Delim); ok && d == '[' {
		for dec.More() {
			var v any
			if err := dec.Decode(&v); err != nil {
				return jsonErr(err, t.rows+1)
			}
			if err := addJSONRow(t, v, maxDepth); err != nil {
				return err
			}
			if err := tick(t.rows); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return errs.Wrap(errs.Invalid, err, "the JSON file is truncated: its array is not closed")
		}
		return trailing(dec)
	}
	// One object: decode the rest of it as a value.
	rest := io.MultiReader(strings.NewReader("{"), dec.Buffered(), r)
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errs.Errorf(errs.Invalid, "the JSON file is a single value, not a table")
	}
	dec = json.NewDecoder(rest)
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return jsonErr(err, 1)
	}
	return addJSONRow(t, v, maxDepth)
}

func trailing(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return errs.Errorf(errs.Invalid, "the JSON file has data after its end")
	}
	return nil
}

func jsonErr(err error, row int64) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errs.Wrap(errs.Invalid, err, "the JSON file is truncated in row %d", row)
	}
	if errors.Is(err, errLineTooLong) {
		return errs.Errorf(errs.Invalid, "the JSON file has a line longer than %s", humanBytes(maxLine))
	}
	return errs.Wrap(errs.Invalid, err, "the JSON file is damaged in row %d", row)
}

// readJSONLines reads one JSON value per line.
func readJSONLines(r io.Reader, t *table, maxDepth int, tick func(int64) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	line := int64(0)
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return errs.Wrap(errs.Invalid, err, "line %d of the JSON-lines file is not JSON", line)
		}
		if err := addJSONRow(t, v, maxDepth); err != nil {
			return err
		}
		if err := tick(t.rows); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return errs.Errorf(errs.Invalid, "the JSON-lines file has a line longer than %s", humanBytes(maxLine))
		}
		return errs.Wrap(errs.Invalid, err, "the JSON-lines file could not be read")
	}
	return nil
}

// addJSONRow adds one element: an object's fields become columns (nested
// objects one level deep as "a.b"), any other value one "value" column.
func addJSONRow(t *table, v any, maxDepth int) error {
	if depth(v) > maxDepth {
		return errs.Errorf(errs.Invalid, "the JSON nests deeper than %d levels", maxDepth)
	}
	cells := map[int]string{}
	var put func(prefix string, v any, level int)
	put = func(prefix string, v any, level int) {
		if o, ok := v.(map[string]any); ok && level < 2 {
			keys := make([]string, 0, len(o))
			for k := range o {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				name := k
				if prefix != "" {
					name = prefix + "." + k
				}
				put(name, o[k], level+1)
			}
			return
		}
		if prefix == "" {
			prefix = "value"
		}
		if i := t.column(prefix); i >= 0 {
			cells[i] = jsonCell(v)
		}
	}
	put("", v, 0)
	row := make([]string, len(t.cols))
	for i := range row {
		if c, ok := cells[i]; ok {
			row[i] = c
		}
	}
	t.addRow(row)
	return nil
}

func depth(v any) int {
	switch x := v.(type) {
	case map[string]any:
		d := 0
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	case []any:
		d := 0
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}

func jsonCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return cutUTF8(string(b), 4096)
}

// readParquet reads a Parquet file with parquet-go, after checking what
// its footer declares: rows × columns, and the uncompressed size of its
// column chunks (a compression bomb declares a lot, or lies and fails).
func readParquet(f io.ReaderAt, size int64, t *table, lim Limits, tick func(int64) error) error {
	pf, err := parquet.OpenFile(f, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return errs.Wrap(errs.Invalid, err, "the Parquet file is damaged or truncated: its footer could not be read")
	}
	cols := pf.Schema().Columns()
	if len(cols) > lim.MaxColumns {
		return errs.Errorf(errs.Invalid, "the Parquet file has %d columns; at most %d are read", len(cols), lim.MaxColumns)
	}
	if v := pf.NumRows() * int64(len(cols)); v > lim.MaxParquetValues {
		return errs.Errorf(errs.Invalid, "the Parquet file declares %d rows × %d columns; at most %d values are read", pf.NumRows(), len(cols), lim.MaxParquetValues)
	}
	var unpacked int64
	for _, rg := range pf.Metadata().RowGroups {
		for _, c := range rg.Columns {
			unpacked += c.MetaData.TotalUncompressedSize
		}
	}
	if unpacked > 4*lim.MaxBytes[Data] {
		return errs.Errorf(errs.Invalid, "the Parquet file's columns expand to %s; at most %s are read (a decompression bomb)", humanBytes(unpacked), humanBytes(4*lim.MaxBytes[Data]))
	}
	for _, c := range cols {
		t.column(strings.Join(c, "."))
	}
	buf := make([]parquet.Row, 256)
	cells := make([]string, len(cols))
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				clear(cells)
				for _, v := range row {
					if c := v.Column(); c >= 0 && c < len(cells) && !v.IsNull() {
						if cells[c] != "" {
							cells[c] += ", " // a repeated field: its values joined
						}
						cells[c] += cutUTF8(v.String(), 4096)
					}
				}
				t.addRow(cells)
			}
			if terr := tick(t.rows); terr != nil {
				rows.Close()
				return terr
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				rows.Close()
				return errs.Wrap(errs.Invalid, err, "the Parquet file is damaged: row %d could not be read", t.rows+1)
			}
		}
		rows.Close()
	}
	return nil
}

func describeTable(format Format, d *DataInfo) (summary, desc string) {
	what := map[Format]string{CSV: "CSV table", JSON: "JSON table", JSONL: "JSON-lines table", Parquet: "Parquet table"}[format]
	summary = fmt.Sprintf("%s, %d rows × %d columns", what, d.Rows, len(d.Columns))
	var b strings.Builder
	fmt.Fprintf(&b, "%s of %d rows with columns ", what, d.Rows)
	for i, c := range d.Columns {
		if i == 12 {
			fmt.Fprintf(&b, " and %d more", len(d.Columns)-12)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", c.Name, c.Type)
	}
	b.WriteString(".")
	if d.Market {
		b.WriteString(" It is a daily price history: market data with open, high, low and close prices.")
		for _, c := range d.Columns {
			if strings.EqualFold(c.Name, "date") && c.Min != "" {
				fmt.Fprintf(&b, " From %s to %s.", c.Min, c.Max)
			}
		}
	}
	return summary, b.String()
}

// tableText is the table in words for memory: each column's statistics and
// the first rows.
func tableText(d *DataInfo) string {
	var b strings.Builder
	for _, c := range d.Columns {
		fmt.Fprintf(&b, "Column %s: %s", c.Name, c.Type)
		if c.Min != "" {
			fmt.Fprintf(&b, " from %s to %s", c.Min, c.Max)
		}
		if c.Mean != nil {
			fmt.Fprintf(&b, ", mean %.6g", *c.Mean)
		}
		fmt.Fprintf(&b, ", %d distinct", c.Distinct)
		if c.Nulls > 0 {
			fmt.Fprintf(&b, ", %d empty", c.Nulls)
		}
		if len(c.Top) > 0 && c.Type == "text" {
			var vs []string
			for _, t := range c.Top {
				vs = append(vs, t.Value)
			}
			fmt.Fprintf(&b, "; most common: %s", strings.Join(vs, ", "))
		}
		b.WriteString(".\n")
	}
	b.WriteString("\n")
	for _, r := range d.Preview {
		b.WriteString(strings.Join(r, " | "))
		b.WriteString("\n")
	}
	return b.String()
}
