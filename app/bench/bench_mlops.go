package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/mlops"
	"github.com/metastation/metastation/app/synth"
	"github.com/metastation/metastation/app/synth/detect"
	"github.com/metastation/metastation/app/web"
)

// MLOpsBenchResult is what `metastation bench mlops --json` prints last.
// The headline keys are those of issue 15; the predict figures are of one
// request of one row, the headline the worse of the two model kinds.
type MLOpsBenchResult struct {
	PredictP99usInproc     float64 `json:"predict_p99_us_inproc"`
	PredictP99msHTTP       float64 `json:"predict_p99_ms_http"`
	CanaryShareError       float64 `json:"canary_share_error"`       // |served share − 10 %| over 100,000 keys
	FalseRollbackRate      float64 `json:"false_rollback_rate"`      // unchanged challenger rolled back, of FalseRuns
	DetectedRegressionRate float64 `json:"detected_regression_rate"` // regressed challenger rolled back within the window, of RegressionRuns

	FraudP50usInproc   float64 `json:"fraud_predict_p50_us_inproc"`
	FraudP99usInproc   float64 `json:"fraud_predict_p99_us_inproc"`
	TradingP50usInproc float64 `json:"trading_predict_p50_us_inproc"`
	TradingP99usInproc float64 `json:"trading_predict_p99_us_inproc"`
	FraudP50msHTTP     float64 `json:"fraud_predict_p50_ms_http"`
	FraudP99msHTTP     float64 `json:"fraud_predict_p99_ms_http"`
	TradingP50msHTTP   float64 `json:"trading_predict_p50_ms_http"`
	TradingP99msHTTP   float64 `json:"trading_predict_p99_ms_http"`
	FraudBatchRowsPerS float64 `json:"fraud_batch64_rows_per_s"` // 64-row requests, in process
	TradeBatchRowsPerS float64 `json:"trading_batch64_rows_per_s"`
	InprocRequests     int     `json:"inproc_requests_per_kind"`
	HTTPRequests       int     `json:"http_requests_per_kind"`

	AliasMovesPerS   float64 `json:"alias_moves_per_s"` // each checks the version's artifact and loads it
	ResolvesPerS     float64 `json:"alias_resolves_per_s"`
	RegistersPerS    float64 `json:"registers_per_s"` // fraud-detector versions
	VerifyMBPerS     float64 `json:"artifact_verify_mb_per_s"`
	TradingArtifactB int     `json:"trading_artifact_bytes"`

	CanaryKeys          int     `json:"canary_keys"`
	FalseRuns           int     `json:"false_rollback_runs"`
	RegressionRuns      int     `json:"regression_runs"`
	RegressionWindow    int     `json:"regression_window"` // challenger requests within which a rollback counts as detected
	MeanRequestsToCatch float64 `json:"mean_challenger_requests_to_rollback"`
}

// runBenchMLOps is `metastation bench mlops`: a real server on a temporary
// data directory with a fitted fraud detector and a trained trading policy
// as champions; single-row predictions timed in process and over HTTP,
// registry operations, artifact verification, and the canary's share and
// rollback rates on seeded simulations.
func runBenchMLOps(ctx context.Context, env command.Env, args []string) error {
	fs := command.NewFlagSet("bench mlops", env.Stderr)
	inproc := fs.Int("requests", 20_000, "in-process predictions per model kind")
	httpN := fs.Int("http-requests", 3_000, "predictions over HTTP per model kind")
	falseRuns := fs.Int("false-runs", 1000, "simulated canaries of an unchanged challenger")
	regRuns := fs.Int("regression-runs", 200, "simulated canaries of a regressed challenger")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	if err := command.ParseFlags(fs, args, env.Getenv); err != nil {
		return err
	}
	if *inproc < 100 || *httpN < 100 || *falseRuns < 10 || *regRuns < 10 {
		return command.Usagef("bench mlops: at least 100 requests of each kind and 10 runs of each simulation")
	}
	res := MLOpsBenchResult{InprocRequests: *inproc, HTTPRequests: *httpN, FalseRuns: *falseRuns, RegressionRuns: *regRuns}

	fmt.Fprintln(env.Stderr, "fitting a fraud detector on 20,000 transactions and training a trading policy…")
	fraudArt, err := benchFraudDetector()
	if err != nil {
		return err
	}
	tradingArt, err := benchTradingPolicy()
	if err != nil {
		return err
	}
	res.TradingArtifactB = len(tradingArt)

	dir, err := os.MkdirTemp("", "metastation-bench-mlops-")
	if err != nil {
		return fmt.Errorf("temporary data dir: %w", err)
	}
	defer os.RemoveAll(dir)
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := app.New(ctx, app.Config{Addr: "127.0.0.1:0", DataDir: dir, Seed: 1, NoBrowser: true}, log, env.Assets)
	if err != nil {
		return err
	}
	url, err := web.Start(ctx, srv)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	defer srv.Shutdown(context.Background())
	svc := srv.MLOps
	reg := svc.Registry()
	for _, m := range []struct {
		name, kind string
		art        []byte
	}{{"fraud", mlops.KindFraud, fraudArt}, {"trading", mlops.KindTrading, tradingArt}} {
		v, err := reg.Register(ctx, mlops.RegisterRequest{Model: m.name, Kind: m.kind, Artifact: m.art})
		if err != nil {
			return err
		}
		if _, err := svc.SetAlias(ctx, m.name, mlops.Champion, v.Version, "bench", "bench"); err != nil {
			return err
		}
	}
	fraudRow := make([]float64, len(detect.FeatureNames()))
	for i := range fraudRow {
		fraudRow[i] = 0.1 * float64(i%7)
	}
	tradingRow := make([]float64, marl.NewTradingMA().ObsDim())

	bar := progressbar.NewOptions(2*(*inproc+*httpN), progressbar.OptionSetWriter(env.Stderr),
		progressbar.OptionSetDescription("predictions"), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(250*time.Millisecond))
	inprocTimes := func(model string, row []float64) ([]time.Duration, error) {
		req := mlops.PredictRequest{Inputs: [][]float64{row}}
		for range 200 { // load the worker, warm the caches
			if _, err := svc.Predict(ctx, model, req); err != nil {
				return nil, err
			}
		}
		ts := make([]time.Duration, *inproc)
		for i := range ts {
			t0 := time.Now()
			if _, err := svc.Predict(ctx, model, req); err != nil {
				return nil, err
			}
			ts[i] = time.Since(t0)
			bar.Add(1)
		}
		return ts, nil
	}
	httpTimes := func(model string, row []float64) ([]time.Duration, error) {
		body, _ := json.Marshal(mlops.PredictRequest{Inputs: [][]float64{row}})
		client := &http.Client{Timeout: 10 * time.Second}
		do := func() error {
			resp, err := client.Post(url+"api/models/"+model+"/predict", "application/json", bytes.NewReader(body))
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("predict %s over HTTP: status %d", model, resp.StatusCode)
			}
			return nil
		}
		for range 50 {
			if err := do(); err != nil {
				return nil, err
			}
		}
		ts := make([]time.Duration, *httpN)
		for i := range ts {
			t0 := time.Now()
			if err := do(); err != nil {
				return nil, err
			}
			ts[i] = time.Since(t0)
			bar.Add(1)
		}
		return ts, nil
	}
	us := func(ts []time.Duration, q float64) float64 { return mlops.Percentile(ts, q) }
	ft, err := inprocTimes("fraud", fraudRow)
	if err != nil {
		return err
	}
	tt, err := inprocTimes("trading", tradingRow)
	if err != nil {
		return err
	}
	res.FraudP50usInproc, res.FraudP99usInproc = us(ft, 0.5), us(ft, 0.99)
	res.TradingP50usInproc, res.TradingP99usInproc = us(tt, 0.5), us(tt, 0.99)
	fh, err := httpTimes("fraud", fraudRow)
	if err != nil {
		return err
	}
	th, err := httpTimes("trading", tradingRow)
	if err != nil {
		return err
	}
	res.FraudP50msHTTP, res.FraudP99msHTTP = us(fh, 0.5)/1e3, us(fh, 0.99)/1e3
	res.TradingP50msHTTP, res.TradingP99msHTTP = us(th, 0.5)/1e3, us(th, 0.99)/1e3
	bar.Finish()
	res.PredictP99usInproc = math.Max(res.FraudP99usInproc, res.TradingP99usInproc)
	res.PredictP99msHTTP = math.Max(res.FraudP99msHTTP, res.TradingP99msHTTP)

	batch := func(model string, row []float64) (float64, error) {
		rows := make([][]float64, 64)
		for i := range rows {
			rows[i] = row
		}
		req := mlops.PredictRequest{Inputs: rows}
		n, t0 := 0, time.Now()
		for time.Since(t0) < time.Second {
			if _, err := svc.Predict(ctx, model, req); err != nil {
				return 0, err
			}
			n += len(rows)
		}
		return float64(n) / time.Since(t0).Seconds(), nil
	}
	if res.FraudBatchRowsPerS, err = batch("fraud", fraudRow); err != nil {
		return err
	}
	if res.TradeBatchRowsPerS, err = batch("trading", tradingRow); err != nil {
		return err
	}

	// Registry operations.
	const regN = 200
	t0 := time.Now()
	for i := range regN {
		if _, err := svc.SetAlias(ctx, "trading", "bench", 1, "bench", "move "+strconv.Itoa(i)); err != nil {
			return err
		}
	}
	res.AliasMovesPerS = regN / time.Since(t0).Seconds()
	t0 = time.Now()
	for range 5 * regN {
		if _, err := reg.Resolve(ctx, "trading", mlops.Champion); err != nil {
			return err
		}
	}
	res.ResolvesPerS = 5 * regN / time.Since(t0).Seconds()
	t0 = time.Now()
	for i := range regN / 4 {
		// The same bytes each time: stored once, each registration checks
		// that they load and that the stored copy is intact.
		if _, err := reg.Register(ctx, mlops.RegisterRequest{Model: "fraud", Kind: mlops.KindFraud, Artifact: fraudArt, Tags: map[string]string{"i": strconv.Itoa(i)}}); err != nil {
			return err
		}
	}
	res.RegistersPerS = regN / 4 / time.Since(t0).Seconds()
	t0 = time.Now()
	var verified int
	for time.Since(t0) < time.Second || verified == 0 {
		if _, _, err := reg.Artifact(ctx, "trading", 1); err != nil {
			return err
		}
		verified += len(tradingArt)
	}
	res.VerifyMBPerS = float64(verified) / (1 << 20) / time.Since(t0).Seconds()

	// The canary's share over 100,000 keys, and its rollback rates on the
	// same seeded simulations as the tests.
	res.CanaryKeys = 100_000
	in := 0
	for i := range res.CanaryKeys {
		if mlops.InCanary("trading@2", "agent-"+strconv.Itoa(i), 0.1) {
			in++
		}
	}
	res.CanaryShareError = math.Abs(float64(in)/float64(res.CanaryKeys) - 0.1)
	cfg := mlops.SequentialConfig{Alpha: 0.01, Tau: 0.04, MinSamples: 100, Window: 3000}
	res.RegressionWindow = cfg.Window
	sim := mlops.NewCanarySim()
	caught, took := 0, 0
	for i := range *regRuns {
		st := sim.Run(uint64(i), 0.1, 0.90, 0.86, cfg)
		if st.Verdict == mlops.Regressed {
			caught++
			took += st.ChallengerN
		}
	}
	res.DetectedRegressionRate = float64(caught) / float64(*regRuns)
	if caught > 0 {
		res.MeanRequestsToCatch = float64(took) / float64(caught)
	}
	res.FalseRollbackRate = sim.RollbackRate(10_000, *falseRuns, 0.1, 0.90, 0.90, cfg)

	fmt.Fprintf(env.Stdout, "mlops: one-row predictions, %d in process and %d over HTTP per kind\n", *inproc, *httpN)
	fmt.Fprintf(env.Stdout, "  fraud detector   in process p50 %.1f µs  p99 %.1f µs   HTTP p50 %.2f ms  p99 %.2f ms   64-row batches %.0f rows/s\n",
		res.FraudP50usInproc, res.FraudP99usInproc, res.FraudP50msHTTP, res.FraudP99msHTTP, res.FraudBatchRowsPerS)
	fmt.Fprintf(env.Stdout, "  trading policy   in process p50 %.1f µs  p99 %.1f µs   HTTP p50 %.2f ms  p99 %.2f ms   64-row batches %.0f rows/s\n",
		res.TradingP50usInproc, res.TradingP99usInproc, res.TradingP50msHTTP, res.TradingP99msHTTP, res.TradeBatchRowsPerS)
	fmt.Fprintf(env.Stdout, "  registry: %.0f alias moves/s (each verifies and loads the version), %.0f resolves/s, %.0f registrations/s; artifact verify %.0f MB/s (%d-byte trading policy)\n",
		res.AliasMovesPerS, res.ResolvesPerS, res.RegistersPerS, res.VerifyMBPerS, res.TradingArtifactB)
	fmt.Fprintf(env.Stdout, "  canary: 10 %% share over %d keys off by %.4f %%; regressed challenger (86 %% vs 90 %%) rolled back in %.1f %% of %d runs within %d requests (after %.0f on average); unchanged rolled back in %.2f %% of %d runs\n",
		res.CanaryKeys, 100*res.CanaryShareError, 100*res.DetectedRegressionRate, res.RegressionRuns, res.RegressionWindow, res.MeanRequestsToCatch, 100*res.FalseRollbackRate, res.FalseRuns)
	if *asJSON {
		return command.PrintJSONLine(env.Stdout, res)
	}
	return nil
}

// benchFraudDetector fits the Data page's detector on seeded transactions.
func benchFraudDetector() ([]byte, error) {
	txs, err := synth.Transactions(synth.Config{Seed: 1, Rows: 20_000, Workers: 1})
	if err != nil {
		return nil, err
	}
	rep, err := detect.Evaluate(txs, detect.Options{})
	if err != nil {
		return nil, err
	}
	return mlops.EncodeDetector(rep.Fitted)
}

// benchTradingPolicy trains a small VDN learner of the trading world, as the
// multi-agent trainer does with fewer episodes.
func benchTradingPolicy() ([]byte, error) {
	cfg := marl.DefaultQMIXConfig("trading-ma", "vdn")
	cfg.Seed, cfg.Episodes, cfg.BatchSize, cfg.EpsAnnealSteps = 1, 12, 8, 1000
	q, err := marl.NewQMIX(cfg)
	if err != nil {
		return nil, err
	}
	for !q.Done() {
		q.Run()
	}
	var buf bytes.Buffer
	if err := marl.SaveQMIX(&buf, q, nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
