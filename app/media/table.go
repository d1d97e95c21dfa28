package media

import (
	"hash/maphash"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DataInfo describes a table (CSV, JSON, JSON lines, Parquet).
type DataInfo struct {
	Rows      int64      `json:"rows"`
	Columns   []Column   `json:"columns"`
	Preview   [][]string `json:"preview"` // the first rows, as text
	Delimiter string     `json:"delimiter,omitempty"`
	Header    bool       `json:"header,omitempty"` // a CSV's first row named the columns
	Ragged    int64      `json:"ragged_rows,omitempty"`
	// Market is set when the table is daily prices (a date and open, high,
	// low, close columns): the market importer can take it.
	Market bool `json:"market,omitempty"`
}

// Column is one column's inferred type and statistics.
type Column struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"` // integer, number, boolean, date, text, empty
	Nulls    int64    `json:"nulls"`
	Distinct int64    `json:"distinct"`       // estimated past distinctExact values (KMV sketch)
	Exact    bool     `json:"distinct_exact"` // Distinct is a count, not an estimate
	Min      string   `json:"min,omitempty"`
	Max      string   `json:"max,omitempty"`
	Mean     *float64 `json:"mean,omitempty"`
	Top      []Count  `json:"top,omitempty"`
}

// Count is a value and how often it occurs (Space-Saving: an upper bound
// once more distinct values were seen than counters kept).
type Count struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

const (
	previewRows  = 5
	kmvK         = 256 // hashes the distinct sketch keeps
	topCounters  = 64
	topShown     = 5
	maxCellShown = 80
)

// colStats gathers one column's figures in bounded memory.
type colStats struct {
	name  string
	nulls int64
	// Type evidence: how many non-null values parse as each type.
	n, ints, nums, bools, dates int64
	sum                         float64
	minNum, maxNum              float64
	minDate, maxDate            time.Time
	minText, maxText            string
	kmv                         []uint64 // the kmvK smallest hashes, sorted
	seed                        maphash.Seed
	top                         map[string]int // value -> index in topKeys/topCounts (Space-Saving)
	topKeys                     []string
	topCounts                   []int64
}

func newColStats(name string, seed maphash.Seed) *colStats {
	return &colStats{name: name, seed: seed, top: map[string]int{}, minNum: math.Inf(1), maxNum: math.Inf(-1)}
}

var dateLayouts = []string{"2006-01-02", time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "01/02/2006", "2006/01/02", "02.01.2006"}

func isNull(s string) bool {
	switch s {
	case "", "null", "NULL", "NA", "N/A", "n/a", "nan", "NaN", "None", "-":
		return true
	}
	return false
}

func (c *colStats) add(s string) {
	s = strings.TrimSpace(s)
	if isNull(s) {
		c.nulls++
		return
	}
	c.n++
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		c.ints++
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		c.nums++
		c.sum += f
		c.minNum, c.maxNum = math.Min(c.minNum, f), math.Max(c.maxNum, f)
	}
	if s == "true" || s == "false" || s == "TRUE" || s == "FALSE" || s == "True" || s == "False" {
		c.bools++
	}
	if len(s) >= 8 && len(s) <= 35 && (s[0] >= '0' && s[0] <= '9') {
		for _, l := range dateLayouts {
			if t, err := time.Parse(l, s); err == nil {
				c.dates++
				if c.minDate.IsZero() || t.Before(c.minDate) {
					c.minDate = t
				}
				if t.After(c.maxDate) {
					c.maxDate = t
				}
				break
			}
		}
	}
	if c.n == 1 || s < c.minText {
		c.minText = cutUTF8(s, maxCellShown)
	}
	if s > c.maxText {
		c.maxText = cutUTF8(s, maxCellShown)
	}
	c.addDistinct(s)
	c.addTop(s)
}

func (c *colStats) addDistinct(s string) {
	h := maphash.String(c.seed, s)
	if len(c.kmv) == kmvK && h >= c.kmv[len(c.kmv)-1] {
		return
	}
	i, found := slices.BinarySearch(c.kmv, h)
	if found {
		return
	}
	c.kmv = slices.Insert(c.kmv, i, h)
	if len(c.kmv) > kmvK {
		c.kmv = c.kmv[:kmvK]
	}
}

// addTop is Space-Saving (Metwally et al. 2005): a full table replaces its
// smallest counter and the newcomer inherits its count.
func (c *colStats) addTop(s string) {
	if i, ok := c.top[s]; ok {
		c.topCounts[i]++
		return
	}
	s = cutUTF8(s, maxCellShown)
	if i, ok := c.top[s]; ok {
		c.topCounts[i]++
		return
	}
	if len(c.topKeys) < topCounters {
		c.top[s] = len(c.topKeys)
		c.topKeys, c.topCounts = append(c.topKeys, s), append(c.topCounts, 1)
		return
	}
	m := 0 // the smallest counter: a scan of 64 numbers beats a heap here
	for i, v := range c.topCounts {
		if v < c.topCounts[m] {
			m = i
		}
	}
	delete(c.top, c.topKeys[m])
	c.top[s] = m
	c.topKeys[m] = s
	c.topCounts[m]++
}

func (c *colStats) column() Column {
	col := Column{Name: c.name, Nulls: c.nulls}
	switch {
	case c.n == 0:
		col.Type = "empty"
	case c.ints == c.n:
		col.Type = "integer"
	case c.nums == c.n:
		col.Type = "number"
	case c.bools == c.n:
		col.Type = "boolean"
	case c.dates == c.n:
		col.Type = "date"
	default:
		col.Type = "text"
	}
	switch col.Type {
	case "integer", "number":
		col.Min, col.Max = strconv.FormatFloat(c.minNum, 'g', 10, 64), strconv.FormatFloat(c.maxNum, 'g', 10, 64)
		m := round6(c.sum / float64(c.n))
		col.Mean = &m
	case "date":
		col.Min, col.Max = c.minDate.Format("2006-01-02"), c.maxDate.Format("2006-01-02")
	case "text", "boolean":
		col.Min, col.Max = c.minText, c.maxText
	}
	if len(c.kmv) < kmvK {
		col.Distinct, col.Exact = int64(len(c.kmv)), true
	} else {
		// KMV: the k-th smallest of n uniform hashes is near k/n of the range.
		kth := float64(c.kmv[kmvK-1]) / float64(math.MaxUint64)
		col.Distinct = int64(math.Round(float64(kmvK-1) / kth))
		col.Distinct = min(col.Distinct, c.n)
	}
	for i, k := range c.topKeys {
		col.Top = append(col.Top, Count{k, c.topCounts[i]})
	}
	sort.Slice(col.Top, func(i, j int) bool {
		if col.Top[i].Count != col.Top[j].Count {
			return col.Top[i].Count > col.Top[j].Count
		}
		return col.Top[i].Value < col.Top[j].Value
	})
	if len(col.Top) > topShown {
		col.Top = col.Top[:topShown]
	}
	if col.Exact && col.Distinct == c.n && c.n > topShown {
		col.Top = nil // every value is unique: "top values" would say nothing
	}
	return col
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// table gathers rows of text cells.
type table struct {
	cols    []*colStats
	byName  map[string]int
	rows    int64
	preview [][]string
	seed    maphash.Seed
	maxCols int
	ragged  int64
}

func newTable(maxCols int) *table {
	return &table{byName: map[string]int{}, seed: maphash.MakeSeed(), maxCols: maxCols}
}

// column returns the index of the named column, adding it; -1 past maxCols.
func (t *table) column(name string) int {
	if i, ok := t.byName[name]; ok {
		return i
	}
	if len(t.cols) >= t.maxCols {
		return -1
	}
	t.byName[name] = len(t.cols)
	t.cols = append(t.cols, newColStats(name, t.seed))
	return len(t.cols) - 1
}

// addRow adds one row whose cells are in column order (missing cells
// count as nulls).
func (t *table) addRow(cells []string) {
	for i, c := range t.cols {
		if i < len(cells) {
			c.add(cells[i])
		} else {
			c.nulls++
		}
	}
	t.rows++
	if len(t.preview) < previewRows {
		row := make([]string, len(t.cols))
		for i := range row {
			if i < len(cells) {
				row[i] = cutUTF8(cells[i], maxCellShown)
			}
		}
		t.preview = append(t.preview, row)
	}
}

func (t *table) info() *DataInfo {
	d := &DataInfo{Rows: t.rows, Preview: t.preview, Ragged: t.ragged}
	for _, c := range t.cols {
		d.Columns = append(d.Columns, c.column())
	}
	d.Market = isMarketTable(d.Columns)
	return d
}

// isMarketTable recognises daily prices: a date column and open, high, low
// and close number columns (Yahoo Finance's CSV and its kin).
func isMarketTable(cols []Column) bool {
	has := map[string]bool{}
	date := false
	for _, c := range cols {
		n := strings.ToLower(strings.TrimSpace(c.Name))
		if (n == "date" || n == "timestamp" || n == "time") && (c.Type == "date" || c.Type == "text") {
			date = true
		}
		if c.Type == "number" || c.Type == "integer" {
			has[n] = true
		}
	}
	return date && has["open"] && has["high"] && has["low"] && has["close"]
}
