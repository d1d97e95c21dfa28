package mlops

import (
	"regexp"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// The kinds of model the registry serves.
const (
	KindFraud   = "fraud-detector" // transaction features → fraud probability
	KindTrading = "trading-policy" // a QMIX/VDN learner of the trading world: observation → target position
	KindRL      = "rl-policy"      // a PPO/SAC learner: observation → action
)

// The aliases the deployment machinery uses. Any other name is a plain alias.
const (
	Champion   = "champion"
	Challenger = "challenger"
)

// Model is a registered model.
type Model struct {
	Name        string         `json:"name"`
	Kind        string         `json:"kind"`
	Description string         `json:"description"`
	Created     time.Time      `json:"created"`
	Versions    int            `json:"versions"` // the latest version number
	Aliases     map[string]int `json:"aliases"`  // alias → version
}

// Lineage says where a version came from.
type Lineage struct {
	Source   string `json:"source,omitempty"`    // rl, marl, synth, cli
	Run      string `json:"run,omitempty"`       // the run or job: "marl run 4", "synth job j-000012"
	DataHash string `json:"data_hash,omitempty"` // sha256 of the training data or environment settings
	Seed     uint64 `json:"seed"`
}

// Version is one registered version of a model.
type Version struct {
	Model   string             `json:"model"`
	Version int                `json:"version"`
	SHA256  string             `json:"sha256"`
	Size    int64              `json:"size"`
	Created time.Time          `json:"created"`
	Lineage Lineage            `json:"lineage"`
	Params  map[string]string  `json:"params"`
	Metrics map[string]float64 `json:"metrics"`
	Tags    map[string]string  `json:"tags"`
	Aliases []string           `json:"aliases,omitempty"`
}

// AliasMove is one entry of an alias's history. Version 0 means the alias
// was removed; Previous 0 that it was new.
type AliasMove struct {
	ID       int64     `json:"id"`
	Model    string    `json:"model"`
	Alias    string    `json:"alias"`
	Version  int       `json:"version"`
	Previous int       `json:"previous"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Reason   string    `json:"reason,omitempty"`
	Rollback bool      `json:"rollback,omitempty"` // the move undid an earlier one
}

// Event is one decision of the audit log, with the statistics it rests on.
type Event struct {
	ID       int64          `json:"id"`
	Model    string         `json:"model"`
	At       time.Time      `json:"at"`
	Kind     string         `json:"kind"` // promote, hold, rollback, canary, shadow, alias
	Actor    string         `json:"actor"`
	Decision string         `json:"decision"`
	Stats    map[string]any `json:"stats,omitempty"`
}

// Deployment is how a model's traffic is split.
type Deployment struct {
	Model       string    `json:"model"`
	CanaryShare float64   `json:"canary_share"` // share of keyed traffic the challenger serves
	Shadow      bool      `json:"shadow"`       // the challenger also answers every champion request, unseen
	State       string    `json:"state"`        // idle, canary, rolled_back
	Updated     time.Time `json:"updated"`
}

// RegisterRequest is a new version.
type RegisterRequest struct {
	Model       string
	Kind        string
	Description string
	Artifact    []byte
	Lineage     Lineage
	Params      map[string]string
	Metrics     map[string]float64
	Tags        map[string]string
}

var (
	modelName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	aliasName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
)

func checkModelName(name string) error {
	if !modelName.MatchString(name) {
		return errs.Errorf(errs.Invalid, "a model name is 1 to 64 lower-case letters, digits, dots, dashes or underscores, starting with a letter or digit; %q is not", clip(name))
	}
	return nil
}

func checkAlias(alias string) error {
	if !aliasName.MatchString(alias) {
		return errs.Errorf(errs.Invalid, "an alias is 1 to 32 lower-case letters, digits, dashes or underscores, starting with a letter; %q is not", clip(alias))
	}
	return nil
}

func checkKind(kind string) error {
	switch kind {
	case KindFraud, KindTrading, KindRL:
		return nil
	}
	return errs.Errorf(errs.Invalid, "unknown model kind %q (want %s, %s or %s)", clip(kind), KindFraud, KindTrading, KindRL)
}

// clip shortens what a user sent before it goes into a message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
