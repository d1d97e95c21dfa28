package mlops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/synth/jobs"
)

// The models finished runs register into.
const (
	TradingModel = "trading-policy" // trading-world QMIX/VDN learners (marl)
	FraudModel   = "fraud-detector" // detectors fitted by data jobs (synth)
)

// RunRef names a run or job in the lineage and in opt-outs: "marl run 3",
// "rl run 5", "synth job j-000012". source is rl, marl or synth.
func RunRef(source, id string) (string, error) {
	switch source {
	case "rl", "marl":
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return "", errs.Errorf(errs.Invalid, "a %s run is a whole number, not %q", source, clip(id))
		}
		return source + " run " + id, nil
	case "synth":
		if id == "" || len(id) > 64 {
			return "", errs.Errorf(errs.Invalid, "a data job id has 1 to 64 characters")
		}
		return "synth job " + id, nil
	}
	return "", errs.Errorf(errs.Invalid, "runs register from rl, marl or synth, not %q", clip(source))
}

// RLModel is the model single-agent learners of env register into.
func RLModel(env string) string { return "rl-" + env }

// AutoRegister registers the models of finished runs and jobs as they are
// announced on the bus: trading-world learners of the multi-agent trainer,
// single-agent learners, and the fraud detectors of transaction jobs. A
// model's first version becomes its champion, later ones its challenger,
// and a new challenger is evaluated on held-out data at once: it becomes
// the champion only if it is significantly better (Service.Evaluate). A run opted out (see
// Registry.SetOptOut) is skipped.
type AutoRegister struct {
	svc     *Service
	jobsDir string // where data jobs write their files, for the data hash
	log     *slog.Logger
	done    map[string]bool // runs handled in this process

	evalMu sync.Mutex     // one held-out evaluation at a time
	evals  sync.WaitGroup // evaluations still running, waited for by Run
}

// NewAutoRegister returns the hook; jobsDir is the data jobs' directory.
func NewAutoRegister(svc *Service, jobsDir string, log *slog.Logger) *AutoRegister {
	if log == nil {
		log = slog.Default()
	}
	return &AutoRegister{svc: svc, jobsDir: jobsDir, log: log, done: map[string]bool{}}
}

// Run reads the trainers' and the data jobs' progress until ctx ends.
func (a *AutoRegister) Run(ctx context.Context) error {
	if a.svc.bus == nil {
		return fmt.Errorf("auto-registration needs a bus")
	}
	sub := a.svc.bus.Subscribe(64, rl.TopicProgress.Name, marl.TopicProgress.Name, jobs.TopicProgress.Name)
	defer sub.Close()
	defer a.evals.Wait() // ctx has ended: they stop with it
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-sub.C():
			switch p := e.Payload.(type) {
			case []marl.RunInfo:
				for _, info := range p {
					a.marlRun(ctx, info)
				}
			case []rl.RunInfo:
				for _, info := range p {
					a.rlRun(ctx, info)
				}
			case jobs.Status:
				a.dataJob(ctx, p)
			}
		}
	}
}

// once runs register for a run not handled yet, not opted out and not
// registered by an earlier process.
func (a *AutoRegister) once(ctx context.Context, model, source, run string, register func() (RegisterRequest, error)) {
	key := source + "\x00" + run
	if a.done[key] {
		return
	}
	a.done[key] = true
	if out, err := a.svc.reg.OptedOut(ctx, source, run); err != nil || out {
		return
	}
	if ok, err := a.svc.reg.registered(ctx, model, source, run); err != nil || ok {
		return
	}
	req, err := register()
	if err != nil {
		a.log.Warn("mlops: finished run not registered", "run", run, "err", err)
		return
	}
	v, alias, err := a.registerAlias(ctx, req)
	if err != nil {
		a.log.Warn("mlops: finished run not registered", "run", run, "err", err)
		return
	}
	if alias == Challenger {
		// The held-out test takes seconds to minutes; the loop goes on
		// reading the bus meanwhile (one evaluation at a time).
		a.evals.Add(1)
		go func() {
			defer a.evals.Done()
			a.evalMu.Lock()
			defer a.evalMu.Unlock()
			a.evaluate(ctx, req.Model, v.Version)
		}()
	}
}

// RegisterAndAlias registers req and points the champion at it when the
// model has none, the challenger otherwise; a new challenger is evaluated
// on held-out data before it returns.
func (a *AutoRegister) RegisterAndAlias(ctx context.Context, req RegisterRequest) (Version, error) {
	v, alias, err := a.registerAlias(ctx, req)
	if err == nil && alias == Challenger {
		a.evaluate(ctx, req.Model, v.Version)
	}
	return v, err
}

// registerAlias registers req and points the champion (when the model has
// none) or the challenger at it, and says which.
func (a *AutoRegister) registerAlias(ctx context.Context, req RegisterRequest) (Version, string, error) {
	v, err := a.svc.reg.Register(ctx, req)
	if err != nil {
		return v, "", err
	}
	alias := Challenger
	if _, err := a.svc.reg.Resolve(ctx, req.Model, Champion); errs.Is(err, errs.NotFound) {
		alias = Champion
	}
	if _, err := a.svc.SetAlias(ctx, req.Model, alias, v.Version, "auto", "registered by "+req.Lineage.Run); err != nil {
		return v, alias, err
	}
	a.log.Info("mlops: model registered", "model", req.Model, "version", v.Version, "alias", alias, "from", req.Lineage.Run)
	return v, alias, nil
}

// evaluate runs the held-out test of a new challenger, which decides at
// once whether it replaces the champion; the decision, either way, is in
// the audit log.
func (a *AutoRegister) evaluate(ctx context.Context, model string, version int) {
	if d, err := a.svc.EvaluateWhenFree(ctx, model, true, "auto"); err != nil {
		a.log.Warn("mlops: new challenger not evaluated", "model", model, "version", version, "err", err)
	} else {
		a.log.Info("mlops: new challenger evaluated", "model", model, "version", version, "promoted", d.Promoted, "p", d.Test.P)
	}
}

func (a *AutoRegister) marlRun(ctx context.Context, info marl.RunInfo) {
	if info.Status != "done" || marlRegisters(info) != nil {
		return
	}
	run, _ := RunRef("marl", strconv.FormatInt(info.ID, 10))
	a.once(ctx, TradingModel, "marl", run, func() (RegisterRequest, error) { return MARLRequest(info) })
}

// marlRegisters says why a multi-agent run has no trading policy to
// register, nil when it has one.
func marlRegisters(info marl.RunInfo) error {
	if info.Spec.Env != "trading-ma" || info.Spec.Algo == "maddpg" {
		return errs.Errorf(errs.Invalid, "marl run %d trained %s on %s; only QMIX/VDN learners of the trading world (trading-ma) are registered as trading policies", info.ID, info.Spec.Algo, info.Spec.Env)
	}
	if info.Checkpoint == "" {
		return errs.Errorf(errs.Conflict, "marl run %d has no checkpoint", info.ID)
	}
	return nil
}

// MARLRequest is the registration of a finished trading-world run: its
// checkpoint with its lineage, parameters and evaluation.
func MARLRequest(info marl.RunInfo) (RegisterRequest, error) {
	if err := marlRegisters(info); err != nil {
		return RegisterRequest{}, err
	}
	run, _ := RunRef("marl", strconv.FormatInt(info.ID, 10))
	data, err := readCapped(info.Checkpoint)
	if err != nil {
		return RegisterRequest{}, err
	}
	req := RegisterRequest{
		Model: TradingModel, Kind: KindTrading, Artifact: data,
		Description: "Trading-world learners of the multi-agent trainer; the champion trades in the tournament.",
		Lineage:     Lineage{Source: "marl", Run: run, DataHash: hashJSON(info.Spec), Seed: info.Spec.Seed},
		Params: map[string]string{"algo": info.Spec.Algo, "env": info.Spec.Env, "episodes": strconv.Itoa(info.Episodes),
			"curriculum": strconv.FormatBool(info.Spec.Curriculum), "hidden": fmt.Sprint(info.Spec.Hidden)},
		Metrics: map[string]float64{},
	}
	if info.Eval != nil {
		req.Metrics["eval_team_return"], req.Metrics["eval_ci95"] = info.Eval.Team, info.Eval.CI
		req.Metrics["eval_random_return"], req.Metrics["eval_episodes"] = info.Eval.Random, float64(info.Eval.Episodes)
	}
	if info.Team != nil {
		req.Metrics["train_team_return"] = *info.Team
	}
	return req, nil
}

func (a *AutoRegister) rlRun(ctx context.Context, info rl.RunInfo) {
	if info.Status != "done" || info.Checkpoint == "" {
		return
	}
	run, _ := RunRef("rl", strconv.FormatInt(info.ID, 10))
	a.once(ctx, RLModel(info.Spec.Env), "rl", run, func() (RegisterRequest, error) { return RLRequest(info) })
}

// RLRequest is the registration of a finished single-agent run.
func RLRequest(info rl.RunInfo) (RegisterRequest, error) {
	if info.Checkpoint == "" {
		return RegisterRequest{}, errs.Errorf(errs.Conflict, "rl run %d has no checkpoint", info.ID)
	}
	run, _ := RunRef("rl", strconv.FormatInt(info.ID, 10))
	data, err := readCapped(info.Checkpoint)
	if err != nil {
		return RegisterRequest{}, err
	}
	req := RegisterRequest{
		Model: RLModel(info.Spec.Env), Kind: KindRL, Artifact: data,
		Description: "Single-agent learners on " + info.Spec.Env + ".",
		Lineage:     Lineage{Source: "rl", Run: run, DataHash: hashJSON(info.Spec), Seed: info.Spec.Seed},
		Params:      map[string]string{"algo": info.Spec.Algo, "env": info.Spec.Env, "steps": strconv.Itoa(info.Steps), "hidden": fmt.Sprint(info.Spec.Hidden)},
		Metrics:     map[string]float64{"train_return": info.Return},
	}
	if info.EvalReturn != nil {
		req.Metrics["eval_return"] = *info.EvalReturn
	}
	return req, nil
}

func (a *AutoRegister) dataJob(ctx context.Context, st jobs.Status) {
	if st.State != jobs.Done || st.Detector == nil || st.Detector.Fitted == nil {
		return
	}
	run, _ := RunRef("synth", st.ID)
	a.once(ctx, FraudModel, "synth", run, func() (RegisterRequest, error) { return JobRequest(st, a.jobsDir, a.log) })
}

// JobRequest is the registration of the fraud detector a finished data
// job fitted; jobsDir (where jobs write their files) gives the data hash.
func JobRequest(st jobs.Status, jobsDir string, log *slog.Logger) (RegisterRequest, error) {
	if st.Detector == nil || st.Detector.Fitted == nil {
		return RegisterRequest{}, errs.Errorf(errs.Invalid, "data job %s fitted no fraud detector (only transaction jobs do)", st.ID)
	}
	run, _ := RunRef("synth", st.ID)
	data, err := EncodeDetector(st.Detector.Fitted)
	if err != nil {
		return RegisterRequest{}, err
	}
	hash := ""
	if st.File != "" && jobsDir != "" {
		if hash, err = hashFile(filepath.Join(jobsDir, st.File)); err != nil && log != nil {
			log.Warn("mlops: data hash not computed", "job", st.ID, "err", err)
		}
	}
	d := st.Detector
	m := map[string]float64{"roc_auc": d.ROCAUC, "pr_auc": d.PRAUC, "test_rows": float64(d.TestRows), "train_rows": float64(d.TrainRows),
		"test_fraud_rate": d.TestFraudRate}
	return RegisterRequest{
		Model: FraudModel, Kind: KindFraud, Artifact: data,
		Description: "Fraud detectors fitted on the Data page's transaction jobs.",
		Lineage:     Lineage{Source: "synth", Run: run, DataHash: hash, Seed: st.Spec.Seed},
		Params: map[string]string{"model": d.Model, "rows": strconv.Itoa(st.Spec.Rows), "report_rows": strconv.Itoa(st.ReportRows),
			"fraud_rate": strconv.FormatFloat(st.Spec.FraudRate, 'g', -1, 64)},
		Metrics: m,
	}, nil
}

// Runs finds runs and jobs by id, for registering one by hand.
type Runs struct {
	RL    func(id int64) (rl.RunInfo, error)
	MARL  func(id int64) (marl.RunInfo, error)
	Synth func(id string) (jobs.Status, error)
}

// RunRequest is the registration of the finished run or job id of source
// (rl, marl, synth), found through runs.
func (a *AutoRegister) RunRequest(source, id string, runs Runs) (RegisterRequest, error) {
	if _, err := RunRef(source, id); err != nil {
		return RegisterRequest{}, err
	}
	switch source {
	case "rl", "marl":
		n, _ := strconv.ParseInt(id, 10, 64)
		if source == "rl" {
			info, err := runs.RL(n)
			if err != nil {
				return RegisterRequest{}, err
			}
			if info.Status != "done" {
				return RegisterRequest{}, errs.Errorf(errs.Conflict, "rl run %d has not finished (it is %s)", n, info.Status)
			}
			return RLRequest(info)
		}
		info, err := runs.MARL(n)
		if err != nil {
			return RegisterRequest{}, err
		}
		if info.Status != "done" {
			return RegisterRequest{}, errs.Errorf(errs.Conflict, "marl run %d has not finished (it is %s)", n, info.Status)
		}
		return MARLRequest(info)
	default:
		st, err := runs.Synth(id)
		if err != nil {
			return RegisterRequest{}, err
		}
		if st.State != jobs.Done {
			return RegisterRequest{}, errs.Errorf(errs.Conflict, "data job %s has not finished (it is %s)", id, st.State)
		}
		return JobRequest(st, a.jobsDir, a.log)
	}
}

func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxArtifactBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxArtifactBytes {
		return nil, fmt.Errorf("%s is larger than %d MB", path, MaxArtifactBytes>>20)
	}
	return data, nil
}

func hashJSON(v any) string {
	b, _ := json.Marshal(v)
	return Sum(b)
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
