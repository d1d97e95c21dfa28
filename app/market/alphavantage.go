package market

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Alpha Vantage answers every error with HTTP 200 and a JSON body holding
// one of three keys. These are the typed errors they map to.
var (
	ErrAVInvalidCall = errors.New("alpha vantage: invalid call")          // "Error Message": bad symbol, function or key
	ErrAVRateLimit   = errors.New("alpha vantage: rate limit reached")    // "Note": too many calls per minute or day
	ErrAVInformation = errors.New("alpha vantage: request not fulfilled") // "Information": premium endpoint, daily limit
)

// avError recognises an Alpha Vantage error body.
func avError(body []byte) error {
	var e struct {
		ErrorMessage string `json:"Error Message"`
		Note         string `json:"Note"`
		Information  string `json:"Information"`
	}
	if json.Unmarshal(body, &e) != nil {
		return nil
	}
	switch {
	case e.ErrorMessage != "":
		return fmt.Errorf("%w: %s", ErrAVInvalidCall, e.ErrorMessage)
	case e.Note != "":
		return fmt.Errorf("%w: %s", ErrAVRateLimit, e.Note)
	case e.Information != "":
		return fmt.Errorf("%w: %s", ErrAVInformation, e.Information)
	}
	return nil
}

// ParseAlphaVantage reads a saved TIME_SERIES_DAILY answer of Alpha Vantage,
// JSON or CSV (datatype=csv: timestamp,open,high,low,close,volume, newest
// first). Error bodies become ErrAVInvalidCall, ErrAVRateLimit or
// ErrAVInformation. AVClient fetches such answers over HTTP (only when a
// person runs `metastation market fetch`); this parses a saved or fetched
// one. The symbol comes from the JSON's meta data, when there.
func ParseAlphaVantage(r io.Reader) (Series, ImportReport, error) {
	body, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return Series{}, ImportReport{}, fmt.Errorf("read alpha vantage file: %w", err)
	}
	body = bytes.TrimPrefix(body, []byte{0xEF, 0xBB, 0xBF})
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
		if err := avError(t); err != nil {
			return Series{}, ImportReport{}, err
		}
		return parseAVJSON(t)
	}
	return parseAVCSV(body)
}

func parseAVJSON(body []byte) (Series, ImportReport, error) {
	var doc struct {
		Meta   map[string]string            `json:"Meta Data"`
		Series map[string]map[string]string `json:"Time Series (Daily)"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return Series{}, ImportReport{}, &ImportError{Problems: []LineNote{{0, "the JSON cannot be read: " + err.Error()}}}
	}
	if len(doc.Series) == 0 {
		return Series{}, ImportReport{}, &ImportError{Problems: []LineNote{{0, "the JSON has no \"Time Series (Daily)\""}}}
	}
	dates := make([]string, 0, len(doc.Series))
	for d := range doc.Series {
		dates = append(dates, d)
	}
	sort.Strings(dates)
	var b strings.Builder
	b.WriteString("Date,Open,High,Low,Close,Volume\n")
	for _, d := range dates {
		v := doc.Series[d]
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s\n", d, v["1. open"], v["2. high"], v["3. low"], v["4. close"], withZero(v["5. volume"]))
	}
	s, rep, err := ParseYahoo(strings.NewReader(b.String()))
	s.Symbol = doc.Meta["2. Symbol"]
	return s, rep, err
}

func withZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// parseAVCSV reverses the newest-first rows and reads them as Yahoo CSV.
// Line numbers in errors refer to the file as saved.
func parseAVCSV(body []byte) (Series, ImportReport, error) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	var lines []string
	for sc.Scan() {
		if l := strings.TrimRight(sc.Text(), "\r"); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) < 2 || !strings.HasPrefix(strings.ToLower(lines[0]), "timestamp,") {
		return Series{}, ImportReport{}, &ImportError{Problems: []LineNote{{1, "the header is not Alpha Vantage's timestamp,open,high,low,close,volume"}}}
	}
	rows := lines[1:]
	if len(rows) > 1 && rows[0] > rows[len(rows)-1] { // newest first: reverse
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	s, rep, err := ParseYahoo(strings.NewReader("Date" + lines[0][len("timestamp"):] + "\n" + strings.Join(rows, "\n")))
	var ie *ImportError
	if errors.As(err, &ie) && len(rows) > 1 {
		for k := range ie.Problems {
			if l := ie.Problems[k].Line; l >= 2 {
				ie.Problems[k].Line = len(rows) + 3 - l // back to the saved file's numbering
			}
		}
	}
	return s, rep, err
}
