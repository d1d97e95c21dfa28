package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/market"
	"github.com/metastation/metastation/app/market/book"
)

// The market's HTTP API. Each function takes the market service and returns
// a thin handler: decode and validate, call the domain, encode JSON. They are
// wired in routes.go.

// marketInstruments lists the simulated instruments.
func marketInstruments(m *market.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, m.Instruments())
	}
}

// marketState returns the clock, speed, regime and quotes.
func marketState(m *market.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, m.State())
	}
}

// marketBars returns bars of one symbol. from and to are RFC 3339 times or
// Unix seconds; without them the latest limit bars up to the simulated now.
func marketBars(m *market.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		iv, err := market.ParseInterval(marketDefault(q.Get("interval"), "1m"))
		if err != nil {
			writeError(w, r, http.StatusBadRequest, sentenceOf(err))
			return
		}
		limit := 500
		if s := q.Get("limit"); s != "" {
			if limit, err = strconv.Atoi(s); err != nil {
				writeError(w, r, http.StatusBadRequest, "The limit must be a whole number.")
				return
			}
		}
		to := m.State().Time.Add(iv.Duration())
		if s := q.Get("to"); s != "" {
			if to, err = marketParseTime(s); err != nil {
				writeError(w, r, http.StatusBadRequest, "The end of the range (to): "+sentenceOf(err))
				return
			}
		}
		from := to.Add(-time.Duration(max(limit, 1)) * iv.Duration())
		if s := q.Get("from"); s != "" {
			if from, err = marketParseTime(s); err != nil {
				writeError(w, r, http.StatusBadRequest, "The start of the range (from): "+sentenceOf(err))
				return
			}
		}
		bars, err := m.Bars(r.Context(), chi.URLParam(r, "symbol"), iv, from, to, limit)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		if bars == nil {
			bars = []market.Bar{}
		}
		writeJSON(w, http.StatusOK, bars)
	}
}

// marketBook returns the current book of one symbol.
func marketBook(m *market.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		depth := 20
		if s := r.URL.Query().Get("depth"); s != "" {
			var err error
			if depth, err = strconv.Atoi(s); err != nil {
				writeError(w, r, http.StatusBadRequest, "The depth must be a whole number.")
				return
			}
		}
		snap, err := m.Book(chi.URLParam(r, "symbol"), depth)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, snap)
	}
}

// marketSpeed sets the clock's speed: {"speed": 10}; 0 is as fast as possible.
func marketSpeed(m *market.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Speed *float64 `json:"speed"`
		}
		if !marketDecode(w, r, &req) {
			return
		}
		if req.Speed == nil {
			writeError(w, r, http.StatusBadRequest, "The request needs a speed, for example {\"speed\": 10}.")
			return
		}
		if err := m.SetSpeed(*req.Speed); err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m.State())
	}
}

// marketScript forces regimes: {"script": "calm; 10:30 black_swan shock=-6; 11:00 calm"};
// an empty script hands them back to the Markov chain.
func marketScript(m *market.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Script string `json:"script"`
		}
		if !marketDecode(w, r, &req) {
			return
		}
		if err := m.SetScript(req.Script); err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m.State())
	}
}

// marketOrder sends an order from the browser:
// {"symbol":"SPX","side":"buy","type":"limit","price":5000,"qty":2}. It is
// the browser's own, booked to the account of its voter cookie (a client
// without one gets one with the answer, and its order counts as that new
// user's).
func marketOrder(m *market.Service, users *voterCookies) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, _, err := users.client(w, r)
		if err != nil {
			writeError(w, r, http.StatusForbidden, "Your browser's cookie is not valid; clear the site's cookies and try again.")
			return
		}
		var req struct {
			Symbol string  `json:"symbol"`
			Side   string  `json:"side"`
			Type   string  `json:"type"`
			Price  float64 `json:"price"`
			Qty    float64 `json:"qty"`
		}
		if !marketDecode(w, r, &req) {
			return
		}
		var side book.Side
		switch req.Side {
		case "buy":
			side = book.Buy
		case "sell":
			side = book.Sell
		default:
			writeError(w, r, http.StatusBadRequest, "The side must be \"buy\" or \"sell\".")
			return
		}
		var typ book.Type
		switch marketDefault(req.Type, "limit") {
		case "limit":
			typ = book.Limit
		case "market":
			typ = book.Market
		case "ioc":
			typ = book.IOC
		default:
			writeError(w, r, http.StatusBadRequest, "The type must be \"limit\", \"market\" or \"ioc\".")
			return
		}
		fill, err := m.SubmitAs(user, req.Symbol, side, typ, req.Price, req.Qty)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, fill)
	}
}

// marketCancel withdraws one of this browser's resting orders.
func marketCancel(m *market.Service, users *voterCookies) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, _, err := users.client(w, r)
		if err != nil {
			writeError(w, r, http.StatusForbidden, "Your browser's cookie is not valid; clear the site's cookies and try again.")
			return
		}
		id, err := strconv.ParseUint(chi.URLParam(r, "id"), 10, 64)
		if err != nil || id == 0 {
			writeError(w, r, http.StatusBadRequest, "An order id is a whole number from 1, as the order's answer gave it.")
			return
		}
		if err := m.CancelAs(user, id); err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"cancelled": id})
	}
}

// marketAccount answers this browser's orders, fills and positions with
// their P&L in dollars, setting its cookie when it has none.
func marketAccount(m *market.Service, users *voterCookies) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, _, err := users.client(w, r)
		if err != nil {
			writeError(w, r, http.StatusForbidden, "Your browser's cookie is not valid; clear the site's cookies and try again.")
			return
		}
		acc, err := m.Account(user)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, acc)
	}
}

// maxImportBytes caps an uploaded price file (Yahoo's 25 years of daily
// bars are about 450 KB).
const maxImportBytes = 32 << 20

// marketImport takes an uploaded price file (multipart form: file, symbol,
// format yahoo|alphavantage) and stores it, all or nothing. A rejected file
// answers 422 with every problem and its line number.
func marketImport(m *market.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes)
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			// A chunked body has no Content-Length for limitBody to refuse
			// up front: past the cap it is 413 as a declared one is.
			if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
				writeError(w, r, http.StatusRequestEntityTooLarge, tooLargeSentence(r, maxImportBytes))
				return
			}
			writeError(w, r, http.StatusBadRequest, "The upload must be a multipart form with a file of at most 32 MB.")
			return
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "The form has no file.")
			return
		}
		defer f.Close()
		res, err := m.Import(r.Context(), f, r.FormValue("symbol"), r.FormValue("format"))
		var ie *market.ImportError
		if errors.As(err, &ie) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
				"error":    sentenceOf(err),
				"problems": ie.Problems, // at most market.MaxProblems
				"more":     ie.More,
			})
			return
		}
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	}
}

// marketDecode reads the request body into v, answering 400 with a sentence
// when it cannot.
func marketDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeJSON(w, r, v, `{"symbol": "SPX", "side": "buy", "type": "limit", "price": 5000, "qty": 2}`)
}

func marketDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// marketParseTime reads an RFC 3339 time or Unix seconds.
func marketParseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return checkYear(time.Unix(n, 0).UTC(), s)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor Unix seconds", s)
	}
	return t, nil
}
