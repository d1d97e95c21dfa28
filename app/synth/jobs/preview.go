package jobs

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/synth"
)

// Preview is the first rows of a finished job's file, as text.
type Preview struct {
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// MaxPreview is the most rows Preview returns.
const MaxPreview = 1000

// MaxPreviewBytes is the most of a job's file a preview reads: its rows are
// a few hundred bytes, so 1,000 of them fit many times over, and a file
// that was changed on disk (one endless line, say) cannot make a preview
// hold it all in memory.
const MaxPreviewBytes = 4 << 20

// errPreviewCap is what the capped reader returns past MaxPreviewBytes.
var errPreviewCap = errors.New("preview read cap reached")

// cappedReader reads at most n bytes of r, then fails with errPreviewCap.
type cappedReader struct {
	r io.Reader
	n int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errPreviewCap
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	k, err := c.r.Read(p)
	c.n -= int64(k)
	return k, err
}

// Preview reads the first n rows of a finished job's file.
func (s *Service) Preview(id string, n int) (*Preview, error) {
	if n < 1 || n > MaxPreview {
		return nil, errs.Errorf(errs.Invalid, "preview takes 1 to %d rows, got %d", MaxPreview, n)
	}
	path, err := s.Path(id)
	if err != nil {
		return nil, err
	}
	st, _ := s.Job(id)
	cols, err := synth.Columns(st.Spec.Kind)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open job file: %w", err)
	}
	defer f.Close()
	p, err := readPreview(f, st.Spec.Format, cols, n)
	if errors.Is(err, errPreviewCap) {
		return nil, errs.Errorf(errs.TooLarge, "the first %d rows of job %s take more than the %d MB a preview reads, so the file is not as the job wrote it; download it to look at it", n, id, MaxPreviewBytes>>20)
	}
	return p, err
}

// readPreview reads the first n rows of a job's file f in format. Text
// formats are read through a cap of MaxPreviewBytes; a Parquet file is
// read by row group, whose size the writer bounds.
func readPreview(f *os.File, format string, cols []string, n int) (*Preview, error) {
	p := &Preview{Columns: cols}
	text := &cappedReader{r: f, n: MaxPreviewBytes}
	switch format {
	case "jsonl":
		dec := json.NewDecoder(bufio.NewReader(text))
		dec.UseNumber()
		for len(p.Rows) < n {
			var m map[string]any
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("read job file: %w", err)
			}
			row := make([]string, len(cols))
			for i, c := range cols {
				if v := m[c]; v != nil {
					row[i] = fmt.Sprint(v)
				}
			}
			p.Rows = append(p.Rows, row)
		}
	case "parquet":
		r := parquet.NewGenericReader[synth.ParquetTransaction](f)
		defer r.Close()
		rows := make([]synth.ParquetTransaction, n)
		k, err := r.Read(rows)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read job file: %w", err)
		}
		for _, t := range rows[:k] {
			dev := ""
			if t.DeviceID != nil {
				dev = strconv.FormatInt(*t.DeviceID, 10)
			}
			p.Rows = append(p.Rows, []string{
				strconv.FormatInt(t.ID, 10), time.UnixMicro(t.Time).UTC().Format(time.RFC3339),
				strconv.FormatInt(t.CustomerID, 10), strconv.FormatInt(t.AccountID, 10), strconv.FormatInt(t.CardID, 10),
				strconv.FormatInt(int64(t.MerchantID), 10), dev, t.Category, t.Channel,
				strconv.FormatFloat(t.Amount, 'f', 2, 64), t.City,
				strconv.FormatFloat(float64(t.Lat), 'f', 4, 32), strconv.FormatFloat(float64(t.Lon), 'f', 4, 32),
				map[bool]string{true: "1", false: "0"}[t.IsFraud], t.FraudType,
			})
		}
	default:
		r := csv.NewReader(bufio.NewReader(text))
		if _, err := r.Read(); err != nil { // the header
			return nil, fmt.Errorf("read job file: %w", err)
		}
		for len(p.Rows) < n {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read job file: %w", err)
			}
			p.Rows = append(p.Rows, rec)
		}
	}
	return p, nil
}
