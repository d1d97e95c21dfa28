package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/mlops"
)

// The model registry's API (app/mlops): models and versions, aliases with
// their history ("which version was champion at T"), serving, live
// outcomes, canary and shadow, promotion and rollback. Every change is made
// by "user" in the audit log; promotions and rollbacks need a reason.

const webActor = "user"

// modelName is the {name} of the path.
func modelName(r *http.Request) string { return chi.URLParam(r, "name") }

// modelsList answers {"models": [...]}.
func modelsList(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ms, err := s.Registry().Models(r.Context())
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		if ms == nil {
			ms = []mlops.Model{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"models": ms})
	}
}

// modelDetail is everything the Models page shows of one model.
type modelDetail struct {
	Model      mlops.Model       `json:"model"`
	Versions   []mlops.Version   `json:"versions"`
	Deployment mlops.Deployment  `json:"deployment"`
	Live       mlops.Live        `json:"live"`
	History    []mlops.AliasMove `json:"history"`
	Events     []mlops.Event     `json:"events"`
	// Trading is the version playing in the tournament (the trading
	// policy's champion, from the round after it moved); nil for others.
	Trading *playingVersion `json:"trading,omitempty"`
}

type playingVersion struct {
	Entrant string `json:"entrant"`
	Version int    `json:"version"`
}

// playing names the version the tournament's champion entrant plays.
type playing func() (entrant string, version int)

// modelShow answers a model with its versions, deployment, live figures,
// alias history and latest decisions.
func modelShow(s *mlops.Service, champion playing) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, name := r.Context(), modelName(r)
		reg := s.Registry()
		var d modelDetail
		var err error
		if d.Model, err = reg.Model(ctx, name); err != nil {
			writeAppError(w, r, err)
			return
		}
		if d.Versions, err = reg.Versions(ctx, name); err == nil {
			if d.Deployment, err = reg.Deployment(ctx, name); err == nil {
				if d.Live, err = s.Live(ctx, name); err == nil {
					if d.History, err = reg.History(ctx, name, ""); err == nil {
						d.Events, err = reg.Events(ctx, name, 100)
					}
				}
			}
		}
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		if id, v := champion(); name == mlops.TradingModel && v != 0 {
			d.Trading = &playingVersion{Entrant: id, Version: v}
		}
		writeJSON(w, http.StatusOK, d)
	}
}

// modelVersions answers a model's versions, newest first.
func modelVersions(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		vs, err := s.Registry().Versions(r.Context(), modelName(r))
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"versions": vs})
	}
}

// modelVersion answers one version.
func modelVersion(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, ok := versionParam(w, r)
		if !ok {
			return
		}
		v, err := s.Registry().Version(r.Context(), modelName(r), n)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func versionParam(w http.ResponseWriter, r *http.Request) (int, bool) {
	p := chi.URLParam(r, "version")
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 {
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("A version is a whole number from 1, not %q.", clipParam(p)))
		return 0, false
	}
	return n, true
}

func clipParam(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// flexID is a run id sent as a number (4) or a string ("4", "j-000012").
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("a run id is a number or a string")
	}
	*f = flexID(n.String())
	return nil
}

// runSource finds the app's runs and jobs, for registering one by hand.
type runSource interface {
	RunRequest(source, id string) (mlops.RegisterRequest, error)
	RegisterAndAlias(ctx context.Context, req mlops.RegisterRequest) (mlops.Version, error)
}

const registerExample = `{"run": {"source": "marl", "id": 4}} or {"kind": "fraud-detector", "artifact": "<base64>", "alias": "challenger"}`

// modelRegister registers a new version of {name}: from a finished run or
// data job ({"run": {"source": "marl", "id": 4}}), or from an artifact sent
// in base64 within the body limit (a fraud detector is a few kB; larger
// checkpoints register from their run or with `metastation models
// register`). "alias" points an alias at it; "auto" does what a finished
// run does by itself (the champion when there is none, otherwise the
// challenger, evaluated on held-out data at once).
func modelRegister(s *mlops.Service, runs runSource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Run *struct {
				Source string `json:"source"`
				ID     flexID `json:"id"`
			} `json:"run"`
			Kind        string             `json:"kind"`
			Artifact    []byte             `json:"artifact"`
			Description string             `json:"description"`
			Seed        uint64             `json:"seed"`
			Params      map[string]string  `json:"params"`
			Metrics     map[string]float64 `json:"metrics"`
			Tags        map[string]string  `json:"tags"`
			Alias       string             `json:"alias"`
			Reason      string             `json:"reason"`
		}
		if !decodeJSON(w, r, &body, registerExample) {
			return
		}
		ctx, name := r.Context(), modelName(r)
		var req mlops.RegisterRequest
		switch {
		case body.Run != nil && body.Artifact != nil:
			writeError(w, r, http.StatusBadRequest, "Send a run or an artifact, not both.")
			return
		case body.Run != nil:
			var err error
			if req, err = runs.RunRequest(strings.ToLower(strings.TrimSpace(body.Run.Source)), string(body.Run.ID)); err != nil {
				writeAppError(w, r, err)
				return
			}
			if body.Kind != "" && body.Kind != req.Kind {
				writeError(w, r, http.StatusBadRequest, fmt.Sprintf("%s is a %s, not a %s.", req.Lineage.Run, req.Kind, clipParam(body.Kind)))
				return
			}
		case body.Artifact != nil:
			req = mlops.RegisterRequest{Kind: body.Kind, Artifact: body.Artifact, Lineage: mlops.Lineage{Source: "api", Seed: body.Seed}}
		default:
			writeError(w, r, http.StatusBadRequest, "Send the run to register or the artifact; for example "+registerExample+".")
			return
		}
		req.Model = name
		if body.Description != "" {
			req.Description = body.Description
		}
		req.Params, req.Metrics, req.Tags = merge(req.Params, body.Params), merge(req.Metrics, body.Metrics), merge(req.Tags, body.Tags)
		var v mlops.Version
		var err error
		if body.Alias == "auto" {
			v, err = runs.RegisterAndAlias(ctx, req)
		} else if v, err = s.Registry().Register(ctx, req); err == nil && body.Alias != "" {
			reason := body.Reason
			if reason == "" {
				reason = "set at registration"
			}
			_, err = s.SetAlias(ctx, name, body.Alias, v.Version, webActor, reason)
		}
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		if v, err = s.Registry().Version(ctx, name, v.Version); err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, v)
	}
}

func merge[V any](a, b map[string]V) map[string]V {
	if a == nil {
		a = map[string]V{}
	}
	for k, v := range b {
		a[k] = v
	}
	return a
}

// modelAliases answers the model's aliases and their history.
func modelAliases(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, name := r.Context(), modelName(r)
		m, err := s.Registry().Model(ctx, name)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		h, err := s.Registry().History(ctx, name, "")
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"aliases": m.Aliases, "history": h})
	}
}

// modelAlias answers the version an alias names now, or with ?at=T
// (RFC 3339, or unix milliseconds) the move in force at T: which version it
// named then, who moved it there and why. With ?history=1 it answers the
// alias's whole history.
func modelAlias(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, name, alias := r.Context(), modelName(r), chi.URLParam(r, "alias")
		q := r.URL.Query()
		if at := q.Get("at"); at != "" {
			t, err := parseAt(at)
			if err != nil {
				writeAppError(w, r, err)
				return
			}
			m, err := s.Registry().AliasAt(ctx, name, alias, t)
			if err != nil {
				writeAppError(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"model": name, "alias": alias, "at": t, "version": m.Version, "move": m})
			return
		}
		v, err := s.Registry().Resolve(ctx, name, alias)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		h, err := s.Registry().History(ctx, name, alias)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"model": name, "alias": alias, "version": v.Version, "detail": v, "history": h})
	}
}

// parseAt reads a time as RFC 3339 or unix milliseconds.
func parseAt(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.UnixMilli(n).UTC(), nil
	}
	return time.Time{}, errs.Errorf(errs.Invalid, "at is a time in RFC 3339 (2026-12-03T17:00:00Z) or unix milliseconds, not %q", clipParam(s))
}

// modelSetAlias points {alias} at {"version": 3, "reason": "..."}.
func modelSetAlias(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Version int    `json:"version"`
			Reason  string `json:"reason"`
		}
		if !decodeJSON(w, r, &body, `{"version": 3, "reason": "why"}`) {
			return
		}
		if body.Version < 1 {
			writeError(w, r, http.StatusBadRequest, "The request needs the version the alias is to name, a whole number from 1.")
			return
		}
		m, err := s.SetAlias(r.Context(), modelName(r), chi.URLParam(r, "alias"), body.Version, webActor, body.Reason)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	}
}

// modelDeleteAlias removes {alias} (?reason=...); the removal stays in its history.
func modelDeleteAlias(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, err := s.DeleteAlias(r.Context(), modelName(r), chi.URLParam(r, "alias"), webActor, r.URL.Query().Get("reason"))
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	}
}

// reasonBody reads {"reason": "..."}, which promotions and rollbacks need:
// the audit log says why every deployment changed.
func reasonBody(w http.ResponseWriter, r *http.Request, what string) (string, bool) {
	var body struct {
		Reason string `json:"reason"`
	}
	if !decodeJSON(w, r, &body, `{"reason": "why"}`) {
		return "", false
	}
	body.Reason = strings.TrimSpace(body.Reason)
	if body.Reason == "" {
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("Say why: a %s needs a reason, for example {\"reason\": \"the canary lost money on Tuesday\"}.", what))
		return "", false
	}
	if len(body.Reason) > 500 {
		writeError(w, r, http.StatusBadRequest, "A reason has at most 500 characters.")
		return "", false
	}
	return body.Reason, true
}

// modelPromote makes the challenger the champion, by hand.
func modelPromote(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		reason, ok := reasonBody(w, r, "promotion")
		if !ok {
			return
		}
		m, err := s.Promote(r.Context(), modelName(r), webActor, reason)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	}
}

// modelRollback moves an alias back to the version before its current one:
// the champion for /rollback, {alias} for /aliases/{alias}/rollback.
func modelRollback(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		alias := chi.URLParam(r, "alias")
		if alias == "" {
			alias = mlops.Champion
		}
		reason, ok := reasonBody(w, r, "rollback")
		if !ok {
			return
		}
		m, err := s.Rollback(r.Context(), modelName(r), alias, webActor, reason)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	}
}

// modelEvaluate runs the held-out test of the challenger against the
// champion ({"promote": true} promotes a significant winner).
func modelEvaluate(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Promote bool `json:"promote"`
		}
		if !decodeJSON(w, r, &body, `{"promote": false}`) {
			return
		}
		d, err := s.Evaluate(r.Context(), modelName(r), body.Promote, webActor)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, d)
	}
}

// modelPredict answers {"inputs": [[...], ...]} with the champion (the
// challenger for keys in a canary), or with "alias" or "version".
func modelPredict(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req mlops.PredictRequest
		if !decodeJSON(w, r, &req, `{"inputs": [[0.1, 2.5, ...]], "key": "customer-42"} (or with "alias": "challenger" or "version": 3)`) {
			return
		}
		resp, err := s.Predict(r.Context(), modelName(r), req)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// maxFeedback caps the outcomes of one feedback request.
const maxFeedback = 10_000

// modelFeedback reports live outcomes of answers a version gave
// ({"version": 2, "values": [1, 0, 1]}, higher is better): they feed the
// canary's sequential test, which rolls a regressing canary back.
func modelFeedback(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Version int       `json:"version"`
			Value   *float64  `json:"value"`
			Values  []float64 `json:"values"`
		}
		if !decodeJSON(w, r, &body, `{"version": 2, "values": [1, 0, 1]}`) {
			return
		}
		if body.Value != nil {
			body.Values = append(body.Values, *body.Value)
		}
		if body.Version < 1 || len(body.Values) == 0 {
			writeError(w, r, http.StatusBadRequest, `The request needs the version that answered and its outcomes, for example {"version": 2, "values": [1, 0, 1]}.`)
			return
		}
		if len(body.Values) > maxFeedback {
			writeError(w, r, http.StatusBadRequest, fmt.Sprintf("At most %d outcomes in one request.", maxFeedback))
			return
		}
		var st mlops.SequentialState
		var err error
		for _, v := range body.Values {
			if st, err = s.Feedback(r.Context(), modelName(r), body.Version, v); err != nil {
				writeAppError(w, r, err)
				return
			}
		}
		writeJSON(w, http.StatusOK, st)
	}
}

// canaryStatus is a canary's deployment and its live test.
type canaryStatus struct {
	Deployment mlops.Deployment      `json:"deployment"`
	Champion   int                   `json:"champion"`
	Challenger int                   `json:"challenger"`
	Test       mlops.SequentialState `json:"test"`
	Series     []mlops.CanaryPoint   `json:"series"`
}

func writeCanary(w http.ResponseWriter, r *http.Request, s *mlops.Service, status int) {
	l, err := s.Live(r.Context(), modelName(r))
	if err != nil {
		writeAppError(w, r, err)
		return
	}
	writeJSON(w, status, canaryStatus{Deployment: l.Deployment, Champion: l.Champion, Challenger: l.Challenger, Test: l.Canary, Series: l.Series})
}

// modelCanaryStatus answers the canary's share, state and live test.
func modelCanaryStatus(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { writeCanary(w, r, s, http.StatusOK) }
}

// modelCanaryStart starts (or re-sizes) a canary: {"share": 0.1}.
func modelCanaryStart(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Share *float64 `json:"share"`
		}
		if !decodeJSON(w, r, &body, `{"share": 0.1}`) {
			return
		}
		if body.Share == nil || *body.Share <= 0 {
			writeError(w, r, http.StatusBadRequest, `A canary needs a share of traffic above 0 and at most 0.5, for example {"share": 0.1}; DELETE the canary to stop it.`)
			return
		}
		if _, err := s.SetCanary(r.Context(), modelName(r), *body.Share, webActor); err != nil {
			writeAppError(w, r, err)
			return
		}
		writeCanary(w, r, s, http.StatusOK)
	}
}

// modelCanaryStop ends the canary: all traffic goes to the champion.
func modelCanaryStop(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.SetCanary(r.Context(), modelName(r), 0, webActor); err != nil {
			writeAppError(w, r, err)
			return
		}
		writeCanary(w, r, s, http.StatusOK)
	}
}

// shadowStatus is the shadow switch and the comparison so far.
type shadowStatus struct {
	On         bool              `json:"on"`
	Champion   int               `json:"champion"`
	Challenger int               `json:"challenger"`
	Stats      mlops.ShadowStats `json:"stats"`
}

func writeShadow(w http.ResponseWriter, r *http.Request, s *mlops.Service) {
	l, err := s.Live(r.Context(), modelName(r))
	if err != nil {
		writeAppError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, shadowStatus{On: l.Deployment.Shadow, Champion: l.Champion, Challenger: l.Challenger, Stats: l.Shadow})
}

// modelShadow answers the shadow's state and comparison.
func modelShadow(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { writeShadow(w, r, s) }
}

// modelShadowSet turns shadow traffic on (POST) or off (DELETE).
func modelShadowSet(s *mlops.Service, on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.SetShadow(r.Context(), modelName(r), on, webActor); err != nil {
			writeAppError(w, r, err)
			return
		}
		writeShadow(w, r, s)
	}
}

// modelEvents answers a model's decisions, newest first (?limit=100).
func modelEvents(s *mlops.Service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := 100
		if v := r.URL.Query().Get("limit"); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 1000 {
				writeError(w, r, http.StatusBadRequest, "limit must be a number between 1 and 1000.")
				return
			}
		}
		name := modelName(r)
		if _, err := s.Registry().Model(r.Context(), name); err != nil {
			writeAppError(w, r, err)
			return
		}
		es, err := s.Registry().Events(r.Context(), name, n)
		if err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"events": es})
	}
}

// optOuts records that a run's models must not register themselves.
type optOuts interface {
	SetOptOut(ctx context.Context, source, run string, out bool) error
}

// setOptOut opts the run id of source out of registration (or back in).
func setOptOut(ctx context.Context, o optOuts, source, id string, out bool) error {
	ref, err := mlops.RunRef(source, id)
	if err != nil {
		return err
	}
	return o.SetOptOut(ctx, source, ref, out)
}

// modelOptOut opts a run or job out of automatic registration:
// {"source": "rl", "id": 5, "opt_out": true}.
func modelOptOut(o optOuts) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Source string `json:"source"`
			ID     flexID `json:"id"`
			OptOut *bool  `json:"opt_out"`
		}
		if !decodeJSON(w, r, &body, `{"source": "rl", "id": 5, "opt_out": true}`) {
			return
		}
		out := body.OptOut == nil || *body.OptOut
		if err := setOptOut(r.Context(), o, body.Source, string(body.ID), out); err != nil {
			writeAppError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"source": body.Source, "id": body.ID, "opt_out": out})
	}
}

// modelRuns registers the app's finished runs and jobs by hand.
type modelRuns struct {
	auto *mlops.AutoRegister
	runs mlops.Runs
}

func (m modelRuns) RunRequest(source, id string) (mlops.RegisterRequest, error) {
	return m.auto.RunRequest(source, id, m.runs)
}

func (m modelRuns) RegisterAndAlias(ctx context.Context, req mlops.RegisterRequest) (mlops.Version, error) {
	return m.auto.RegisterAndAlias(ctx, req)
}

// optOutAfterStart records a run's "register": false, given when it was
// started. A failure is an internal error: the run is running, but would
// register when it finishes.
func optOutAfterStart(w http.ResponseWriter, r *http.Request, o optOuts, source, id string, register *bool) bool {
	if register == nil || *register {
		return true
	}
	if err := setOptOut(r.Context(), o, source, id, true); err != nil {
		writeAppError(w, r, fmt.Errorf("%s %s started, but its opt-out from the model registry was not saved: %w", source, id, err))
		return false
	}
	return true
}
