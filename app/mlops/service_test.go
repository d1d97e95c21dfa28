package mlops

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/synth"
	"github.com/metastation/metastation/app/synth/detect"
)

// tradingArtifact trains a small VDN learner of the trading world (as the
// multi-agent trainer does, with fewer episodes) and returns its checkpoint.
func tradingArtifact(t testing.TB, seed uint64, episodes int) []byte {
	t.Helper()
	cfg := marl.DefaultQMIXConfig("trading-ma", "vdn")
	cfg.Seed, cfg.Episodes, cfg.BatchSize, cfg.Hidden, cfg.EpsAnnealSteps = seed, episodes, 8, []int{32}, 1000
	env := marl.NewTradingMA()
	env.Horizon = 30
	q, err := marl.NewQMIXEnv(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	for !q.Done() {
		q.Run()
	}
	var buf bytes.Buffer
	if err := marl.SaveQMIX(&buf, q, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func startService(t *testing.T, cfg Config) (*Service, *bus.Bus) {
	t.Helper()
	r, _ := openRegistry(t, nil)
	b := bus.New()
	s := NewService(r, cfg, b, quiet())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, b
}

func featureRows(n int, seed uint64) [][]float64 {
	d := len(detect.FeatureNames())
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = make([]float64, d)
		for j := range rows[i] {
			rows[i][j] = math.Sin(float64(seed) + float64(i*d+j))
		}
	}
	return rows
}

// The fraud detector and the trading policy answer through the server,
// batched answers equal one-by-one answers, and bad requests get clear
// errors.
func TestPredict(t *testing.T) {
	s, _ := startService(t, Config{})
	ctx := t.Context()
	reg := s.Registry()
	register(t, reg, "fraud", 1)
	if _, err := s.SetAlias(ctx, "fraud", Champion, 1, "user", ""); err != nil {
		t.Fatal(err)
	}
	tv, err := reg.Register(ctx, RegisterRequest{Model: "trading", Kind: KindTrading, Artifact: tradingArtifact(t, 1, 12)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetAlias(ctx, "trading", Champion, tv.Version, "user", ""); err != nil {
		t.Fatal(err)
	}

	rows := featureRows(50, 1)
	batch, err := s.Predict(ctx, "fraud", PredictRequest{Inputs: rows})
	if err != nil || len(batch.Predictions) != 50 || batch.Version != 1 || batch.Route != "champion" {
		t.Fatalf("predict: %+v, %v", batch, err)
	}
	det, _ := DecodeDetector(logisticArtifact(t, 1))
	for i, r := range rows {
		if got, want := *batch.Predictions[i].Score, det.Score(r); got != want {
			t.Fatalf("row %d scored %v through the server, %v directly", i, got, want)
		}
	}
	// Many concurrent single-row requests are batched and each gets its
	// own answer.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			one, err := s.Predict(ctx, "fraud", PredictRequest{Inputs: rows[i : i+1]})
			if err != nil || *one.Predictions[0].Score != *batch.Predictions[i].Score {
				t.Errorf("row %d alone: %+v, %v", i, one, err)
			}
		})
	}
	wg.Wait()

	obs := make([]float64, 14)
	tr, err := s.Predict(ctx, "trading", PredictRequest{Alias: Champion, Inputs: [][]float64{obs, obs}})
	if err != nil || len(tr.Predictions) != 2 || tr.Predictions[0].Position == nil || !slices.Contains(marl.TradingLevels, *tr.Predictions[0].Position) {
		t.Fatalf("trading predict: %+v, %v", tr, err)
	}

	bad := []struct {
		name  string
		model string
		req   PredictRequest
		code  errs.Code
	}{
		{"unknown model", "nope", PredictRequest{Inputs: rows[:1]}, errs.NotFound},
		{"unknown alias", "fraud", PredictRequest{Alias: "staging", Inputs: rows[:1]}, errs.NotFound},
		{"unknown version", "fraud", PredictRequest{Version: 9, Inputs: rows[:1]}, errs.NotFound},
		{"both", "fraud", PredictRequest{Alias: Champion, Version: 1, Inputs: rows[:1]}, errs.Invalid},
		{"no rows", "fraud", PredictRequest{}, errs.Invalid},
		{"short row", "fraud", PredictRequest{Inputs: [][]float64{{1, 2}}}, errs.Invalid},
		{"nan", "trading", PredictRequest{Inputs: [][]float64{append(make([]float64, 13), math.NaN())}}, errs.Invalid},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Predict(ctx, tc.model, tc.req); errs.CodeOf(err) != tc.code {
				t.Errorf("got %v (%s), want %s", err, errs.CodeOf(err), tc.code)
			}
		})
	}
	live, err := s.Live(ctx, "fraud")
	if err != nil || live.Latency.Requests < 51 || !(live.Latency.P99us >= live.Latency.P50us) || live.Latency.P50us <= 0 {
		t.Errorf("live figures %+v, %v", live.Latency, err)
	}
}

// With a canary, keyed requests go to the challenger at its share and stay
// there; shadow mirrors champion requests to the challenger and records the
// comparison without changing the champion's answers.
func TestCanaryAndShadow(t *testing.T) {
	s, _ := startService(t, Config{})
	ctx := t.Context()
	register(t, s.Registry(), "fraud", 1)
	register(t, s.Registry(), "fraud", 2)
	s.SetAlias(ctx, "fraud", Champion, 1, "user", "")
	if _, err := s.SetCanary(ctx, "fraud", 0.2, "user"); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("a canary without a challenger: %v", err)
	}
	s.SetAlias(ctx, "fraud", Challenger, 2, "user", "")
	if _, err := s.SetCanary(ctx, "fraud", 0.9, "user"); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("a 90 %% canary: %v", err)
	}
	if _, err := s.SetCanary(ctx, "fraud", 0.2, "user"); err != nil {
		t.Fatal(err)
	}
	row := featureRows(1, 3)
	canary := 0
	for i := range 2000 {
		key := fmt.Sprintf("customer-%d", i)
		a, err := s.Predict(ctx, "fraud", PredictRequest{Key: key, Inputs: row})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Predict(ctx, "fraud", PredictRequest{Key: key, Inputs: row})
		if a.Version != b.Version {
			t.Fatalf("key %s went to version %d, then %d", key, a.Version, b.Version)
		}
		if a.Route == "canary" {
			canary++
		}
	}
	if share := float64(canary) / 2000; math.Abs(share-0.2) > 0.03 {
		t.Errorf("the 20 %% canary served %.1f %% of keys", 100*share)
	}

	if _, err := s.SetShadow(ctx, "fraud", true, "user"); err != nil {
		t.Fatal(err)
	}
	rows := featureRows(20, 4)
	first, _ := s.Predict(ctx, "fraud", PredictRequest{Inputs: rows})
	for range 10 {
		again, _ := s.Predict(ctx, "fraud", PredictRequest{Inputs: rows})
		for i := range rows {
			if *again.Predictions[i].Score != *first.Predictions[i].Score || again.Version != 1 {
				t.Fatalf("with shadow on the champion's answer changed")
			}
		}
	}
	var sh ShadowStats
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		l, _ := s.Live(ctx, "fraud")
		if sh = l.Shadow; sh.Compared >= 220 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sh.Compared < 220 || sh.Champion != 1 || sh.Challenger != 2 || sh.MeanAbsDiff <= 0 || len(sh.Points) == 0 {
		t.Errorf("shadow stats %+v", sh)
	}
}

// Live outcomes of a worse challenger roll the canary back: its traffic
// returns to the champion, the champion alias is untouched, and the audit
// log has the decision with the test's statistics.
func TestFeedbackRollsBackCanary(t *testing.T) {
	s, b := startService(t, Config{Sequential: SequentialConfig{Alpha: 0.01, Tau: 0.04, Window: 3000}})
	ctx := t.Context()
	events := b.Subscribe(64, TopicEvents.Name)
	defer events.Close()
	register(t, s.Registry(), "fraud", 1)
	register(t, s.Registry(), "fraud", 2)
	s.SetAlias(ctx, "fraud", Champion, 1, "user", "")
	s.SetAlias(ctx, "fraud", Challenger, 2, "user", "")
	if _, err := s.SetCanary(ctx, "fraud", 0.1, "user"); err != nil {
		t.Fatal(err)
	}
	rng := newRand(5)
	row := featureRows(1, 1)
	var st SequentialState
	for i := 0; i < 200_000 && st.Verdict != Regressed; i++ {
		resp, err := s.Predict(ctx, "fraud", PredictRequest{Key: fmt.Sprintf("c%d", i), Inputs: row})
		if err != nil {
			t.Fatal(err)
		}
		p := 0.9
		if resp.Version == 2 {
			p = 0.8
		}
		if st, err = s.Feedback(ctx, "fraud", resp.Version, bernoulli(rng, p)); err != nil {
			t.Fatal(err)
		}
	}
	if st.Verdict != Regressed {
		t.Fatalf("no rollback: %+v", st)
	}
	d, _ := s.Registry().Deployment(ctx, "fraud")
	if d.CanaryShare != 0 || d.State != "rolled_back" {
		t.Errorf("deployment after the rollback %+v", d)
	}
	if v, _ := s.Registry().Resolve(ctx, "fraud", Champion); v.Version != 1 {
		t.Errorf("champion is %d", v.Version)
	}
	resp, _ := s.Predict(ctx, "fraud", PredictRequest{Key: "anyone", Inputs: row})
	if resp.Version != 1 {
		t.Errorf("after the rollback a keyed request went to %d", resp.Version)
	}
	evs, _ := s.Registry().Events(ctx, "fraud", 10)
	if len(evs) == 0 || evs[0].Kind != "rollback" || evs[0].Actor != "auto" || evs[0].Stats["sequential"] == nil {
		t.Fatalf("latest event %+v", evs)
	}
	if _, err := s.Feedback(ctx, "fraud", 7, 1); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("feedback for a version not deployed: %v", err)
	}
}

// The held-out evaluation promotes a fitted fraud detector over one with
// random weights, on transactions from a seed neither saw, and holds a
// trading learner against itself.
func TestEvaluatePromotes(t *testing.T) {
	s, b := startService(t, Config{Promotion: PromotionConfig{Rows: 20_000, Episodes: 30}})
	ctx := t.Context()
	aliases := b.Subscribe(16, TopicAliases.Name)
	defer aliases.Close()
	txs, err := synth.Transactions(synth.Config{Seed: 11, Rows: 30_000, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := detect.Evaluate(txs, detect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fitted, err := EncodeDetector(rep.Fitted)
	if err != nil {
		t.Fatal(err)
	}
	reg := s.Registry()
	register(t, reg, "fraud", 1)
	if _, err := reg.Register(ctx, RegisterRequest{Model: "fraud", Kind: KindFraud, Artifact: fitted}); err != nil {
		t.Fatal(err)
	}
	s.SetAlias(ctx, "fraud", Champion, 1, "user", "")
	s.SetAlias(ctx, "fraud", Challenger, 2, "user", "")
	dec, err := s.Evaluate(ctx, "fraud", true, "auto")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("evaluation: %s", dec.Event.Decision)
	if !dec.Promoted || dec.Test.N != 20_000 || dec.Test.P >= 0.05 || dec.Event.Kind != "promote" {
		t.Fatalf("the fitted detector was not promoted: %+v", dec.Test)
	}
	if v, _ := reg.Resolve(ctx, "fraud", Champion); v.Version != 2 {
		t.Errorf("champion is %d after the promotion", v.Version)
	}
	published := false
	for !published {
		select {
		case e := <-aliases.C():
			m := e.Payload.(AliasMove)
			published = m.Alias == Champion && m.Version == 2 && e.Kind == "promote"
		case <-time.After(5 * time.Second):
			t.Fatal("the promotion was not published")
		}
	}
	// The random one as challenger now: held.
	s.SetAlias(ctx, "fraud", Challenger, 1, "user", "")
	if dec, err = s.Evaluate(ctx, "fraud", true, "auto"); err != nil || dec.Promoted || dec.Event.Kind != "hold" {
		t.Errorf("the random detector was promoted over the fitted one: %+v, %v", dec, err)
	}

	tr := tradingArtifact(t, 2, 10)
	for range 2 {
		if _, err := reg.Register(ctx, RegisterRequest{Model: "trading", Kind: KindTrading, Artifact: tr}); err != nil {
			t.Fatal(err)
		}
	}
	s.SetAlias(ctx, "trading", Champion, 1, "user", "")
	s.SetAlias(ctx, "trading", Challenger, 2, "user", "")
	dec, err = s.Evaluate(ctx, "trading", true, "auto")
	if err != nil || dec.Promoted || dec.Test.N != 30 || dec.Test.Mean != 0 {
		t.Errorf("a learner against itself: %+v, %v", dec, err)
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }
