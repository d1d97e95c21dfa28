package supply

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/marl"
	"github.com/metastation/metastation/app/runs"
)

// LearnedEnv is the marl world a learned policy must have trained on.
const LearnedEnv = "supply"

// LoadLearned reads a multi-agent checkpoint (as the Learning page writes
// them) and returns its controller and a label, refusing runs trained on
// another world.
func LoadLearned(path string) (marl.Controller, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", errs.Errorf(errs.NotFound, "no checkpoint at %s", path)
	}
	defer f.Close()
	run, err := marl.LoadRun(f)
	if err != nil {
		return nil, "", errs.Wrap(errs.Invalid, err, "the file is not a multi-agent checkpoint")
	}
	spec := run.Spec()
	if spec.Env != LearnedEnv {
		return nil, "", errs.Errorf(errs.Invalid, "the checkpoint was trained on %q, not on the supply world", spec.Env)
	}
	return run.Learner(), fmt.Sprintf("%s on marl's supply world, %d episodes, seed %d", spec.Algo, run.Episodes(), spec.Seed), nil
}

// TrainLearned trains a multi-agent learner on marl's supply world with
// algo (qmix, vdn or maddpg) for episodes, telling progress how far it is,
// and returns its controller and a label.
func TrainLearned(ctx context.Context, algo string, episodes int, seed uint64, progress func(done, total int)) (marl.Controller, string, error) {
	if episodes < 1 || episodes > 100_000 {
		return nil, "", errs.Errorf(errs.Invalid, "training takes 1 to 100000 episodes, not %d", episodes)
	}
	run, err := marl.NewRun(marl.RunSpec{Env: LearnedEnv, Algo: algo, Episodes: episodes, Seed: seed})
	if err != nil {
		return nil, "", errs.Wrap(errs.Invalid, err, "the learner could not be built")
	}
	for !run.Done() {
		if _, err := run.Step(ctx, nil); err != nil {
			return nil, "", fmt.Errorf("train %s on supply: %w", algo, err)
		}
		if progress != nil {
			progress(run.Episodes(), episodes)
		}
	}
	return run.Learner(), fmt.Sprintf("%s trained here on marl's supply world, %d episodes, seed %d", algo, episodes, seed), nil
}

// NewestLearned is the LearnedFunc of the Learning page: the newest
// multi-agent run trained to its budget on the supply world, among those
// list returns, loaded from its checkpoint (and kept until a newer one
// finishes). Runs still training, stopped or failed are passed over.
func NewestLearned(list func() []marl.RunInfo) LearnedFunc {
	var mu sync.Mutex
	var path, label string
	var ctrl marl.Controller
	return func(ctx context.Context) (marl.Controller, string, error) {
		var best *marl.RunInfo
		for _, r := range list() {
			if r.Spec.Env != LearnedEnv || r.Status != runs.Done || r.Checkpoint == "" {
				continue
			}
			if best == nil || r.Started.After(best.Started) {
				best = &r
			}
		}
		if best == nil {
			return nil, "", nil
		}
		mu.Lock()
		defer mu.Unlock()
		if best.Checkpoint == path && ctrl != nil {
			return ctrl, label, nil
		}
		c, l, err := LoadLearned(best.Checkpoint)
		if err != nil {
			return nil, "", fmt.Errorf("learned policy of run %d: %w", best.ID, err)
		}
		path, ctrl, label = best.Checkpoint, c, fmt.Sprintf("run %d: %s", best.ID, l)
		return ctrl, label, nil
	}
}
