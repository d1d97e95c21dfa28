package mlops

import (
	"bytes"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/nn"
	"github.com/metastation/metastation/app/rl"
	"github.com/metastation/metastation/app/synth/detect"
)

// Prediction is one answer: a fraud probability, or a policy's action (and,
// for a trading policy, the target position it stands for).
type Prediction struct {
	Score    *float64  `json:"score,omitempty"`
	Action   []float64 `json:"action,omitempty"`
	Position *float64  `json:"position,omitempty"`
}

// Predictor answers a batch of inputs. It is not safe for concurrent use:
// the server gives each loaded version one goroutine.
type Predictor interface {
	InputDim() int
	Predict(rows [][]float64) []Prediction
}

// Loader turns a verified artifact into a predictor, or says why it cannot.
type Loader func(data []byte) (Predictor, error)

// Loaders returns the loader of each model kind. Each uses the owning
// package's own reader: marl.LoadQMIX, rl.ReadCheckpoint, and for fraud
// detectors the detect.Detector encoded by EncodeDetector.
func Loaders() map[string]Loader {
	return map[string]Loader{KindFraud: loadFraud, KindTrading: loadTrading, KindRL: loadRL}
}

const (
	fraudArtifactKind    = "mlops-fraud-detector"
	fraudArtifactVersion = 1
)

// EncodeDetector serialises a fitted fraud detector as an artifact.
func EncodeDetector(d *detect.Detector) ([]byte, error) {
	if d == nil || (d.Logistic == nil) == (d.GBT == nil) {
		return nil, fmt.Errorf("encode detector: exactly one of its logistic and GBT models must be set")
	}
	var buf bytes.Buffer
	if err := nn.Encode(&buf, fraudArtifactKind, fraudArtifactVersion, d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeDetector reads what EncodeDetector wrote.
func DecodeDetector(data []byte) (*detect.Detector, error) {
	var d detect.Detector
	if err := nn.Decode(bytes.NewReader(data), fraudArtifactKind, fraudArtifactVersion, &d); err != nil {
		return nil, fmt.Errorf("fraud detector: %w", err)
	}
	n := len(d.Features)
	switch {
	case d.Logistic != nil && d.GBT == nil:
		if len(d.Logistic.Weights) != n || len(d.Logistic.Mean) != n || len(d.Logistic.Std) != n {
			return nil, fmt.Errorf("fraud detector: %d weights for %d features", len(d.Logistic.Weights), n)
		}
	case d.GBT != nil && d.Logistic == nil:
		if len(d.GBT.Edges) != n {
			return nil, fmt.Errorf("fraud detector: bins of %d features for %d features", len(d.GBT.Edges), n)
		}
	default:
		return nil, fmt.Errorf("fraud detector: exactly one of its logistic and GBT models must be set")
	}
	if n == 0 || n > 255 {
		return nil, fmt.Errorf("fraud detector: %d features", n)
	}
	return &d, nil
}

type fraudPredictor struct{ d *detect.Detector }

func loadFraud(data []byte) (Predictor, error) {
	d, err := DecodeDetector(data)
	if err != nil {
		return nil, err
	}
	return fraudPredictor{d}, nil
}

func (p fraudPredictor) InputDim() int { return len(p.d.Features) }

func (p fraudPredictor) Predict(rows [][]float64) []Prediction {
	out := make([]Prediction, len(rows))
	for i, r := range rows {
		s := p.d.Score(r)
		out[i].Score = &s
	}
	return out
}

// tradingPredictor is agent 0 of a trading-world QMIX/VDN learner: its
// greedy target position for one observation. A batch is one forward pass.
type tradingPredictor struct {
	net        *nn.MLP
	obsDim, n  int
	in         *mat.Dense
	inCapacity int
}

func loadTrading(data []byte) (Predictor, error) {
	q, _, err := marl.LoadQMIX(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("trading policy: %w", err)
	}
	env, ok := q.Env.(*marl.TradingMA)
	if !ok || q.Config.Env != "trading-ma" {
		return nil, fmt.Errorf("trading policy: the checkpoint was trained on %q, not the trading world", q.Config.Env)
	}
	return &tradingPredictor{net: q.Agent, obsDim: env.ObsDim(), n: env.NumAgents()}, nil
}

func (p *tradingPredictor) InputDim() int { return p.obsDim }

func (p *tradingPredictor) Predict(rows [][]float64) []Prediction {
	k, w := len(rows), p.obsDim+p.n
	if k > p.inCapacity {
		p.in, p.inCapacity = mat.NewDense(k, w, nil), k
	}
	x := p.in.Slice(0, k, 0, w).(*mat.Dense)
	for i, r := range rows {
		row := x.RawRowView(i)
		clear(row)
		copy(row, r)
		row[p.obsDim] = 1 // agent 0's one-hot id, as the tournament entrant plays
	}
	q := p.net.Forward(x)
	out := make([]Prediction, k)
	for i := range out {
		best, arg := math.Inf(-1), 0
		for j, v := range q.RawRowView(i) {
			if v > best {
				best, arg = v, j
			}
		}
		pos := marl.TradingLevels[arg]
		out[i] = Prediction{Action: []float64{float64(arg)}, Position: &pos}
	}
	return out
}

type rlPredictor struct {
	pol    rl.Policy
	obsDim int
}

func loadRL(data []byte) (Predictor, error) {
	c, err := rl.ReadCheckpoint(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("rl policy: %w", err)
	}
	var pol rl.Policy
	var env string
	switch {
	case c.PPO != nil:
		c.PPO.Config.Workers = 1 // serving steps no environments
		if pol, err = rl.RestorePPO(c.PPO); err != nil {
			return nil, fmt.Errorf("rl policy: %w", err)
		}
		env = c.PPO.Config.Env
	case c.SAC != nil:
		if pol, err = rl.RestoreSAC(c.SAC); err != nil {
			return nil, fmt.Errorf("rl policy: %w", err)
		}
		env = c.SAC.Config.Env
	}
	e, err := rl.NewEnv(env)
	if err != nil {
		return nil, fmt.Errorf("rl policy: %w", err)
	}
	return &rlPredictor{pol: pol, obsDim: e.ObsDim()}, nil
}

func (p *rlPredictor) InputDim() int { return p.obsDim }

func (p *rlPredictor) Predict(rows [][]float64) []Prediction {
	out := make([]Prediction, len(rows))
	for i, r := range rows {
		out[i].Action = p.pol.Act(r, true, nil)
	}
	return out
}
