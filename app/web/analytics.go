package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/analytics"
)

// The analytics HTTP API: thin handlers over the analytics service, wired in
// routes.go.

// SeriesResponse is a series' points, as GET /api/analytics/series/{name} returns them.
type SeriesResponse struct {
	Key    string            `json:"key"`
	Name   string            `json:"name"`
	Labels analytics.Labels  `json:"labels"`
	From   time.Time         `json:"from"`
	To     time.Time         `json:"to"`
	Points []analytics.Point `json:"points"`
}

// ForecastResponse is the recent history of a series and its forecast.
type ForecastResponse struct {
	SeriesResponse
	StepMs   int64               `json:"step_ms"`  // spacing of the forecast points
	Times    []int64             `json:"times_ms"` // of the forecast points
	Horizon  int                 `json:"horizon"`
	Forecast *analytics.Forecast `json:"forecast"`
}

// analyticsRangeQuery is what every series request says: dimensions and a range.
type analyticsRangeQuery struct {
	labels   analytics.Labels
	from, to time.Time
	points   int
}

// parseAnalyticsRange reads the dimensions (any of analytics.Dimensions), the range
// (range=15m back from now, or from= and to= as RFC 3339 or Unix
// milliseconds) and points= (the most points to return, 1..10000).
func parseAnalyticsRange(q url.Values, now time.Time, defPoints int) (analyticsRangeQuery, error) {
	rq := analyticsRangeQuery{labels: analytics.Labels{}, to: now, points: defPoints}
	for _, d := range analytics.Dimensions {
		if v := q.Get(d); v != "" {
			rq.labels[d] = v
		}
	}
	for k := range q {
		if !knownAnalyticsParam(k) {
			return rq, fmt.Errorf("%q is not a parameter; use a dimension (%s), range, from, to, points or horizon",
				k, strings.Join(analytics.Dimensions, ", "))
		}
	}
	rq.from = now.Add(-15 * time.Minute)
	if v := q.Get("range"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 366*24*time.Hour {
			return rq, fmt.Errorf("range %q is not a duration between 1s and a year, such as 15m or 24h", v)
		}
		rq.from = now.Add(-d)
	}
	var err error
	if v := q.Get("from"); v != "" {
		if rq.from, err = parseAnalyticsTime(v); err != nil {
			return rq, fmt.Errorf("from: %w", err)
		}
	}
	if v := q.Get("to"); v != "" {
		if rq.to, err = parseAnalyticsTime(v); err != nil {
			return rq, fmt.Errorf("to: %w", err)
		}
	}
	if rq.to.Before(rq.from) {
		return rq, errors.New("the range ends before it starts")
	}
	if v := q.Get("points"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return rq, fmt.Errorf("points %q is not a whole number from 1 to 10000", v)
		}
		rq.points = n
	}
	return rq, nil
}

func knownAnalyticsParam(param string) bool {
	switch param {
	case "range", "from", "to", "points", "horizon", "prefix", "period":
		return true
	}
	for _, d := range analytics.Dimensions {
		if d == param {
			return true
		}
	}
	return false
}

func parseAnalyticsTime(v string) (time.Time, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return checkYear(time.UnixMilli(ms), v)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-01-02T15:04:05Z) nor Unix milliseconds", v)
	}
	return t, nil
}

// checkYear refuses a time JSON cannot carry: encoding/json fails on years
// outside 0-9999, after the 200 was already written (an empty body).
func checkYear(t time.Time, raw string) (time.Time, error) {
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, fmt.Errorf("%q is not a time between the years 1 and 9999", raw)
	}
	return t, nil
}

// analyticsList lists the series, filtered by name prefix and dimensions.
func analyticsList(a *analytics.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rq, err := parseAnalyticsRange(r.URL.Query(), time.Now(), 0)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, sentenceOf(err))
			return
		}
		writeJSON(w, http.StatusOK, a.Registry.List(r.URL.Query().Get("prefix"), rq.labels))
	}
}

// analyticsQuery returns one series' points in a range.
func analyticsQuery(a *analytics.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := chi.URLParam(r, "name")
		rq, err := parseAnalyticsRange(r.URL.Query(), time.Now(), 1000)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, sentenceOf(err))
			return
		}
		pts, err := a.Registry.Query(r.Context(), name, rq.labels, rq.from, rq.to, rq.points)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, SeriesResponse{Key: analytics.Key(name, rq.labels), Name: name, Labels: rq.labels,
			From: rq.from, To: rq.to, Points: nonNilPoints(pts)})
	}
}

// analyticsForecast forecasts a series from its points in the range
// (downsampled to points=, default 240) for horizon= steps (default a sixth
// of the points), with the model that validates best.
func analyticsForecast(a *analytics.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := chi.URLParam(r, "name")
		q := r.URL.Query()
		rq, err := parseAnalyticsRange(q, time.Now(), 240)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, sentenceOf(err))
			return
		}
		if rq.points > 2000 {
			writeError(w, r, http.StatusBadRequest, "A forecast reads at most 2000 points.")
			return
		}
		horizon := max(1, rq.points/6)
		if v := q.Get("horizon"); v != "" {
			if horizon, err = strconv.Atoi(v); err != nil || horizon < 1 || horizon > 500 {
				writeError(w, r, http.StatusBadRequest, fmt.Sprintf("Horizon %q is not a whole number from 1 to 500.", v))
				return
			}
		}
		period := 0
		if v := q.Get("period"); v != "" {
			if period, err = strconv.Atoi(v); err != nil || period < 0 || period > 1000 {
				writeError(w, r, http.StatusBadRequest, fmt.Sprintf("Period %q is not a whole number from 0 to 1000.", v))
				return
			}
		}
		pts, err := a.Registry.Query(r.Context(), name, rq.labels, rq.from, rq.to, rq.points)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		y := make([]float64, len(pts))
		for i, p := range pts {
			y[i] = p.V
		}
		f, err := analytics.Select(y, analytics.SelectOptions{Horizon: horizon, Period: period})
		if err != nil {
			if errors.Is(err, analytics.ErrTooShort) {
				writeError(w, r, http.StatusUnprocessableEntity, sentenceOf(fmt.Errorf("this series cannot be forecast yet: %w", err)))
				return
			}
			writeError(w, r, http.StatusBadRequest, sentenceOf(err))
			return
		}
		// Forecast times: the median spacing of the points after the last.
		step := analyticsStep(pts)
		times := make([]int64, horizon)
		for i := range times {
			times[i] = pts[len(pts)-1].T + int64(i+1)*step
		}
		writeJSON(w, http.StatusOK, ForecastResponse{
			SeriesResponse: SeriesResponse{Key: analytics.Key(name, rq.labels), Name: name, Labels: rq.labels,
				From: rq.from, To: rq.to, Points: pts},
			StepMs: step, Times: times, Horizon: horizon, Forecast: f})
	}
}

func analyticsStep(pts []analytics.Point) int64 {
	d := make([]int64, 0, len(pts))
	for i := 1; i < len(pts); i++ {
		d = append(d, pts[i].T-pts[i-1].T)
	}
	if len(d) == 0 {
		return 1000
	}
	for i := 1; i < len(d); i++ { // insertion sort: a few hundred values
		for j := i; j > 0 && d[j] < d[j-1]; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
	return max(1, d[len(d)/2])
}

// analyticsNetwork returns the agent network's current snapshot.
func analyticsNetwork(a *analytics.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// A read-only peek: a snapshot would reset the pulses the page draws.
		writeJSON(w, http.StatusOK, a.Graph.Peek(time.Now()))
	}
}

// analyticsAgent returns one agent's details and recent messages.
func analyticsAgent(a *analytics.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := url.PathUnescape(chi.URLParam(r, "id"))
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "The agent id is not a valid URL path element.")
			return
		}
		d, ok := a.Graph.Agent(id, time.Now())
		if !ok {
			writeError(w, r, http.StatusNotFound, fmt.Sprintf("No agent %q has been seen on the bus in the last minute.", id))
			return
		}
		writeJSON(w, http.StatusOK, d)
	}
}

func nonNilPoints(p []analytics.Point) []analytics.Point {
	if p == nil {
		return []analytics.Point{}
	}
	return p
}
