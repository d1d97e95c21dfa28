package mlops

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/errs"
)

// The service's topics on the bus.
var (
	TopicEvents  = bus.NewTopic[Event]("mlops.events")      // every decision, as it is logged
	TopicAliases = bus.NewTopic[AliasMove]("mlops.aliases") // every alias move
	TopicState   = bus.NewTopic[[]Live]("mlops.state")      // snapshot: live figures of every deployed model
)

// Config sets up the service. Zero values take the defaults.
type Config struct {
	Serve      ServeConfig
	Sequential SequentialConfig
	Promotion  PromotionConfig
	// RefreshEvery is how often aliases and deployments are re-read, to see
	// changes made by another process (the CLI); default 2s.
	RefreshEvery time.Duration
	// MaxEvaluations is how many held-out evaluations run at once (serve
	// --max-evaluations); default DefaultMaxEvaluations. Each takes a
	// core for seconds: a request past the cap is refused at once (Busy),
	// the service's own evaluations (a new challenger, a passed canary)
	// wait their turn.
	MaxEvaluations int
	// Evaluators replaces the held-out evaluation of each kind (nil:
	// Evaluators(Promotion)); tests hold evaluations open through it.
	Evaluators map[string]Evaluator
}

// DefaultMaxEvaluations is the default of Config.MaxEvaluations: an
// evaluation holds a core for a few seconds (30,000 held-out transactions
// or 60 episodes each side), and two keep a laptop's other work going.
const DefaultMaxEvaluations = 2

// Service serves the registry's models, routes canary and shadow traffic,
// watches live metrics and takes (and logs) deployment decisions. Its
// methods are safe for concurrent use.
type Service struct {
	reg   *Registry
	cfg   Config
	bus   *bus.Bus
	log   *slog.Logger
	pool  *pool
	evals map[string]Evaluator
	// evalSlots holds one token per held-out evaluation running; its
	// capacity is Config.MaxEvaluations.
	evalSlots chan struct{}

	shadowQ chan shadowJob

	mu      sync.Mutex
	routes  map[string]*routing
	live    map[string]*liveModel
	changed bool
}

// routing is a cached view of a model's aliases and deployment.
type routing struct {
	kind    string
	aliases map[string]int
	deploy  Deployment
	read    time.Time
}

// liveModel holds a model's live figures.
type liveModel struct {
	lat        *latencies
	seq        *Sequential
	seqFor     [2]int // champion, challenger versions the test compares
	seqDecided string
	shadow     ShadowStats
	series     []CanaryPoint
}

// CanaryPoint is the live test's means at one moment, for the chart.
type CanaryPoint struct {
	At          int64   `json:"t"` // unix ms
	Champion    float64 `json:"champion"`
	Challenger  float64 `json:"challenger"`
	ChampionN   int     `json:"champion_n"`
	ChallengerN int     `json:"challenger_n"`
}

const canaryPoints = 600

// Live is what the page shows of a deployed model as it serves.
type Live struct {
	Model      string          `json:"model"`
	Champion   int             `json:"champion"`
	Challenger int             `json:"challenger"`
	Deployment Deployment      `json:"deployment"`
	Latency    LatencyStats    `json:"latency"`
	Canary     SequentialState `json:"canary"`
	Shadow     ShadowStats     `json:"shadow"`
	Series     []CanaryPoint   `json:"series"` // the canary's means, one point a second while outcomes arrive
}

// NewService returns the service. b may be nil (nothing is published).
func NewService(reg *Registry, cfg Config, b *bus.Bus, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	cfg.Serve = cfg.Serve.withDefaults()
	cfg.Sequential = cfg.Sequential.withDefaults()
	cfg.Promotion = cfg.Promotion.withDefaults()
	if cfg.RefreshEvery <= 0 {
		cfg.RefreshEvery = 2 * time.Second
	}
	if cfg.MaxEvaluations <= 0 {
		cfg.MaxEvaluations = DefaultMaxEvaluations
	}
	evals := cfg.Evaluators
	if evals == nil {
		evals = Evaluators(cfg.Promotion)
	}
	return &Service{
		reg: reg, cfg: cfg, bus: b, log: log, pool: newPool(reg, cfg.Serve, log),
		evals: evals, evalSlots: make(chan struct{}, cfg.MaxEvaluations),
		shadowQ: make(chan shadowJob, 256), routes: map[string]*routing{}, live: map[string]*liveModel{},
	}
}

// Registry returns the registry the service serves.
func (s *Service) Registry() *Registry { return s.reg }

// Run mirrors shadow traffic and publishes the live figures until ctx
// ends, then stops the model workers.
func (s *Service) Run(ctx context.Context) error {
	defer s.pool.close()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-s.shadowQ:
			s.runShadow(ctx, j)
		case <-tick.C:
			s.publishLive()
		}
	}
}

// route returns a model's routing, re-read when older than RefreshEvery.
func (s *Service) route(ctx context.Context, model string) (*routing, error) {
	s.mu.Lock()
	r, ok := s.routes[model]
	s.mu.Unlock()
	if ok && time.Since(r.read) < s.cfg.RefreshEvery {
		return r, nil
	}
	m, err := s.reg.Model(ctx, model)
	if err != nil {
		return nil, err
	}
	d, err := s.reg.Deployment(ctx, model)
	if err != nil {
		return nil, err
	}
	r = &routing{kind: m.Kind, aliases: m.Aliases, deploy: d, read: time.Now()}
	s.mu.Lock()
	s.routes[model] = r
	s.mu.Unlock()
	return r, nil
}

// forget drops a model's cached routing after a change.
func (s *Service) forget(model string) {
	s.mu.Lock()
	delete(s.routes, model)
	s.changed = true
	s.mu.Unlock()
}

func (s *Service) liveOf(model string) *liveModel {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.live[model]
	if !ok {
		l = &liveModel{lat: newLatencies(s.cfg.Serve.Window)}
		s.live[model] = l
	}
	return l
}

// PredictRequest asks a model for answers. Alias or Version pin what
// serves it; with neither, the champion serves, or the challenger for keys
// in the canary.
type PredictRequest struct {
	Alias   string      `json:"alias,omitempty"`
	Version int         `json:"version,omitempty"`
	Key     string      `json:"key,omitempty"` // a customer or agent id: the canary is sticky by it
	Inputs  [][]float64 `json:"inputs"`
}

// PredictResponse is the answer and what gave it.
type PredictResponse struct {
	Model       string       `json:"model"`
	Version     int          `json:"version"`
	Route       string       `json:"route"` // version, alias, champion or canary
	Predictions []Prediction `json:"predictions"`
	LatencyUS   float64      `json:"latency_us"`
}

// Predict answers req with the version it routes to.
func (s *Service) Predict(ctx context.Context, model string, req PredictRequest) (PredictResponse, error) {
	start := time.Now()
	if req.Alias != "" && req.Version != 0 {
		return PredictResponse{}, errs.Errorf(errs.Invalid, "give an alias or a version, not both")
	}
	if len(req.Key) > 200 {
		return PredictResponse{}, errs.Errorf(errs.Invalid, "a routing key has at most 200 characters")
	}
	r, err := s.route(ctx, model)
	if err != nil {
		return PredictResponse{}, err
	}
	resp := PredictResponse{Model: model}
	champion, challenger := r.aliases[Champion], r.aliases[Challenger]
	switch {
	case req.Version != 0:
		resp.Version, resp.Route = req.Version, "version"
	case req.Alias != "":
		v, ok := r.aliases[req.Alias]
		if !ok {
			return PredictResponse{}, errs.Errorf(errs.NotFound, "model %s has no alias %q", model, clip(req.Alias))
		}
		resp.Version, resp.Route = v, "alias"
	case champion == 0:
		return PredictResponse{}, errs.Errorf(errs.NotFound, "model %s has no champion yet; point the champion alias at a version first", model)
	case challenger != 0 && challenger != champion && InCanary(canarySalt(model, challenger), req.Key, r.deploy.CanaryShare):
		resp.Version, resp.Route = challenger, "canary"
	default:
		resp.Version, resp.Route = champion, "champion"
	}
	w, err := s.pool.get(ctx, model, resp.Version)
	if err != nil {
		return PredictResponse{}, err
	}
	if err := checkRows(req.Inputs, w.p.InputDim(), s.cfg.Serve.MaxRows); err != nil {
		return PredictResponse{}, err
	}
	if resp.Predictions, err = s.pool.predict(ctx, w, req.Inputs); err != nil {
		return PredictResponse{}, err
	}
	d := time.Since(start)
	resp.LatencyUS = float64(d) / 1e3
	s.liveOf(model).lat.add(d)
	s.mu.Lock()
	s.changed = true
	s.mu.Unlock()
	if resp.Route == "champion" && r.deploy.Shadow && challenger != 0 && challenger != champion {
		select {
		case s.shadowQ <- shadowJob{model: model, kind: r.kind, champion: champion, challenger: challenger, rows: req.Inputs, answers: resp.Predictions}:
		default:
			l := s.liveOf(model)
			s.mu.Lock()
			l.shadow.Dropped++
			s.mu.Unlock()
		}
	}
	return resp, nil
}

func canarySalt(model string, challenger int) string { return fmt.Sprintf("%s@%d", model, challenger) }

// SetAlias points alias at version and logs it.
func (s *Service) SetAlias(ctx context.Context, model, alias string, version int, actor, reason string) (AliasMove, error) {
	m, err := s.reg.SetAlias(ctx, model, alias, version, actor, reason)
	if err != nil {
		return m, err
	}
	s.moved(ctx, m, "alias", fmt.Sprintf("%s now points at version %d (was %s)", alias, version, versionOrNone(m.Previous)), nil)
	return m, nil
}

// DeleteAlias removes alias and logs it.
func (s *Service) DeleteAlias(ctx context.Context, model, alias, actor, reason string) (AliasMove, error) {
	m, err := s.reg.DeleteAlias(ctx, model, alias, actor, reason)
	if err != nil {
		return m, err
	}
	s.moved(ctx, m, "alias", fmt.Sprintf("%s removed (it pointed at version %d)", alias, m.Previous), nil)
	return m, nil
}

// Rollback moves alias back to its previous version and logs it.
func (s *Service) Rollback(ctx context.Context, model, alias, actor, reason string) (AliasMove, error) {
	m, err := s.reg.Rollback(ctx, model, alias, actor, reason)
	if err != nil {
		return m, err
	}
	s.moved(ctx, m, "rollback", fmt.Sprintf("%s rolled back from version %d to version %d", alias, m.Previous, m.Version), nil)
	return m, nil
}

// Promote points the champion at the challenger's version (by hand; the
// automatic promotion is Evaluate's).
func (s *Service) Promote(ctx context.Context, model, actor, reason string) (AliasMove, error) {
	r, err := s.route(ctx, model)
	if err != nil {
		return AliasMove{}, err
	}
	ch := r.aliases[Challenger]
	if ch == 0 {
		return AliasMove{}, errs.Errorf(errs.Conflict, "model %s has no challenger to promote", model)
	}
	m, err := s.reg.SetAliasIf(ctx, model, Champion, ch, r.aliases[Champion], actor, reason)
	if err != nil {
		return m, err
	}
	s.moved(ctx, m, "promote", fmt.Sprintf("version %d promoted to champion (was %s)", ch, versionOrNone(m.Previous)), nil)
	s.settle(ctx, model)
	return m, nil
}

// settle ends a model's canary after a promotion: the challenger it tested
// is the champion now, so its traffic split and its rolled-back state are
// over.
func (s *Service) settle(ctx context.Context, model string) {
	d, err := s.reg.Deployment(ctx, model)
	if err != nil || (d.CanaryShare == 0 && d.State == "idle") {
		return
	}
	d.CanaryShare, d.State, d.Updated = 0, "idle", s.reg.now()
	if err := s.reg.saveDeployment(ctx, d); err != nil {
		s.log.Error("mlops: deployment not reset after a promotion", "model", model, "err", err)
	}
	s.forget(model)
}

func versionOrNone(v int) string {
	if v == 0 {
		return "unset"
	}
	return fmt.Sprintf("version %d", v)
}

// moved logs and publishes an alias move.
func (s *Service) moved(ctx context.Context, m AliasMove, kind, decision string, stats map[string]any) {
	s.forget(m.Model)
	if m.Reason != "" {
		decision += ": " + m.Reason
	}
	s.audit(ctx, Event{Model: m.Model, Kind: kind, Actor: m.Actor, Decision: decision, Stats: stats})
	if s.bus != nil && s.reg.rep == nil { // replicated: ApplyReplicated publishes, on every node
		TopicAliases.Publish(s.bus, "mlops", "", kind, m)
	}
}

// ApplyReplicated applies an alias move the cluster committed (cluster
// mode: every node, the one that asked included, in log order), then
// publishes it like a local move: the champion entrant follows it.
func (s *Service) ApplyReplicated(ctx context.Context, m AliasMove, also func(*sql.Tx) error) (AliasMove, error) {
	m, err := s.reg.ApplyMove(ctx, m, also)
	if err != nil {
		return m, err
	}
	s.forget(m.Model)
	kind := "alias"
	if m.Rollback {
		kind = "rollback"
	}
	if s.bus != nil {
		TopicAliases.Publish(s.bus, "mlops", "", kind, m)
	}
	return m, nil
}

// audit appends e to the log and publishes it. A failure to log is logged:
// the decision itself has been taken.
func (s *Service) audit(ctx context.Context, e Event) {
	e, err := s.reg.AddEvent(ctx, e)
	if err != nil {
		s.log.Error("mlops: decision not logged", "model", e.Model, "kind", e.Kind, "err", err)
		return
	}
	if s.bus != nil {
		TopicEvents.Publish(s.bus, "mlops", "", e.Kind, e)
	}
}

// SetCanary sets the share of keyed traffic the challenger serves (0 ends
// the canary). Starting a canary starts a fresh live test.
func (s *Service) SetCanary(ctx context.Context, model string, share float64, actor string) (Deployment, error) {
	if math.IsNaN(share) || share < 0 || share > 0.5 {
		return Deployment{}, errs.Errorf(errs.Invalid, "a canary share is between 0 and 0.5; %v is not", share)
	}
	r, err := s.route(ctx, model)
	if err != nil {
		return Deployment{}, err
	}
	if share > 0 && (r.aliases[Challenger] == 0 || r.aliases[Champion] == 0) {
		return Deployment{}, errs.Errorf(errs.Conflict, "a canary needs both a champion and a challenger; model %s has champion %s and challenger %s", model, versionOrNone(r.aliases[Champion]), versionOrNone(r.aliases[Challenger]))
	}
	d := r.deploy
	d.CanaryShare, d.Updated = share, s.reg.now()
	d.State = "idle"
	if share > 0 {
		d.State = "canary"
	}
	if err := s.reg.saveDeployment(ctx, d); err != nil {
		return Deployment{}, err
	}
	if share > 0 {
		s.resetTest(model, r.aliases[Champion], r.aliases[Challenger])
	}
	s.forget(model)
	s.audit(ctx, Event{Model: model, Kind: "canary", Actor: actor, Decision: fmt.Sprintf("canary share set to %.1f %%", 100*share)})
	return d, nil
}

// SetShadow turns shadow traffic on or off.
func (s *Service) SetShadow(ctx context.Context, model string, on bool, actor string) (Deployment, error) {
	r, err := s.route(ctx, model)
	if err != nil {
		return Deployment{}, err
	}
	d := r.deploy
	d.Shadow, d.Updated = on, s.reg.now()
	if err := s.reg.saveDeployment(ctx, d); err != nil {
		return Deployment{}, err
	}
	s.forget(model)
	word := "off"
	if on {
		word = "on"
	}
	s.audit(ctx, Event{Model: model, Kind: "shadow", Actor: actor, Decision: "shadow traffic turned " + word})
	return d, nil
}

func (s *Service) resetTest(model string, champion, challenger int) {
	l := s.liveOf(model)
	s.mu.Lock()
	l.seq, l.seqFor, l.seqDecided, l.series = NewSequential(s.cfg.Sequential), [2]int{champion, challenger}, "", nil
	s.mu.Unlock()
}

// Feedback reports a live outcome of a request the version answered
// (higher is better: 1 for a right answer, a reward). Outcomes of the
// champion and the challenger feed the canary's sequential test; a
// significant regression rolls the canary back (its traffic returns to the
// champion) and is logged with the test's statistics.
func (s *Service) Feedback(ctx context.Context, model string, version int, value float64) (SequentialState, error) {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return SequentialState{}, errs.Errorf(errs.Invalid, "an outcome is a finite number")
	}
	r, err := s.route(ctx, model)
	if err != nil {
		return SequentialState{}, err
	}
	champion, challenger := r.aliases[Champion], r.aliases[Challenger]
	if version != champion && version != challenger {
		return SequentialState{}, errs.Errorf(errs.Invalid, "version %d of %s is neither its champion (%s) nor its challenger (%s)", version, model, versionOrNone(champion), versionOrNone(challenger))
	}
	l := s.liveOf(model)
	s.mu.Lock()
	if l.seq == nil || l.seqFor != [2]int{champion, challenger} {
		l.seq, l.seqFor, l.seqDecided = NewSequential(s.cfg.Sequential), [2]int{champion, challenger}, ""
	}
	if version == challenger {
		l.seq.Challenger.Add(value)
	} else {
		l.seq.Champion.Add(value)
	}
	st := l.seq.State()
	decide := st.Verdict != Continue && l.seqDecided == "" && r.deploy.State == "canary"
	if decide {
		l.seqDecided = st.Verdict
	}
	s.changed = true
	s.mu.Unlock()
	if decide {
		s.decideCanary(ctx, model, r.deploy, st)
	}
	return st, nil
}

// decideCanary acts on the live test's verdict.
func (s *Service) decideCanary(ctx context.Context, model string, d Deployment, st SequentialState) {
	stats := map[string]any{"test": "mSPRT", "sequential": st}
	if st.Verdict == WindowPass {
		s.audit(ctx, Event{Model: model, Kind: "canary", Actor: "auto", Stats: stats,
			Decision: fmt.Sprintf("canary passed: no regression after %d challenger outcomes (difference %+.4f ± %.4f); the held-out test decides the promotion", st.ChallengerN, st.Diff, st.SE)})
		// A canary that survived its window is promoted only if it also
		// wins the held-out test; that runs apart from the request.
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
			defer cancel()
			if _, err := s.EvaluateWhenFree(ctx, model, true, "auto"); err != nil {
				s.log.Warn("mlops: held-out test after the canary failed", "model", model, "err", err)
			}
		}()
		return
	}
	d.CanaryShare, d.State, d.Updated = 0, "rolled_back", s.reg.now()
	if err := s.reg.saveDeployment(ctx, d); err != nil {
		s.log.Error("mlops: canary rollback not saved", "model", model, "err", err)
		return
	}
	s.forget(model)
	s.audit(ctx, Event{Model: model, Kind: "rollback", Actor: "auto", Stats: stats,
		Decision: fmt.Sprintf("canary rolled back: the challenger's live metric is %.4f against the champion's %.4f (difference %+.4f, log Λ %.2f ≥ %.2f) after %d challenger outcomes",
			st.ChallengerMean, st.ChampionMean, st.Diff, st.LogLR, st.Threshold, st.ChallengerN)})
	s.log.Warn("mlops: canary rolled back", "model", model, "diff", st.Diff, "log_lr", st.LogLR)
}

// Live returns the live figures of model.
func (s *Service) Live(ctx context.Context, model string) (Live, error) {
	r, err := s.route(ctx, model)
	if err != nil {
		return Live{}, err
	}
	l := s.liveOf(model)
	out := Live{Model: model, Champion: r.aliases[Champion], Challenger: r.aliases[Challenger], Deployment: r.deploy, Latency: l.lat.stats()}
	s.mu.Lock()
	if l.seq != nil {
		out.Canary = l.seq.State()
	}
	out.Shadow = l.shadow.clone()
	out.Series = slices.Clone(l.series)
	s.mu.Unlock()
	return out, nil
}

// publishLive publishes every served model's live figures when they changed.
func (s *Service) publishLive() {
	s.mu.Lock()
	changed := s.changed
	s.changed = false
	var models []string
	now := time.Now().UnixMilli()
	for m, l := range s.live {
		models = append(models, m)
		if l.seq == nil || l.seq.Challenger.N+l.seq.Champion.N == 0 {
			continue
		}
		if n := len(l.series); n > 0 && l.series[n-1].ChallengerN == l.seq.Challenger.N && l.series[n-1].ChampionN == l.seq.Champion.N {
			continue
		}
		l.series = append(l.series, CanaryPoint{At: now, Champion: l.seq.Champion.Mean, Challenger: l.seq.Challenger.Mean,
			ChampionN: l.seq.Champion.N, ChallengerN: l.seq.Challenger.N})
		if len(l.series) > canaryPoints {
			l.series = slices.Delete(l.series, 0, len(l.series)-canaryPoints)
		}
	}
	s.mu.Unlock()
	if !changed || s.bus == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []Live
	slicesSort(models)
	for _, m := range models {
		if l, err := s.Live(ctx, m); err == nil {
			out = append(out, l)
		}
	}
	TopicState.Publish(s.bus, "mlops", "", "state", out)
}
