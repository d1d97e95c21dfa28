package market

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAlphaVantage(t *testing.T) {
	js := `{"Meta Data":{"1. Information":"Daily Prices","2. Symbol":"IBM"},
	"Time Series (Daily)":{
	 "2024-01-03":{"1. open":"161.0","2. high":"161.7","3. low":"160.1","4. close":"160.1","5. volume":"4086000"},
	 "2024-01-02":{"1. open":"162.8","2. high":"163.3","3. low":"161.3","4. close":"161.5","5. volume":"3825000"}}}`
	s, rep, err := ParseAlphaVantage(strings.NewReader(js))
	if err != nil || s.Symbol != "IBM" || rep.Rows != 2 || s.Bars[0].Close != 161.5 {
		t.Fatalf("JSON: %+v %+v %v", s, rep, err)
	}
	csv := "timestamp,open,high,low,close,volume\r\n2024-01-04,160,161,159,160.5,100\r\n2024-01-03,161.0,161.7,160.1,160.1,4086000\r\n2024-01-02,162.8,163.3,161.3,161.5,3825000\r\n"
	s, rep, err = ParseAlphaVantage(strings.NewReader(csv))
	if err != nil || rep.Rows != 3 || s.Bars[0].Time.Day() != 2 || s.Bars[2].Close != 160.5 {
		t.Fatalf("CSV: %+v %+v %v", s, rep, err)
	}
	bad := "timestamp,open,high,low,close,volume\n2024-01-04,160,161,159,160.5,100\n2024-01-03,161,x,160,160,1\n2024-01-02,162.8,163.3,161.3,161.5,3825000\n"
	if _, _, err := ParseAlphaVantage(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 3:") {
		t.Errorf("bad CSV: %v, want the error on line 3 of the file", err)
	}
	errs := []struct {
		name string
		body string
		want error
	}{
		{"invalid call", `{"Error Message":"Invalid API call."}`, ErrAVInvalidCall},
		{"rate limit", `{"Note":"Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute."}`, ErrAVRateLimit},
		{"information", `{"Information":"The **demo** API key is for demo purposes only."}`, ErrAVInformation},
	}
	for _, e := range errs {
		t.Run(e.name, func(t *testing.T) {
			if _, _, err := ParseAlphaVantage(strings.NewReader(e.body)); !errors.Is(err, e.want) {
				t.Errorf("%s: got %v, want %v", e.body, err, e.want)
			}
		})
	}
}
