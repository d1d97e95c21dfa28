package market

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/store"
)

func parseFile(t *testing.T, path string) (Series, ImportReport) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, rep, err := ParseYahoo(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s, rep
}

func TestParseYahooFixtures(t *testing.T) {
	s, rep := parseFile(t, "testdata/BTC-USD.csv")
	if rep.NullRows != 3 || !reflect.DeepEqual(rep.NullLines, []int{87, 90, 91}) {
		t.Errorf("BTC-USD null rows %d at %v, want 3 at [87 90 91]", rep.NullRows, rep.NullLines)
	}
	if rep.Rows+rep.NullRows != 366 || len(s.Bars) != rep.Rows {
		t.Errorf("BTC-USD: %d rows + %d null, want 366 in all", rep.Rows, rep.NullRows)
	}
	s, rep = parseFile(t, "testdata/SPY-2007-2009.csv") // CRLF line ends
	if rep.Rows != 756 || s.Bars[0].Time != time.Date(2007, 1, 3, 0, 0, 0, 0, time.UTC) || s.Bars[0].AdjClose == s.Bars[0].Close {
		t.Errorf("SPY: %d rows, first %+v", rep.Rows, s.Bars[0])
	}
	if _, rep = parseFile(t, "testdata/EURUSD-head.csv"); rep.Rows != 300 || len(rep.Inconsistent) != 2 || rep.Inconsistent[0].Line != 104 {
		t.Errorf("EURUSD: %d rows, inconsistent %+v; want 300 and two, at lines 104 and 246", rep.Rows, rep.Inconsistent)
	}
}

// TestParseYahooRealFiles reads every file of the real data directory when
// METASTATION_MARKET_DATA points at it (CI has no such directory).
func TestParseYahooRealFiles(t *testing.T) {
	dir := os.Getenv("METASTATION_MARKET_DATA")
	if dir == "" {
		t.Skip("set METASTATION_MARKET_DATA to the directory of real Yahoo CSV files")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	if len(files) == 0 {
		t.Fatalf("no CSV files in %s", dir)
	}
	for _, f := range files {
		_, rep := parseFile(t, f)
		t.Logf("%s: %d rows, %d null rows, %d outliers, %d inconsistent", filepath.Base(f), rep.Rows, rep.NullRows, len(rep.Outliers), len(rep.Inconsistent))
	}
}

func TestParseYahooVariants(t *testing.T) {
	tests := []struct {
		name, in string
		rows     int
		intraday bool
	}{
		{"without Adj Close", "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,100\n2024-01-03,10.5,11,10,10.8,120\n", 2, false},
		{"BOM and CRLF", "\xEF\xBB\xBFDate,Open,High,Low,Close,Adj Close,Volume\r\n2024-01-02,10,11,9,10.5,10.5,100\r\n2024-01-03,10.5,11,10,10.8,10.8,120\r\n", 2, false},
		{"intraday with zone", "Datetime,Open,High,Low,Close,Adj Close,Volume\n2024-01-02 09:30:00-05:00,10,11,9,10.5,10.5,100\n2024-01-02 09:31:00-05:00,10.5,11,10,10.8,10.8,120\n", 2, true},
		{"null rows and a blank line", "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,10,11,9,10.5,10.5,100\n2024-01-03,null,null,null,null,null,null\n\n2024-01-04,10.5,11,10,10.8,10.8,120\n", 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, rep, err := ParseYahoo(strings.NewReader(tc.in))
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				return
			}
			if rep.Rows != tc.rows || s.Intraday != tc.intraday {
				t.Errorf("%s: %d rows intraday=%v", tc.name, rep.Rows, s.Intraday)
			}
		})
	}
	s, _, _ := ParseYahoo(strings.NewReader(tests[2].in))
	if want := time.Date(2024, 1, 2, 14, 30, 0, 0, time.UTC); !s.Bars[0].Time.Equal(want) {
		t.Errorf("intraday time %s, want %s", s.Bars[0].Time, want)
	}
}

func TestParseYahooRejects(t *testing.T) {
	const h = "Date,Open,High,Low,Close,Adj Close,Volume\n"
	const ok1 = "2024-01-02,10,11,9,10.5,10.5,100\n"
	tests := []struct{ name, in, want string }{
		{"empty", "", "empty"},
		{"no date column", "Day,Open,High,Low,Close\n", "no Date"},
		{"no close column", "Date,Open,High,Low\n", "no Close"},
		{"high below low", h + ok1 + "2024-01-03,10,9,11,10.5,10.5,100\n", "line 3: High 9 is below Low 11"},
		{"duplicate date", h + ok1 + ok1, "line 3: the date 2024-01-02 repeats line 2"},
		{"unsorted", h + "2024-01-05,10,11,9,10.5,10.5,100\n" + ok1, "line 3: the date 2024-01-02 comes before the 2024-01-05 of line 2"},
		{"not a number", h + ok1 + "2024-01-03,10,eleven,9,10.5,10.5,100\n", "line 3: High \"eleven\" is not a number"},
		{"bad date", h + ok1 + "03/01/2024,10,11,9,10.5,10.5,100\n", "line 3: the date \"03/01/2024\" is not like"},
		{"short line", h + ok1 + "2024-01-03,10,11\n", "line 3: has 3 fields"},
		{"negative price", h + ok1 + "2024-01-03,-10,11,9,10.5,10.5,100\n", "line 3: prices must be positive"},
		{"only one row", h + ok1, "at least 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseYahoo(strings.NewReader(tc.in))
			var ie *ImportError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: got %v, want an ImportError containing %q", tc.name, err, tc.want)
			}
		})
	}
	// Every problem is reported, not just the first.
	_, _, err := ParseYahoo(strings.NewReader(h + ok1 + "2024-01-03,10,9,11,12,12,100\n2024-01-04,x,11,9,10,10,1\n"))
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Problems) != 2 {
		t.Errorf("two bad lines: %v", err)
	}
	// Inconsistent OHLC is reported, not rejected.
	_, rep, err := ParseYahoo(strings.NewReader(h + ok1 + "2024-01-03,10,11,9,12,12,100\n2024-01-04,10,11,10.2,10.5,10.5,100\n"))
	if err != nil || len(rep.Inconsistent) != 2 || rep.Inconsistent[0].Msg != "High 11 is below Close 12" || rep.Inconsistent[1].Line != 4 {
		t.Errorf("inconsistent rows: %+v, %v", rep.Inconsistent, err)
	}
}

func TestOutliersFlagged(t *testing.T) {
	var b strings.Builder
	b.WriteString("Date,Open,High,Low,Close\n")
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	px := 100.0
	for k := range 300 {
		switch {
		case k == 150:
			px *= 0.6
		case k%2 == 0:
			px *= 1.01
		default:
			px /= 1.009
		}
		b.WriteString(day.AddDate(0, 0, k).Format(time.DateOnly) + ",")
		f := strconv.FormatFloat(px, 'f', 6, 64)
		b.WriteString(f + "," + f + "," + f + "," + f + "\n")
	}
	_, rep, err := ParseYahoo(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Outliers) != 1 || rep.Outliers[0].Line != 152 {
		t.Errorf("outliers %+v, want one at line 152", rep.Outliers)
	}
}

func TestImportSeriesAndExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "m.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, _ := parseFile(t, "testdata/BTC-USD.csv")
	s.Symbol = "BTC-USD"
	if err := ImportSeries(ctx, db.W, s); err != nil {
		t.Fatal(err)
	}
	var n int
	db.R.QueryRow(`SELECT count(*) FROM market_series WHERE symbol = 'BTC-USD'`).Scan(&n)
	if n != len(s.Bars) {
		t.Errorf("%d rows in the database, want %d", n, len(s.Bars))
	}
	bars := make([]Bar, len(s.Bars))
	for k, b := range s.Bars {
		bars[k] = Bar{Interval: Day, Time: b.Time, Open: b.Open, High: b.High, Low: b.Low, Close: b.Close, Volume: b.Volume}
	}
	var buf bytes.Buffer
	if err := WriteYahoo(&buf, bars); err != nil {
		t.Fatal(err)
	}
	back, rep, err := ParseYahoo(&buf)
	if err != nil || rep.Rows != len(s.Bars) || back.Bars[10].Close != s.Bars[10].Close {
		t.Errorf("round trip: %d rows, %v", rep.Rows, err)
	}
}
