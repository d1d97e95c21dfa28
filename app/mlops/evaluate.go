package mlops

import (
	"bytes"
	"context"
	"fmt"
	"math"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/synth"
	"github.com/metastation/metastation/app/synth/detect"
)

// PromotionConfig sets the held-out evaluation that decides a promotion.
type PromotionConfig struct {
	Alpha    float64 // one-sided level of the paired t-test; default 0.05
	MinN     int     // least held-out units (episodes, rows) for a decision; default 30
	Episodes int     // held-out episodes for policies; default 60
	Rows     int     // held-out transactions for fraud detectors; default 30,000
	// Seed draws the held-out episodes and data. The default, 7_340_033,
	// is a seed no training run of the app uses (they use small seeds).
	Seed uint64
}

func (c PromotionConfig) withDefaults() PromotionConfig {
	if c.Alpha <= 0 {
		c.Alpha = 0.05
	}
	if c.MinN <= 0 {
		c.MinN = 30
	}
	if c.Episodes <= 0 {
		c.Episodes = 60
	}
	if c.Rows <= 0 {
		c.Rows = 30_000
	}
	if c.Seed == 0 {
		c.Seed = 7_340_033
	}
	return c
}

// Evaluator scores a champion and a challenger artifact on the same
// held-out units, higher being better, and names the unit.
type Evaluator func(ctx context.Context, champion, challenger []byte) (a, b []float64, unit string, err error)

// Evaluators returns the held-out evaluation of each model kind.
func Evaluators(cfg PromotionConfig) map[string]Evaluator {
	cfg = cfg.withDefaults()
	return map[string]Evaluator{
		KindFraud: func(ctx context.Context, a, b []byte) ([]float64, []float64, string, error) {
			return evalFraud(ctx, cfg, a, b)
		},
		KindTrading: func(ctx context.Context, a, b []byte) ([]float64, []float64, string, error) {
			return evalTrading(cfg, a, b)
		},
		KindRL: func(ctx context.Context, a, b []byte) ([]float64, []float64, string, error) { return evalRL(cfg, a, b) },
	}
}

// evalFraud scores both detectors on transactions generated from the
// held-out seed: per row, the log-likelihood of its label (minus the log
// loss).
func evalFraud(ctx context.Context, cfg PromotionConfig, a, b []byte) ([]float64, []float64, string, error) {
	da, err := DecodeDetector(a)
	if err != nil {
		return nil, nil, "", err
	}
	db, err := DecodeDetector(b)
	if err != nil {
		return nil, nil, "", err
	}
	txs, err := synth.Transactions(synth.Config{Seed: cfg.Seed, Rows: cfg.Rows, Workers: 1})
	if err != nil {
		return nil, nil, "", fmt.Errorf("held-out transactions: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, "", err
	}
	d := len(detect.FeatureNames())
	if len(da.Features) != d || len(db.Features) != d {
		return nil, nil, "", errs.Errorf(errs.Conflict, "the detectors take %d and %d features; today's features are %d", len(da.Features), len(db.Features), d)
	}
	feats := detect.Features(txs)
	sa, sb := make([]float64, len(txs)), make([]float64, len(txs))
	for i := range txs {
		row := feats[i*d : (i+1)*d]
		y := txs[i].IsFraud()
		sa[i], sb[i] = logLik(da.Score(row), y), logLik(db.Score(row), y)
	}
	return sa, sb, "held-out transaction (log-likelihood of its label)", nil
}

func logLik(p float64, fraud bool) float64 {
	p = min(max(p, 1e-7), 1-1e-7)
	if fraud {
		return math.Log(p)
	}
	return math.Log(1 - p)
}

// evalTrading plays both learners greedily on the same held-out episodes
// of the champion's trading world and returns the team returns.
func evalTrading(cfg PromotionConfig, a, b []byte) ([]float64, []float64, string, error) {
	qa, _, err := marl.LoadQMIX(bytes.NewReader(a))
	if err != nil {
		return nil, nil, "", err
	}
	qb, _, err := marl.LoadQMIX(bytes.NewReader(b))
	if err != nil {
		return nil, nil, "", err
	}
	ea, oka := qa.Env.(*marl.TradingMA)
	eb, okb := qb.Env.(*marl.TradingMA)
	if !oka || !okb || ea.N != eb.N || ea.Window != eb.Window {
		return nil, nil, "", errs.Errorf(errs.Conflict, "the two learners play different trading worlds and cannot be compared on the same episodes")
	}
	ra := marl.EvaluateTeam(ea, qa, cfg.Episodes, cfg.Seed, true)
	rb := marl.EvaluateTeam(ea, qb, cfg.Episodes, cfg.Seed, true)
	return ra, rb, "held-out trading episode (team return)", nil
}

// evalRL runs both policies on the same held-out episodes of the
// champion's environment.
func evalRL(cfg PromotionConfig, a, b []byte) ([]float64, []float64, string, error) {
	pa, err := loadRL(a)
	if err != nil {
		return nil, nil, "", err
	}
	pb, err := loadRL(b)
	if err != nil {
		return nil, nil, "", err
	}
	ca, _ := rl.ReadCheckpoint(bytes.NewReader(a))
	env := ca.Spec().Env
	if cb, _ := rl.ReadCheckpoint(bytes.NewReader(b)); cb.Spec().Env != env {
		return nil, nil, "", errs.Errorf(errs.Conflict, "the policies were trained on %s and %s and cannot be compared", env, cb.Spec().Env)
	}
	ra, err := rl.Evaluate(pa.(*rlPredictor).pol, env, cfg.Episodes, cfg.Seed)
	if err != nil {
		return nil, nil, "", err
	}
	rb, err := rl.Evaluate(pb.(*rlPredictor).pol, env, cfg.Episodes, cfg.Seed)
	if err != nil {
		return nil, nil, "", err
	}
	return ra, rb, "held-out " + env + " episode (return)", nil
}

// Decision is the outcome of a held-out evaluation.
type Decision struct {
	Model      string     `json:"model"`
	Champion   int        `json:"champion"`
	Challenger int        `json:"challenger"`
	Unit       string     `json:"unit"`
	Test       PairedTest `json:"test"`
	Promoted   bool       `json:"promoted"`
	Event      Event      `json:"event"`
}

// Evaluate compares the challenger with the champion on held-out data with
// a one-sided paired t-test (at least MinN units). When promote is set and
// the challenger is significantly better, it becomes the champion. Either
// way the decision and its statistics are logged. When Config.MaxEvaluations
// are already running it refuses at once (errs.Busy): a person asking
// gets an answer now, not a request that hangs behind others.
func (s *Service) Evaluate(ctx context.Context, model string, promote bool, actor string) (Decision, error) {
	return s.evaluate(ctx, model, promote, actor, false)
}

// EvaluateWhenFree is Evaluate for the service's own evaluations (a new
// challenger, a canary that passed): at the cap it waits for a free slot,
// or for ctx to end.
func (s *Service) EvaluateWhenFree(ctx context.Context, model string, promote bool, actor string) (Decision, error) {
	return s.evaluate(ctx, model, promote, actor, true)
}

// acquireEval takes an evaluation slot; release gives it back. Without
// wait, a full set of slots is an errs.Busy sentence naming the cap and
// the flag that sets it.
func (s *Service) acquireEval(ctx context.Context, wait bool) (release func(), err error) {
	release = func() { <-s.evalSlots }
	select {
	case s.evalSlots <- struct{}{}:
		return release, nil
	default:
	}
	if !wait {
		n := cap(s.evalSlots)
		return nil, errs.Errorf(errs.Busy, "%d held-out %s already running, the most the server runs at once (serve --max-evaluations sets it); wait a few seconds for %s to finish, then ask again",
			n, plural(n, "evaluation is", "evaluations are"), plural(n, "it", "one"))
	}
	select {
	case s.evalSlots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (s *Service) evaluate(ctx context.Context, model string, promote bool, actor string, wait bool) (Decision, error) {
	r, err := s.route(ctx, model)
	if err != nil {
		return Decision{}, err
	}
	dec := Decision{Model: model, Champion: r.aliases[Champion], Challenger: r.aliases[Challenger]}
	if dec.Champion == 0 || dec.Challenger == 0 || dec.Champion == dec.Challenger {
		return dec, errs.Errorf(errs.Conflict, "an evaluation needs a champion and a different challenger; model %s has champion %s and challenger %s", model, versionOrNone(dec.Champion), versionOrNone(dec.Challenger))
	}
	eval, ok := s.evals[r.kind]
	if !ok {
		return dec, errs.Errorf(errs.Unavailable, "there is no held-out evaluation for %s models", r.kind)
	}
	release, err := s.acquireEval(ctx, wait)
	if err != nil {
		return dec, err
	}
	defer release()
	_, a, err := s.reg.Artifact(ctx, model, dec.Champion)
	if err != nil {
		return dec, err
	}
	_, b, err := s.reg.Artifact(ctx, model, dec.Challenger)
	if err != nil {
		return dec, err
	}
	sa, sb, unit, err := eval(ctx, a, b)
	if err != nil {
		return dec, fmt.Errorf("evaluate %s: %w", model, err)
	}
	p := s.cfg.Promotion
	dec.Unit, dec.Test = unit, NewPairedTest(sa, sb, p.Alpha, p.MinN)
	t := dec.Test
	stats := map[string]any{"test": "one-sided paired t", "unit": unit, "seed": p.Seed, "paired": t,
		"champion_mean": mean(sa), "challenger_mean": mean(sb), "champion": dec.Champion, "challenger": dec.Challenger}
	what := fmt.Sprintf("challenger v%d against champion v%d on %d held-out units: mean difference %+.4g (95 %% CI %+.4g to %+.4g), t %.2f, p %.4f (α %.2f)",
		dec.Challenger, dec.Champion, t.N, t.Mean, t.CILow, t.CIHigh, t.T, t.P, t.Alpha)
	kind, decision := "hold", "held: "+what
	if t.Passed && promote {
		m, err := s.reg.SetAliasIf(ctx, model, Champion, dec.Challenger, dec.Champion, actor, "won the held-out evaluation")
		if err != nil {
			return dec, err
		}
		dec.Promoted = true
		kind, decision = "promote", "promoted: "+what
		s.forget(model)
		s.settle(ctx, model)
		if s.bus != nil && s.reg.rep == nil { // replicated: ApplyReplicated publishes, on every node
			TopicAliases.Publish(s.bus, "mlops", "", "promote", m)
		}
	} else if t.Passed {
		decision = "would promote (not asked to): " + what
	}
	if t.N < t.MinN {
		decision += fmt.Sprintf("; too few units (at least %d)", t.MinN)
	}
	dec.Event, err = s.reg.AddEvent(ctx, Event{Model: model, Kind: kind, Actor: actor, Decision: decision, Stats: stats})
	if err != nil {
		return dec, err
	}
	if s.bus != nil {
		TopicEvents.Publish(s.bus, "mlops", "", kind, dec.Event)
	}
	return dec, nil
}

func mean(xs []float64) float64 {
	var r Running
	for _, x := range xs {
		r.Add(x)
	}
	return r.Mean
}
