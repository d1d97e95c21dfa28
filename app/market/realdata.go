package market

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FileFacts are the stylized facts of one real file.
type FileFacts struct {
	File string `json:"file"`
	Facts
}

// DaysPerYearOf guesses the year length of a file's instrument from its
// name: 365 for crypto (BTC, ETH, ...-USD coins), 260 for FX pairs, else 252.
func DaysPerYearOf(name string) float64 {
	n := strings.ToUpper(name)
	switch {
	case strings.HasPrefix(n, "BTC") || strings.HasPrefix(n, "ETH") || strings.HasPrefix(n, "SOL"):
		return 365
	case len(n) >= 6 && (strings.Contains(n, "USD") || strings.Contains(n, "EUR") || strings.Contains(n, "JPY")) && !strings.Contains(n, "-"):
		return 260
	}
	return 252
}

// RealFacts reads every Yahoo CSV in dir and computes its stylized facts
// from the adjusted close, sorted by file name.
func RealFacts(dir string) ([]FileFacts, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.csv"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no CSV files in %s", dir)
	}
	sort.Strings(files)
	var out []FileFacts
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		s, _, err := ParseYahoo(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		name := strings.TrimSuffix(filepath.Base(path), ".csv")
		facts, err := ComputeFacts(s.Returns(), DaysPerYearOf(name))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		facts.ACFR, facts.ACFAbs = nil, nil // keep the summary short
		out = append(out, FileFacts{File: name, Facts: facts})
	}
	return out, nil
}
