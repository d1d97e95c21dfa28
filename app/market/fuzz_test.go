package market

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseYahoo: any bytes give either an error or a series whose dates
// ascend and whose prices are positive; nothing panics. The seeds are the
// real files of testdata and the cases that once broke the importer.
func FuzzParseYahoo(f *testing.F) {
	for _, name := range []string{"SPY-2007-2009.csv", "EURUSD-head.csv", "BTC-USD.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 4096 {
			b = b[:4096] // the head is enough to start from
		}
		f.Add(b)
	}
	f.Add([]byte("\xEF\xBB\xBFDate,Open,High,Low,Close\r\n2020-01-01,1,2,0.5,1.5\r\n2020-01-02,1,2,0.5,1.5\r\n"))
	f.Add([]byte("Datetime,Open,High,Low,Close\n2020-01-01 09:30:00-05:00,1,1,1,1\n"))
	f.Add([]byte("Date,Open,High,Low,Close\n2020-01-01,\"1,1,1,1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, rep, err := ParseYahoo(bytesReader(data))
		if err != nil {
			return
		}
		if rep.Rows != len(s.Bars) || len(s.Bars) < 2 {
			t.Fatalf("report says %d rows, series has %d", rep.Rows, len(s.Bars))
		}
		for i, b := range s.Bars {
			if !(b.Open > 0 && b.High > 0 && b.Low > 0 && b.Close > 0) {
				t.Fatalf("bar %d has a price that is not positive: %+v", i, b)
			}
			if i > 0 && !s.Bars[i-1].Time.Before(b.Time) {
				t.Fatalf("bar %d at %v does not come after %v", i, b.Time, s.Bars[i-1].Time)
			}
		}
	})
}

func bytesReader(b []byte) *bytesR { return &bytesR{b: b} }

// bytesR is a reader over b that returns it in small pieces, as a network
// upload arrives, so the line cap's bookkeeping is exercised across reads.
type bytesR struct{ b []byte }

func (r *bytesR) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 7)], r.b)
	r.b = r.b[n:]
	return n, nil
}
